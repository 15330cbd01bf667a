"""The pitch cue: predominant f0 by harmonic summation, a comb mask when voiced."""

from __future__ import annotations

import math

import numpy as np

# The private (unchecked) kernels: buffers are allocated here with the right shapes, and
# ``step`` checks the one array that comes from outside (see ``base.Primitive.step``).
from kernels.harmonic import _harmonic_salience as harmonic_salience
from kernels.harmonic import _whiten as whiten

from ..config import StftGeometry
from .comb import HarmonicComb


class Pitch(HarmonicComb):
    """Predominant f0 by harmonic summation with light continuity; comb mask when voiced.

    Salience is summed on the square root of the magnitude (so one loud partial does not
    decide alone). ``voicing`` compares the best salience with the mean compressed magnitude
    from ``fmin`` to ``max_hz``: below ``voicing_lo`` the frame is unvoiced (mask 0), above
    ``voicing_hi`` fully voiced, in between the comb is scaled linearly. Candidates within a
    few semitones of the previous f0 get up to ``continuity`` extra salience. The f0 is refined
    between candidates by a parabola through the salience peak and its neighbours.
    """

    name = "pitch"

    def __init__(self, geometry: StftGeometry, fmin: float = 100.0, fmax: float = 1000.0,
                 bins_per_octave: int = 48, n_harmonics: int = 10, harm_decay: float = 0.8,
                 whiten_hz: float = 200.0,
                 voicing_lo: float = 5.0, voicing_hi: float = 10.0, continuity: float = 0.1,
                 continuity_semitones: float = 1.0, **comb):
        super().__init__(geometry, **comb)
        fmax = min(fmax, geometry.sr / 4)
        n_cand = int(math.floor(bins_per_octave * math.log2(fmax / fmin))) + 1
        self.bins_per_octave = int(bins_per_octave)
        self.cand_hz = fmin * 2.0 ** (np.arange(n_cand) / bins_per_octave)
        self.cand_bins = self.cand_hz / self.bin_hz
        self._cand_st = 12.0 * np.log2(self.cand_hz)
        self.harm_weights = harm_decay ** np.arange(n_harmonics, dtype=np.float64)
        self.lo_bin = max(1, int(fmin / self.bin_hz))
        self.hi_bin = int(self.max_bin)
        self.voicing_lo, self.voicing_hi = float(voicing_lo), float(voicing_hi)
        self.continuity = float(continuity)
        self.continuity_st = float(continuity_semitones)
        self.whiten_half = max(1, int(round(whiten_hz / self.bin_hz / 2)))
        self._comp = np.zeros(self.n_bins)
        self._white = np.zeros(self.n_bins)
        self.salience = np.zeros(n_cand)
        self._bonus = np.zeros(n_cand)
        self.reset()

    def reset(self) -> None:
        self.f0_hz = 0.0
        self.voicing = 0.0
        self._n_f0 = 0
        self._f0_bins.fill(0.0)

    def _step(self, mag: np.ndarray) -> np.ndarray:
        np.sqrt(mag, out=self._comp)
        whiten(self._comp, self.whiten_half, self._white)
        harmonic_salience(self._white, self.cand_bins, self.harm_weights, self.salience)
        floor = self._white[self.lo_bin : self.hi_bin].mean()
        if self.f0_hz > 0 and self.continuity > 0:
            prev_st = 12.0 * math.log2(self.f0_hz)
            np.subtract(self._cand_st, prev_st, out=self._bonus)
            np.divide(self._bonus, self.continuity_st, out=self._bonus)
            np.square(self._bonus, out=self._bonus)
            np.multiply(self._bonus, -0.5, out=self._bonus)
            np.exp(self._bonus, out=self._bonus)
            np.multiply(self._bonus, self.continuity, out=self._bonus)
            np.add(self._bonus, 1.0, out=self._bonus)
            np.multiply(self.salience, self._bonus, out=self.salience)
        best = int(np.argmax(self.salience))
        ratio = self.salience[best] / floor if floor > 0 else 0.0
        span = self.voicing_hi - self.voicing_lo
        self.voicing = min(1.0, max(0.0, (ratio - self.voicing_lo) / span))
        if self.voicing <= 0.0:
            self.f0_hz = 0.0
            self._out.fill(0.0)
            return self._out
        shift = 0.0
        if 0 < best < self.salience.shape[0] - 1:
            a, b, c = self.salience[best - 1], self.salience[best], self.salience[best + 1]
            den = a - 2.0 * b + c
            if den < 0.0:
                shift = min(0.5, max(-0.5, 0.5 * (a - c) / den))
        ratio_f = 2.0 ** (shift / self.bins_per_octave)
        self.f0_hz = float(self.cand_hz[best]) * ratio_f
        self._f0_bins[0] = self.cand_bins[best] * ratio_f
        self._n_f0 = 1
        self._comb()
        if self.voicing < 1.0:
            np.multiply(self._out, self.voicing, out=self._out)
        return self._out
