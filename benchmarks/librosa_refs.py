"""Offline references from librosa, run in the same process as rtsep for fair ratios.

REPET-SIM follows librosa's vocal-separation recipe (nearest-neighbour filtering with the cosine
metric over about two seconds, median aggregation, soft masks with margins); HPSS is
``librosa.decompose.hpss`` with its harmonic part taken as the vocal estimate.
Shapes: ``x`` is ``(channels, samples)``; each function returns ``(vocals, accompaniment)``.
"""

from __future__ import annotations

import numpy as np


def repet_sim(x: np.ndarray, sr: int, n_fft: int = 2048, hop: int = 512):
    import librosa

    mono = x.mean(axis=0)
    spec = librosa.stft(mono, n_fft=n_fft, hop_length=hop)
    mag = np.abs(spec)
    width = int(librosa.time_to_frames(2, sr=sr, hop_length=hop))
    rep = librosa.decompose.nn_filter(mag, aggregate=np.median, metric="cosine",
                                      width=min(width, max(1, mag.shape[1] // 2 - 1)))
    rep = np.minimum(mag, rep)
    mask_v = librosa.util.softmask(mag - rep, 10 * rep, power=2)
    return _apply(x, mask_v, n_fft, hop)


def hpss(x: np.ndarray, sr: int, n_fft: int = 2048, hop: int = 512):
    import librosa

    mono = x.mean(axis=0)
    spec = librosa.stft(mono, n_fft=n_fft, hop_length=hop)
    harmonic, _ = librosa.decompose.hpss(np.abs(spec), mask=True)
    return _apply(x, harmonic, n_fft, hop)


def _apply(x: np.ndarray, mask: np.ndarray, n_fft: int, hop: int):
    import librosa

    specs = librosa.stft(x, n_fft=n_fft, hop_length=hop)  # (channels, bins, frames)
    vocals = librosa.istft(specs * mask[None], hop_length=hop, length=x.shape[1])
    return vocals, x - vocals


REFERENCES = {"librosa-repet-sim": repet_sim, "librosa-hpss": hpss}
