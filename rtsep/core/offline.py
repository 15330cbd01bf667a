"""The offline reference: whole-signal STFT, the engine's per-frame masks, whole-signal ISTFT.

It shares only the mask logic with the streaming path; framing, windows, overlap-add, FIFOs and
latency are computed independently, so ``Engine.process`` can be tested against it: the
streamed output must equal this output delayed by ``engine.latency_samples``.
"""

from __future__ import annotations

import numpy as np

from ..config import EngineConfig
from .engine import Engine
from .stft import istft_offline, stft_offline


def separate_offline(x: np.ndarray, sr: int, config: EngineConfig | None = None,
                     score=None) -> tuple[np.ndarray, np.ndarray]:
    """Vocals and karaoke of ``x`` ``(channels, samples)``, undelayed, same shape as ``x``
    (following ``score``, a ``rtsep.score.ScoreInput``, if given)."""
    x = np.asarray(x, dtype=np.float64)
    engine = Engine(sr, x.shape[0], config, score=score)
    spec = stft_offline(x, engine.geometry)  # (channels, bins, frames)
    if x.shape[0] == 1:
        mags = np.abs(spec[0])
    else:
        mags = np.abs(spec).mean(axis=0)
    masks = np.empty(mags.shape)
    la = engine.lookahead_frames  # masks arrive ``la`` frames after their frame
    silence = np.zeros(mags.shape[0])
    for k in range(mags.shape[1] + la):
        mag = np.ascontiguousarray(mags[:, k]) if k < mags.shape[1] else silence
        mask = engine.frame_mask(mag)
        if k >= la:
            masks[:, k - la] = mask
    vocals = istft_offline(spec * masks[None], engine.geometry, x.shape[1])
    return vocals, x - vocals
