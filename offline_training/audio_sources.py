"""Where bootstrap audio comes from: which files of a corpus are read, their licences, how
they are named in a model's provenance, and reading them at the engine's rate.

Shapes: audio is mono ``(samples,)`` at 44.1 kHz once read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .segments import find_audio_files

SR = 44100


def licence_of(path: Path, default: str) -> str:
    """A file's licence: ``STEM.txt`` beside it (its last line naming one; STEM without any
    suffix also counts), else a ``meta.json``
    or ``provenance.json`` in its folder with a ``licence`` field, else ``default``."""
    # "song.hq.ogg" is described by "song.hq.txt" or by "song.txt"
    csv_licence = _csv_licence(path)
    if csv_licence:
        return csv_licence
    if path.is_dir():  # a track folder of stems: its data set's terms
        from .train_stems import _folder_licence

        found = _folder_licence(path.parent)
        return found if found != "unknown" else default
    candidates = [path.with_suffix(".txt"), path.with_name(path.name.split(".")[0] + ".txt")]
    txt = next((c for c in candidates if c.is_file()), None)
    if txt is not None:
        lines = [ln.strip() for ln in txt.read_text(errors="replace").splitlines() if ln.strip()]
        named = [ln for ln in lines if any(k in ln.lower() for k in ("cc", "public domain",
                                                                       "licen"))]
        return (named[-1] if named else " ".join(lines))[:200] or default
    for name in ("meta.json", "provenance.json"):
        meta = path.parent / name
        if meta.is_file():
            try:
                doc = json.loads(meta.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if isinstance(doc, dict) and doc.get("licence"):
                return str(doc["licence"])
    return default


STEM_NAMES = ("vocals", "accompaniment", "drums", "bass", "other")


def _csv_licence(path: Path) -> str | None:
    """The ``licence`` column of ``LICENCES.csv`` beside the file (as the Jamendo folder
    has), for the row whose ``file`` is this file's name."""
    import csv

    table = path.parent / "LICENCES.csv"
    if not table.is_file():
        return None
    try:
        with open(table, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row.get("file") == path.name and row.get("licence"):
                    who = " - ".join(x for x in (row.get("artist"), row.get("title")) if x)
                    return f"{row['licence']} ({who}, {row.get('url', '')})".strip()
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


def corpus_files(roots) -> list[Path]:
    """Audio files to bootstrap from; in a folder with a ``mixture.*`` only the mixture. A
    track folder of stems with no mixture (``shared/data/train``) is one item, the folder
    itself, read as the sum of its stems (``read_mono``); its stems are never read apart.
    Such tracks pass ``offline_training.splits``: reserved, dev and validation tracks are
    left out, so a bootstrap on labelled folders never sees what the evaluation uses."""
    from .splits import Policy, default_dev_dirs

    files = find_audio_files(roots)
    with_mix = {p.parent for p in files if p.stem == "mixture"}
    stem_dirs = {p.parent for p in files if p.parent not in with_mix and p.stem in STEM_NAMES
                 and any(q.stem == "vocals" for q in p.parent.iterdir())}
    policy = Policy(default_dev_dirs())
    out = [p for p in files if (p.parent not in with_mix or p.stem == "mixture")
           and p.parent not in stem_dirs]
    out += [d for d in stem_dirs if not policy.forbidden(d) and not policy.is_validation(d.name)]
    return sorted(out)


def display_source(path, roots) -> str:
    """``ROOT_NAME/relative/path`` for a file under one of the corpus folders, else its name:
    provenance that means something on another machine."""
    p = Path(path).resolve()
    for root in roots:
        root = Path(root).resolve()
        if root.is_dir() and root in p.parents:
            return f"{root.name}/{p.relative_to(root)}"
    return p.name


def read_mono(path) -> np.ndarray:
    """``(samples,)`` at 44.1 kHz: the mean of the channels, resampled if needed. A track
    folder of stems is read as their sum (``corpus_files``)."""
    from rtsep.io.audio import read_audio

    if Path(path).is_dir():
        from .stem_bank import read_stems

        vocals, accompaniment = read_stems(Path(path))
        return (vocals + accompaniment).mean(axis=0).astype(np.float64)
    x, sr = read_audio(path)
    mono = x.mean(axis=0)
    if sr != SR:
        import librosa

        mono = librosa.resample(mono, orig_sr=sr, target_sr=SR)
    return mono
