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


def corpus_files(roots) -> list[Path]:
    """Audio files to bootstrap from; in a folder with a ``mixture.*`` only the mixture."""
    files = find_audio_files(roots)
    with_mix = {p.parent for p in files if p.stem == "mixture"}
    return [p for p in files if p.parent not in with_mix or p.stem == "mixture"]


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
    """``(samples,)`` at 44.1 kHz: the mean of the channels, resampled if needed."""
    from rtsep.io.audio import read_audio

    x, sr = read_audio(path)
    mono = x.mean(axis=0)
    if sr != SR:
        import librosa

        mono = librosa.resample(mono, orig_sr=sr, target_sr=SR)
    return mono
