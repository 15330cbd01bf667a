"""Online HPSS: the harmonic/percussive cue (paper 000 §2)."""

from __future__ import annotations

import numpy as np

# The private (unchecked) kernels: buffers are allocated here with the right shapes, and
# ``step`` checks the one array that comes from outside (see ``base.Primitive.step``).
from kernels.hpss import _hpss_steps as hpss_steps

from ..config import StftGeometry
from .base import Primitive, frames_for


class Hpss(Primitive):
    """Online HPSS, "harmonic minus stable-harmonic" (see ``kernels.hpss``).

    ``harm`` is the causal median of the last ``harm_s`` seconds per bin; ``stable`` the median
    of ``stable_len`` frames taken every ``stable_s / stable_len`` seconds (a long window at a
    fraction of the cost, updated at that rate); ``perc`` the median over ``perc_hz`` of
    frequency in the current frame. Windows start as silence, so for the first ``stable_s``
    seconds the stable median is near 0 and the mask is close to a plain harmonic mask.
    """

    name = "hpss"

    def __init__(self, geometry: StftGeometry, harm_s: float = 0.1, stable_s: float = 2.0,
                 stable_len: int = 24, perc_hz: float = 400.0, power: float = 1.0):
        super().__init__(geometry)
        self.harm_len = max(3, frames_for(geometry, harm_s))
        self.stable_len = int(stable_len)
        self.stable_every = max(1, frames_for(geometry, stable_s) // self.stable_len)
        self.perc_half = max(1, int(round(perc_hz / self.bin_hz / 2)))
        self.power = float(power)
        F = self.n_bins
        self._h_ring = np.zeros((self.harm_len, F))
        self._h_sorted = np.zeros((F, self.harm_len))
        self._s_ring = np.zeros((self.stable_len, F))
        self._s_sorted = np.zeros((F, self.stable_len))
        self._scratch = np.zeros(2 * self.perc_half + 1)
        self.harm = np.zeros(F)
        self.stable = np.zeros(F)
        self.perc = np.zeros(F)
        self.reset()

    def reset(self) -> None:
        for a in (self._h_ring, self._h_sorted, self._s_ring, self._s_sorted, self.harm,
                  self.stable, self.perc):
            a.fill(0.0)
        self._frame = 0

    def _steps(self, mags: np.ndarray, out: np.ndarray) -> None:
        self._frame = hpss_steps(
            mags, self._h_ring, self._h_sorted, self._s_ring, self._s_sorted, self.stable_every,
            self.perc_half, self._scratch, self.harm, self.stable, self.perc, self.power,
            self._frame, out,
        )
