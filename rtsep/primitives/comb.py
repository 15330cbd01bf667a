"""Harmonic comb masks: the one implementation of "the harmonics of these f0s at this STFT
geometry", shared by the pitch and score cues and by anything that needs a mask from f0s
(e.g. score-supervised training, whose harmonic masks must match the engine's).

- :func:`harmonic_mask`: one frame, ``f0s_hz`` (n,) -> ``(bins,)`` in [0, 1];
- :func:`harmonic_masks`: a track, ``f0s_hz`` ``(frames, n)`` (0 = no note) -> ``(bins, frames)``;
- :class:`HarmonicComb`: the primitives' base, same settings, writing into its own buffer.

Each partial ``h * f0`` below ``max_hz`` gets a raised-cosine bump of half-width
``width_bins + width_rel * h * f0 / bin_hz`` bins (``kernels.harmonic.comb_mask``, with a numpy
twin); overlapping bumps take the maximum.
"""

from __future__ import annotations

import numpy as np

# The private (unchecked) kernels: buffers are allocated here with the right shapes, and
# ``step`` checks the one array that comes from outside (see ``base.Primitive.step``).
from kernels.harmonic import COMB_MAX_HZ, COMB_WIDTH_BINS, COMB_WIDTH_REL, comb_max_bin
from kernels.harmonic import _comb_mask as comb_mask

from ..config import StftGeometry
from .base import Primitive

COMB_DEFAULTS = {"max_hz": 8000.0, "width_bins": 1.5, "width_rel": 0.01}


def harmonic_mask(f0s_hz, geometry: StftGeometry, max_hz: float = 8000.0,
                  width_bins: float = 1.5, width_rel: float = 0.01) -> np.ndarray:
    """Comb mask ``(bins,)`` around the partials of ``f0s_hz`` (Hz; values <= 0 are skipped)."""
    f0s = np.asarray(f0s_hz, dtype=np.float64).ravel()
    return harmonic_masks(f0s[None, :], geometry, max_hz, width_bins, width_rel)[:, 0]


def harmonic_masks(f0s_hz, geometry: StftGeometry, max_hz: float = 8000.0,
                   width_bins: float = 1.5, width_rel: float = 0.01) -> np.ndarray:
    """Comb masks ``(bins, frames)`` for ``f0s_hz`` ``(frames, notes)`` (Hz; 0 = no note)."""
    f0s = np.asarray(f0s_hz, dtype=np.float64)
    if f0s.ndim != 2:
        raise ValueError(f"f0s_hz must be shaped (frames, notes), got {f0s.shape}")
    if not (width_bins > 0 and width_rel >= 0):
        raise ValueError("comb widths must be positive")
    bin_hz = geometry.sr / geometry.n_fft
    max_bin = min(geometry.n_bins - 1.0, max_hz / bin_hz)
    out = np.zeros((f0s.shape[0], geometry.n_bins))
    for k in range(f0s.shape[0]):
        bins = np.ascontiguousarray(np.where(f0s[k] > 0, f0s[k], 0.0) / bin_hz)
        comb_mask(bins, bins.shape[0], max_bin, float(width_bins), float(width_rel), out[k])
    return out.T


class HarmonicComb(Primitive):
    """Shared comb settings: partials up to ``max_hz``, half-width ``width_bins`` plus
    ``width_rel`` of the partial's frequency. The comb itself is ``kernels.harmonic``'s, the one
    that score-supervised training draws its harmonic masks with (``harmonic_mask``)."""

    max_f0s = 16

    def __init__(self, geometry: StftGeometry, max_hz: float = COMB_MAX_HZ,
                 width_bins: float = COMB_WIDTH_BINS, width_rel: float = COMB_WIDTH_REL):
        super().__init__(geometry)
        self.max_bin = comb_max_bin(self.n_bins, self.bin_hz, max_hz)
        self.width_bins = float(width_bins)
        self.width_rel = float(width_rel)
        self._f0_bins = np.zeros(self.max_f0s)
        self._n_f0 = 0

    def _comb(self) -> np.ndarray:
        comb_mask(self._f0_bins, self._n_f0, self.max_bin, self.width_bins, self.width_rel,
                  self._out)
        return self._out
