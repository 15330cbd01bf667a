"""The pitch cue: predominant f0 by harmonic summation, a comb mask when voiced."""

from __future__ import annotations

import math

import numpy as np

# The private (unchecked) kernel: buffers are allocated here with the right shapes, and
# ``step_many`` checks the one array that comes from outside (see ``base.Primitive``).
from kernels.pitch import _pitch_steps as pitch_steps

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
        self.cand_st = 12.0 * np.log2(self.cand_hz)
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
        self.reset()

    def reset(self) -> None:
        self.f0_hz = 0.0
        self.voicing = 0.0
        self._n_f0 = 0
        self._f0_bins.fill(0.0)

    def _steps(self, mags: np.ndarray, out: np.ndarray) -> None:
        # the whole frame step is one kernel (kernels.pitch; its numpy twin is
        # kernels.pitch.pitch_frame_ref)
        self.f0_hz, self.voicing = pitch_steps(
            mags, self.f0_hz, self.whiten_half, self.cand_bins, self.cand_hz, self.cand_st,
            self.harm_weights, self.lo_bin, self.hi_bin, self.voicing_lo, self.voicing_hi,
            self.continuity, self.continuity_st, float(self.bins_per_octave), self.max_bin,
            self.width_bins, self.width_rel, self._comp, self._white, self.salience,
            self._f0_bins, out,
        )
        self._n_f0 = 1 if self.f0_hz > 0.0 else 0
