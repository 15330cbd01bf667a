"""Real data on disk: labelled MUSDB-style tracks, unlabelled mixtures, solo recordings.

A labelled data set is a folder of track folders. Each track holds ``vocals.*`` and either
``accompaniment.*`` or the four MUSDB stems ``vocals/drums/bass/other.*`` (the accompaniment is
then their sum), and usually ``mixture.*``; without one, the mixture is the sum of the stems
(as in ``shared/data/train``). Any audio format soundfile reads, any sample rate, mono or
stereo; all files of a track must share rate, channel count and length.

Shapes: audio is ``(channels, samples)``, float64.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import AudioFileError, ConfigError
from .audio import read_audio

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus")
MUSDB_ACCOMPANIMENT = ("drums", "bass", "other")
SOLO_KINDS = ("vocals", "accompaniment", "speech")


@dataclass
class Track:
    """One labelled track; ``mixture``, ``vocals``, ``accompaniment``: ``(channels, samples)``."""

    name: str
    path: Path
    sr: int
    mixture: np.ndarray
    vocals: np.ndarray
    accompaniment: np.ndarray

    @property
    def seconds(self) -> float:
        return self.mixture.shape[1] / self.sr


def _audio_files(folder: Path) -> dict[str, Path]:
    """Stem name -> file, for the audio files of a folder (first suffix in AUDIO_SUFFIXES wins)."""
    found: dict[str, Path] = {}
    for suffix in AUDIO_SUFFIXES:
        for path in sorted(folder.glob(f"*{suffix}")):
            if path.is_file() and path.stem not in found:
                found[path.stem] = path
    return found


def load_track(folder: str | Path) -> Track:
    """Read one track folder; a missing stem or a mismatch in rate, channels or length is a
    one-line ``AudioFileError``."""
    folder = Path(folder)
    files = _audio_files(folder)
    if "vocals" not in files:
        raise AudioFileError(f"track {folder.name!r} has no vocals file in {folder}")
    if "accompaniment" in files:
        parts = ["accompaniment"]
    elif all(stem in files for stem in MUSDB_ACCOMPANIMENT):
        parts = list(MUSDB_ACCOMPANIMENT)
    else:
        missing = [s for s in MUSDB_ACCOMPANIMENT if s not in files]
        raise AudioFileError(f"track {folder.name!r} needs accompaniment.* or drums/bass/other "
                             f"stems; missing {', '.join(missing)}")
    signals: dict[str, np.ndarray] = {}
    rates: dict[str, int] = {}
    first = "mixture" if "mixture" in files else "vocals"
    stems = (["mixture"] if "mixture" in files else []) + ["vocals", *parts]
    for stem in stems:
        signals[stem], rates[stem] = read_audio(files[stem])
    ref = files[first].name
    for stem, x in signals.items():
        name = files[stem].name
        if rates[stem] != rates[first]:
            raise AudioFileError(f"track {folder.name!r}: {name} is at {rates[stem]} Hz but {ref} "
                                 f"is at {rates[first]} Hz")
        if x.shape[0] != signals[first].shape[0]:
            raise AudioFileError(f"track {folder.name!r}: {name} has {x.shape[0]} channel(s) but "
                                 f"{ref} has {signals[first].shape[0]}")
        if x.shape[1] != signals[first].shape[1]:
            raise AudioFileError(f"track {folder.name!r}: {name} has {x.shape[1]} samples but "
                                 f"{ref} has {signals[first].shape[1]}")
    accompaniment = np.sum([signals[p] for p in parts], axis=0)
    mixture = signals.get("mixture")
    if mixture is None:
        mixture = signals["vocals"] + accompaniment
    return Track(name=folder.name, path=folder, sr=rates[first], mixture=mixture,
                 vocals=signals["vocals"], accompaniment=accompaniment)


def track_folders(root: str | Path) -> list[Path]:
    """The track folders of a data set (sorted by name); a clear error when there are none."""
    root = Path(root)
    if not root.is_dir():
        raise AudioFileError(f"data set folder {root} does not exist")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise AudioFileError(f"data set folder {root} holds no track folders "
                             "(expected TRACK/mixture.* with vocals.* and accompaniment.*)")
    return folders


def iter_tracks(root: str | Path) -> Iterator[Track]:
    """Yield the tracks of a MUSDB-style folder one at a time (only one is in memory)."""
    for folder in track_folders(root):
        yield load_track(folder)


# --- the shared development data beside the checkout -----------------------------------------

def shared_data_root() -> Path:
    """``$RTSEP_SHARED_DATA``, else ``shared/data`` next to the repository root."""
    env = os.environ.get("RTSEP_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"  # beside the checkout


def _shared_folder(*parts: str, required: bool) -> Path | None:
    folder = shared_data_root().joinpath(*parts)
    if folder.is_dir():
        return folder
    if required:
        raise ConfigError(f"shared data folder {folder} is absent (set RTSEP_SHARED_DATA to "
                          "the folder that holds dev/, mixtures/ and solo/)")
    return None


def dev_set(required: bool = False) -> Path | None:
    """The labelled development set (``shared/data/dev``), or None when absent (an error if
    ``required``). Pass it to ``iter_tracks`` or ``rtsep.evaluation.runner.evaluate``."""
    return _shared_folder("dev", required=required)


@dataclass
class Recording:
    """An audio file with the licence text found beside it (``NAME.txt``), if any."""

    path: Path
    licence: str | None

    @property
    def name(self) -> str:
        return self.path.stem

    def load(self) -> tuple[np.ndarray, int]:
        """``(channels, samples)`` and the sample rate."""
        return read_audio(self.path)


def _recordings(folder: Path) -> list[Recording]:
    out = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
            # licence files drop the ".hq" of freesound's names: "x.hq.ogg" -> "x.txt"
            candidates = [path.with_suffix(".txt"),
                          path.parent / (path.name.split(".")[0] + ".txt")]
            text = next((c.read_text(errors="replace").strip() for c in candidates if c.is_file()),
                        None)
            out.append(Recording(path=path, licence=text))
    return out


def unlabelled_mixtures(required: bool = False) -> list[Recording]:
    """Real music without stems (``shared/data/mixtures``); empty when absent."""
    folder = _shared_folder("mixtures", required=required)
    return [] if folder is None else _recordings(folder)


def solo_recordings(kind: str = "vocals", required: bool = False) -> list[Recording]:
    """Real solo recordings of one kind: ``vocals``, ``accompaniment`` or ``speech``."""
    if kind not in SOLO_KINDS:
        raise ConfigError(f"unknown solo kind {kind!r}; choose one of {', '.join(SOLO_KINDS)}")
    folder = _shared_folder("solo", kind, required=required)
    return [] if folder is None else _recordings(folder)
