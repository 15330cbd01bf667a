"""Primitives: causal per-frame vocal masks from auditory grouping cues (paper 000 §2).

Each primitive is an object with ``name``, ``reset()``, ``warmup()`` and
``step(mag (bins,)) -> mask (bins,)`` in [0, 1] (1 = vocals) for the newest frame, given the
magnitude spectrum (mean over channels). Only past and current frames are used. All state is
allocated in ``__init__``; ``step`` returns an internal buffer that the caller copies.
Durations are given in seconds and frequencies in Hz, and converted with the STFT geometry,
so every preset and sample rate behaves alike.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

# The private (unchecked) kernels: every buffer is allocated here with the right shape, and
# ``step`` checks the one array that comes from outside; the public wrappers' checks would
# cost more per hop than some of the kernels themselves.
from kernels.harmonic import _comb_mask as comb_mask
from kernels.harmonic import _harmonic_salience as harmonic_salience
from kernels.harmonic import _whiten as whiten
from kernels.hpss import _hpss_combine as hpss_combine
from kernels.medians import _freq_median as freq_median
from kernels.medians import _time_median_step as time_median_step
from kernels.repet import _compress_frame as compress_frame
from kernels.repet import _repet_step as repet_step
from kernels.repet import band_edges

from .config import StftGeometry
from .errors import ConfigError


def _frames(geometry: StftGeometry, seconds: float) -> int:
    return max(1, int(round(seconds * geometry.sr / geometry.hop)))


class _Primitive:
    name = ""

    def __init__(self, geometry: StftGeometry):
        self.geometry = geometry
        self.n_bins = geometry.n_bins
        self.bin_hz = geometry.sr / geometry.n_fft
        self._out = np.zeros(self.n_bins)
        self._clean = np.zeros(self.n_bins)

    def warmup(self) -> None:
        """Compile the kernels and run a few frames, then forget them.

        Noise and then a harmonic tone, so that paths taken only on voiced frames (the pitch
        cue's comb) compile now: on a cold cache a first sung note would otherwise compile one
        mid-stream (~170 ms, a burst of xruns).
        """
        rng = np.random.default_rng(0)
        for _ in range(3):
            self.step(rng.random(self.n_bins))
        tone = self._harmonic_frame(220.0)
        for _ in range(4):
            self.step(tone)
        self.reset()

    def _harmonic_frame(self, f0_hz: float) -> np.ndarray:
        """A magnitude frame with ten partials of ``f0_hz`` over a low noise floor."""
        mag = np.full(self.n_bins, 1e-3)
        for h in range(1, 11):
            b = int(round(h * f0_hz / self.bin_hz))
            if b < self.n_bins:
                mag[b] = 1.0 / h
        return mag

    def reset(self) -> None:  # pragma: no cover - every primitive overrides it
        raise NotImplementedError

    def step(self, mag: np.ndarray) -> np.ndarray:
        """Vocal mask ``(bins,)`` of the newest frame, from its magnitude ``mag`` ``(bins,)``."""
        # numba does not check bounds: a frame of the wrong size would read past the end
        if mag.shape != self._out.shape or mag.dtype != np.float64:
            raise ConfigError(
                f"{self.name}: expected a float64 magnitude frame of shape ({self.n_bins},), "
                f"got {mag.dtype} {mag.shape}"
            )
        # A NaN or inf stored in a history (a sorted median window, the REPET ring) would spoil
        # every later frame, not just this one; one sum (no allocation) detects it.
        if not math.isfinite(mag.sum()):
            np.copyto(self._clean, mag)
            self._clean[~np.isfinite(self._clean)] = 0.0
            mag = self._clean
        return self._step(mag)

    def _step(self, mag: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class RepetSim(_Primitive):
    """Online REPET-SIM: vocals are what the most similar past frames do not explain.

    Music frames are all fairly alike in cosine (above 0.8 on the dev tracks), so the
    similarity ``threshold`` of 0.5 selects nothing on its own; it keeps silent history
    (similarity 0) from serving as the "repeating model" after a pause, which would call every
    bin vocal.
    """

    name = "repet"

    def __init__(self, geometry: StftGeometry, history_s: float = 4.0, n_bands: int = 32,
                 min_dist_s: float = 0.3, max_k: int = 20, threshold: float = 0.5,
                 power: float = 1.0):
        super().__init__(geometry)
        self.n_slots = _frames(geometry, history_s)
        self.min_dist = _frames(geometry, min_dist_s)
        self.max_k = int(max_k)
        self.threshold = float(threshold)
        self.power = float(power)
        self.edges = band_edges(self.n_bins, n_bands)
        n_b = self.edges.shape[0] - 1
        self._hist_mag = np.zeros((self.n_slots, self.n_bins))
        self._hist_comp = np.zeros((self.n_slots, n_b))
        self._comp = np.zeros(n_b)
        self._sims = np.zeros(self.n_slots)
        self._chosen = np.zeros(self.max_k, dtype=np.int64)
        self._gathered = np.zeros((self.max_k, self.n_bins))
        self.reset()

    def reset(self) -> None:
        self._hist_mag.fill(0.0)
        self._hist_comp.fill(0.0)
        self._pos = 0
        self._count = 0
        self.n_neighbours = 0

    def _step(self, mag: np.ndarray) -> np.ndarray:
        compress_frame(mag, self.edges, self._comp)
        self.n_neighbours = repet_step(
            mag, self._comp, self._hist_mag, self._hist_comp, self._pos, self._count,
            self.min_dist, self.max_k, self.threshold, self.power, self._sims, self._chosen,
            self._gathered, self._out,
        )
        self._pos = (self._pos + 1) % self.n_slots
        self._count = min(self._count + 1, self.n_slots)
        return self._out


class Hpss(_Primitive):
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
        self.harm_len = max(3, _frames(geometry, harm_s))
        self.stable_len = int(stable_len)
        self.stable_every = max(1, _frames(geometry, stable_s) // self.stable_len)
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

    def _step(self, mag: np.ndarray) -> np.ndarray:
        t = self._frame
        time_median_step(mag, self._h_ring, self._h_sorted, t % self.harm_len, self.harm)
        if t % self.stable_every == 0:
            slot = (t // self.stable_every) % self.stable_len
            time_median_step(mag, self._s_ring, self._s_sorted, slot, self.stable)
        freq_median(mag, self.perc_half, self._scratch, self.perc)
        hpss_combine(self.harm, self.stable, self.perc, self.power, self._out)
        self._frame = t + 1
        return self._out


class _HarmonicComb(_Primitive):
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


class Pitch(_HarmonicComb):
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


class ScoreCue(_HarmonicComb):
    """Comb mask around the currently sounding notes of the vocal part (from MIDI).

    With no vocal note sounding the mask is 0 everywhere: the score says the voice is silent,
    so everything heard is accompaniment (a neutral 0.5 would throw that knowledge away).
    """

    name = "score"

    def reset(self) -> None:
        self._n_f0 = 0

    def warmup(self) -> None:
        self.set_notes([220.0])  # with no note sounding the comb kernel would not run
        super().warmup()

    def set_notes(self, f0s_hz: Sequence[float]) -> None:
        """Replace the set of sounding vocal notes (Hz; at most 16 are kept)."""
        f0s = [float(f) for f in f0s_hz if f > 0][: self.max_f0s]
        self._n_f0 = len(f0s)
        self._f0_bins[: self._n_f0] = np.asarray(f0s) / self.bin_hz if f0s else 0.0

    def _step(self, mag: np.ndarray) -> np.ndarray:
        return self._comb()


_REGISTRY = {"repet": RepetSim, "hpss": Hpss, "pitch": Pitch, "score": ScoreCue}
PRIMITIVE_NAMES = tuple(_REGISTRY)


def make_primitives(names: Sequence[str], geometry: StftGeometry, **params) -> list:
    """Build primitives by name, in order. ``params`` maps a name to keyword arguments."""
    out = []
    for name in names:
        if name not in _REGISTRY:
            raise ConfigError(
                f"unknown primitive {name!r}; choose from {', '.join(PRIMITIVE_NAMES)}"
            )
        out.append(_REGISTRY[name](geometry, **params.get(name, {})))
    return out
