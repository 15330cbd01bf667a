"""Oracle masks: the best a time-frequency mask at the engine's STFT geometry can do.

The ideal ratio mask (IRM) and ideal binary mask (IBM) are computed from the true stems and
applied to the mixture with the same low-delay STFT the engine streams with, so they bound what
any mask-based method in rtsep can reach (the "ceiling" row of an evaluation). As in the engine,
karaoke is the mixture's spectrum times ``1 - vocal_mask``.

Shapes: signals are ``(channels, samples)``; masks are ``(channels, bins, frames)``.
"""

from __future__ import annotations

import numpy as np

from ..config import geometry_for
from ..core.stft import istft_offline, stft_offline
from ..errors import ConfigError


def ideal_ratio_mask(vocal_spec: np.ndarray, accompaniment_spec: np.ndarray,
                     power: float = 2.0) -> np.ndarray:
    """``|V|^p / (|V|^p + |A|^p)`` per channel and bin (0.5 where both are zero).

    ``power`` 2 (default) is the Wiener-like mask (SigSep's IRM2, the higher ceiling on the
    dev set: +1 dB vocal SDR over IRM1); 1 is the magnitude ratio mask (IRM1).
    """
    v = np.abs(vocal_spec) ** power
    a = np.abs(accompaniment_spec) ** power
    total = v + a
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, v / total, 0.5)


def ideal_binary_mask(vocal_spec: np.ndarray, accompaniment_spec: np.ndarray) -> np.ndarray:
    """1 where the vocals are louder than the accompaniment, else 0."""
    return (np.abs(vocal_spec) > np.abs(accompaniment_spec)).astype(np.float64)


def oracle_separate(mixture: np.ndarray, vocals: np.ndarray, accompaniment: np.ndarray, sr: int,
                    kind: str = "irm", preset: str = "default", power: float = 2.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Vocals and karaoke estimates ``(channels, samples)`` from an oracle mask of the mixture.

    ``kind`` is ``"irm"`` or ``"ibm"``; ``preset`` picks the engine geometry (``config.py``).
    """
    if kind not in ("irm", "ibm"):
        raise ConfigError(f"unknown oracle mask {kind!r}; choose irm or ibm")
    geometry = geometry_for(sr, preset)
    mix_spec = stft_offline(np.asarray(mixture, dtype=np.float64), geometry)
    v_spec = stft_offline(np.asarray(vocals, dtype=np.float64), geometry)
    a_spec = stft_offline(np.asarray(accompaniment, dtype=np.float64), geometry)
    if kind == "irm":
        mask = ideal_ratio_mask(v_spec, a_spec, power)
    else:
        mask = ideal_binary_mask(v_spec, a_spec)
    n = mixture.shape[1]
    vocal_estimate = istft_offline(mix_spec * mask, geometry, n)
    karaoke_estimate = istft_offline(mix_spec * (1.0 - mask), geometry, n)
    return vocal_estimate, karaoke_estimate
