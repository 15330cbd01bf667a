"""Segment stage of bootstrapping (paper 000 §4.1): cut any audio into overlapping segments and
skip the quiet ones.

Loudness is ITU-R BS.1770 integrated loudness: K-weighting (a high shelf of about +4 dB above
~1.7 kHz, then a ~38 Hz high-pass), mean square per 400 ms block with 75 % overlap, an absolute
gate at -70 LUFS and a relative gate 10 LU below the ungated mean, channels summed with weight 1.
The filter coefficients are designed for the actual sample rate from the analogue prototypes'
centre frequencies and Q (the standard lists them at 48 kHz only); at 48 kHz they agree with the
standard's coefficients to about 1e-4 (see tests/test_training.py).

Shapes: audio ``(channels, samples)``; a segment is a ``(start, stop)`` sample range of a file.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.signal import lfilter

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus", ".m4a")
SILENT_LUFS = -200.0  # reported for digital silence instead of -inf, so JSON stays valid

# Analogue prototypes of the BS.1770 K-weighting stages (gain dB, centre Hz, Q).
_SHELF = (3.99984385397, 1681.9744509555319, 0.7071752369554193)
_HIGHPASS = (38.13547087613982, 0.5003270373253953)


def k_weighting(sr: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The two biquads ``((b, a) shelf, (b, a) high-pass)`` of K-weighting at ``sr`` Hz
    (bilinear transform with pre-warping, K = tan(pi fc / sr))."""
    gain_db, fc, q = _SHELF
    k = math.tan(math.pi * fc / sr)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh ** 0.4996667741545416  # the shelf's mid-band gain in the standard's prototype
    a0 = 1.0 + k / q + k * k
    shelf = (np.array([vh + vb * k / q + k * k, 2.0 * (k * k - vh), vh - vb * k / q + k * k]) / a0,
             np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k]) / a0)
    fc, q = _HIGHPASS
    k = math.tan(math.pi * fc / sr)
    a0 = 1.0 + k / q + k * k
    highpass = (np.array([1.0, -2.0, 1.0]),
                np.array([a0, 2.0 * (k * k - 1.0), 1.0 - k / q + k * k]) / a0)
    return shelf, highpass


def loudness_lufs(x: np.ndarray, sr: int) -> float:
    """Gated integrated loudness (LUFS) of ``x`` ``(channels, samples)``; SILENT_LUFS when
    every block is below the absolute gate (or the signal is shorter than one 400 ms block)."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    (b1, a1), (b2, a2) = k_weighting(sr)
    y = lfilter(b2, a2, lfilter(b1, a1, x, axis=1), axis=1)
    block, step = int(round(0.4 * sr)), int(round(0.1 * sr))
    if y.shape[1] < block:
        return SILENT_LUFS
    # Mean square per block via a cumulative sum: O(samples) for any overlap.
    power = np.concatenate([np.zeros((y.shape[0], 1)), np.cumsum(y * y, axis=1)], axis=1)
    starts = np.arange(0, y.shape[1] - block + 1, step)
    z = ((power[:, starts + block] - power[:, starts]) / block).sum(axis=0)
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(z)
    kept = z[block_lufs > -70.0]
    if kept.size == 0:
        return SILENT_LUFS
    relative = -0.691 + 10.0 * math.log10(kept.mean()) - 10.0
    kept = z[(block_lufs > -70.0) & (block_lufs > relative)]
    return float(-0.691 + 10.0 * math.log10(kept.mean()))


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
