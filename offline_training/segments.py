"""Segment stage of bootstrapping (paper 000 §4.1): cut any audio into overlapping segments and
skip the quiet ones.

Loudness is ITU-R BS.1770 gated integrated loudness, measured by pyloudnorm (K-weighting,
400 ms blocks with 75 % overlap, absolute gate at -70 LUFS, relative gate 10 LU down).

Shapes: audio ``(channels, samples)``; a segment is a ``(start, stop)`` sample range of a file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus", ".m4a")
SILENT_LUFS = -200.0  # reported for digital silence instead of -inf, so JSON stays valid
BLOCK_S = 0.4  # BS.1770's gating block


def loudness_lufs(x: np.ndarray, sr: int) -> float:
    """Gated integrated loudness (LUFS) of ``x`` ``(channels, samples)``; SILENT_LUFS when
    every block is below the absolute gate (or the signal is shorter than one 400 ms block).

    BS.1770 weights up to five channels; more are measured as their mean, in one channel.
    """
    import pyloudnorm

    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    if x.shape[1] <= int(round(BLOCK_S * sr)):
        return SILENT_LUFS
    if x.shape[0] > 5:
        x = x.mean(axis=0, keepdims=True)
    with np.errstate(divide="ignore"):
        lufs = pyloudnorm.Meter(sr, block_size=BLOCK_S).integrated_loudness(x.T)
    return float(lufs) if np.isfinite(lufs) else SILENT_LUFS


def segment_starts(n_samples: int, sr: int, segment_s: float, hop_s: float) -> list[int]:
    """Start samples of whole segments of ``segment_s`` every ``hop_s`` seconds. A file shorter
    than one segment but at least ``hop_s`` long gives one segment of its whole length."""
    seg, hop = int(round(segment_s * sr)), int(round(hop_s * sr))
    if seg < 1 or hop < 1:
        raise ValueError("segment and hop must be at least one sample")
    if n_samples < seg:
        return [0] if n_samples >= hop else []
    return list(range(0, n_samples - seg + 1, hop))


@dataclass
class Segment:
    """One segment of one file: samples ``start:stop`` at the file's rate ``sr``."""

    file: str
    start: int
    stop: int
    sr: int
    lufs: float
    kept: bool

    @property
    def key(self) -> str:
        return f"{Path(self.file).stem}@{self.start}"

    def to_dict(self) -> dict:
        return asdict(self)


def find_audio_files(roots) -> list[Path]:
    """Every audio file under the folders (or files) ``roots``, sorted, each once."""
    found: set[Path] = set()
    for root in roots:
        root = Path(root)
        if root.is_file():
            found.add(root.resolve())
        elif root.is_dir():
            found.update(p.resolve() for p in root.rglob("*")
                         if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    return sorted(found)


def segment_file(path, x: np.ndarray, sr: int, segment_s: float = 30.0, hop_s: float = 15.0,
                 min_lufs: float = -40.0) -> list[Segment]:
    """Segments of ``x`` ``(channels, samples)`` read from ``path``; ``kept`` is False for the
    ones quieter than ``min_lufs``."""
    seg = int(round(segment_s * sr))
    out = []
    for start in segment_starts(x.shape[1], sr, segment_s, hop_s):
        stop = min(start + seg, x.shape[1])
        lufs = loudness_lufs(x[:, start:stop], sr)
        out.append(Segment(str(path), start, stop, sr, lufs, lufs >= min_lufs))
    return out
