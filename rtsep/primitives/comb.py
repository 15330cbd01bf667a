"""Comb masks around harmonics of a few f0s: shared by the pitch and score cues."""

from __future__ import annotations

import numpy as np

# The private (unchecked) kernels: buffers are allocated here with the right shapes, and
# ``step`` checks the one array that comes from outside (see ``base.Primitive.step``).
from kernels.harmonic import COMB_MAX_HZ, COMB_WIDTH_BINS, COMB_WIDTH_REL, comb_max_bin
from kernels.harmonic import _comb_mask as comb_mask

from ..config import StftGeometry
from .base import Primitive


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
