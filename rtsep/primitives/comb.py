"""Comb masks around harmonics of a few f0s: shared by the pitch and score cues."""

from __future__ import annotations

import numpy as np

# The private (unchecked) kernels: buffers are allocated here with the right shapes, and
# ``step`` checks the one array that comes from outside (see ``base.Primitive.step``).
from kernels.harmonic import _comb_mask as comb_mask

from ..config import StftGeometry
from .base import Primitive


class HarmonicComb(Primitive):
    """Shared comb settings: partials up to ``max_hz``, half-width ``width_bins`` plus
    ``width_rel`` of the partial's frequency."""

    max_f0s = 16

    def __init__(self, geometry: StftGeometry, max_hz: float = 8000.0, width_bins: float = 1.5,
                 width_rel: float = 0.01):
        super().__init__(geometry)
        self.max_bin = min(self.n_bins - 1.0, max_hz / self.bin_hz)
        self.width_bins = float(width_bins)
        self.width_rel = float(width_rel)
        self._f0_bins = np.zeros(self.max_f0s)
        self._n_f0 = 0

    def _comb(self) -> np.ndarray:
        comb_mask(self._f0_bins, self._n_f0, self.max_bin, self.width_bins, self.width_rel,
                  self._out)
        return self._out
