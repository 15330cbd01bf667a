"""The score cue: a comb mask around the notes the score says the voice sings.

It reads a :class:`~rtsep.score.state.ScoreState` (the same object the engine's gate and models
read), refreshed by the engine before every hop. Each sounding note's f0 is refined in the
audio: the strongest harmonic series within ``search_semitones`` of the written pitch (singers
are rarely exactly in tune, and a comb on the written pitch misses the upper partials). A note
that just ended stays on offer for ``hold_s``: the sung release, and some slack for a score
that runs early; a file score also offers the notes that start within its look-ahead (slack
for a score that runs late).

What the cue says, per hop:

- the score is silent (no notes yet on a live port, or a port idle for long): nothing; its
  ``presence`` is 0, so primitive clustering leaves it out and the other cues decide alone;
- no note sounds in an informative score: ``rest_value`` everywhere (the voice rests);
- notes sound: 1 on their partials, ``off_value`` between them.

A wrong score (other notes than the sung ones) would push the voice into the accompaniment,
so the cue measures how well the audio agrees with the score (the harmonic salience of the
score's notes against the strongest harmonic series anywhere, smoothed over ``trust_s``) and
its ``presence`` (its weight in primitive clustering) falls from 1 to 0 as that agreement
falls from ``trust_hi`` to ``trust_lo``; the engine's rest gate follows (``state.trust``).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

# The private (unchecked) kernels: buffers are allocated here with the right shapes, and
# ``step`` checks the one array that comes from outside (see ``base.Primitive.step``).
from kernels.harmonic import _harmonic_salience as harmonic_salience
from kernels.harmonic import _whiten as whiten

from ..config import StftGeometry
from .comb import HarmonicComb

STEPS_PER_SEMITONE = 4  # resolution of the f0 refinement


class ScoreCue(HarmonicComb):
    """Comb mask around the sounding notes of the score; see the module docstring.

    Without a ``state`` the notes are set by hand with :meth:`set_notes` (f0s in Hz, used as
    written), e.g. by tests or a caller that tracks the score itself.
    """

    name = "score"

    def __init__(self, geometry: StftGeometry, state=None, hold_s: float = 0.15,
                 search_semitones: float = 1.0, rest_value: float = 0.0,
                 off_value: float = 0.0, trust_s: float = 1.0, trust_lo: float = 0.6,
                 trust_hi: float = 0.9, n_harmonics: int = 10, harm_decay: float = 0.8,
                 whiten_hz: float = 200.0, fmin: float = 80.0, fmax: float = 1000.0, **comb):
        super().__init__(geometry, **comb)
        self.state = state
        self.hold_s = float(hold_s)
        # Agreement of score and audio: the salience of the score's notes over that of the
        # strongest harmonic series anywhere, smoothed over ``trust_s`` (0: always trusted).
        # Measured on the rendered song: 0.95 on average with the exact score (0.94 200 ms
        # late), 0.27 transposed by a fourth; on six MIR-1K training clips 0.93-0.98 exact,
        # 0.42-0.66 a fourth off.
        self.trust_rate = geometry.hop / geometry.sr / trust_s if trust_s > 0 else 0.0
        self.trust_lo, self.trust_hi = float(trust_lo), float(trust_hi)
        fmax = min(fmax, geometry.sr / 4)
        n_all = int(math.floor(12 * STEPS_PER_SEMITONE * math.log2(fmax / fmin))) + 1
        self._all_bins = (fmin * 2.0 ** (np.arange(n_all) / (12.0 * STEPS_PER_SEMITONE))
                          / self.bin_hz)
        self._all_sal = np.zeros(n_all)
        self.rest_value = float(rest_value)
        self.off_value = float(off_value)
        k = int(round(search_semitones * STEPS_PER_SEMITONE))
        self._ratios = 2.0 ** (np.arange(-k, k + 1) / (12.0 * STEPS_PER_SEMITONE))
        self._cands = np.zeros(self._ratios.shape[0])
        self._sal = np.zeros(self._ratios.shape[0])
        self.harm_weights = harm_decay ** np.arange(n_harmonics, dtype=np.float64)
        self.whiten_half = max(1, int(round(whiten_hz / self.bin_hz / 2)))
        self._comp = np.zeros(self.n_bins)
        self._white = np.zeros(self.n_bins)
        # notes on offer: written f0 (Hz) and the score time they last sounded
        self._recent_hz = np.zeros(self.max_f0s)
        self._recent_t = np.full(self.max_f0s, -np.inf)
        self._manual: list[float] = []
        self.reset()

    def reset(self) -> None:
        self._n_f0 = 0
        self._recent_hz.fill(0.0)
        self._recent_t.fill(-np.inf)
        self.presence = 1.0
        self.agreement = 1.0  # smoothed score/audio agreement in [0, 1]
        self._best_local = 0.0

    def warmup(self) -> None:
        saved, self.state = self.state, None
        self.set_notes([220.0])  # with no note sounding the comb kernel would not run
        super().warmup()
        self.set_notes([])
        self.state = saved
        self.reset()

    def set_notes(self, f0s_hz: Sequence[float]) -> None:
        """Without a state: replace the sounding notes (Hz; at most 16 are kept)."""
        self._manual = [float(f) for f in f0s_hz if f > 0][: self.max_f0s]

    # -- per hop ---------------------------------------------------------------------------
    def _step(self, mag: np.ndarray) -> np.ndarray:
        st = self.state
        if st is None:
            notes, now = self._manual, 0.0
        elif not st.informative:
            self.presence = 0.0
            self._out.fill(0.5)
            return self._out
        else:
            notes, now = list(st.f0_hz[: st.n_f0]), st.now
        self.presence = self._trust()
        offered = self._offer(notes, now)
        if st is not None:  # a file's notes that start soon: slack for a late score
            for hz in st.upcoming_hz[: st.n_upcoming]:
                if len(offered) < self.max_f0s and all(abs(hz - o) > 1e-6 * hz for o in offered):
                    offered.append(float(hz))
        if not offered:
            self._out.fill(self.rest_value)
            return self._out
        if st is not None and self._ratios.shape[0] > 1:
            self._refine(mag, offered)
            if self.trust_rate > 0.0 and notes:
                self._agree()
        else:
            for i, hz in enumerate(offered):
                self._f0_bins[i] = hz / self.bin_hz
            self._n_f0 = len(offered)
        self._comb()
        if self.off_value > 0.0:
            np.multiply(self._out, 1.0 - self.off_value, out=self._out)
            np.add(self._out, self.off_value, out=self._out)
        return self._out

    def _trust(self) -> float:
        """The cue's weight factor from the agreement (1 when agreement is not tracked)."""
        if self.trust_rate <= 0.0:
            return 1.0
        x = (self.agreement - self.trust_lo) / (self.trust_hi - self.trust_lo)
        return min(1.0, max(0.0, x))

    def _agree(self) -> None:
        """Update the agreement with this frame (``_refine`` left the whitened spectrum)."""
        harmonic_salience(self._white, self._all_bins, self.harm_weights, self._all_sal)
        best = float(self._all_sal.max())
        a = min(1.0, self._best_local / best) if best > 0.0 else 1.0
        self.agreement += self.trust_rate * (a - self.agreement)
        self.state.trust = self._trust()

    def _offer(self, notes: list, now: float) -> list:
        """The sounding notes, then the recently ended ones (within ``hold_s``) not among them."""
        for hz in notes:  # refresh the memory with what sounds now
            same = np.abs(self._recent_hz - hz) < 1e-6 * hz
            slot = int(np.argmax(same)) if same.any() else int(np.argmin(self._recent_t))
            self._recent_hz[slot], self._recent_t[slot] = hz, now
        offered = list(notes[: self.max_f0s])
        for hz, t in zip(self._recent_hz, self._recent_t):
            if len(offered) >= self.max_f0s:
                break
            if now - t <= self.hold_s and t < now and all(abs(hz - o) > 1e-6 * hz for o in offered):
                offered.append(float(hz))
        return offered

    def _refine(self, mag: np.ndarray, offered: list) -> None:
        """Each offered f0 moves to the strongest harmonic series near it in ``mag``."""
        np.sqrt(mag, out=self._comp)
        whiten(self._comp, self.whiten_half, self._white)
        n = 0
        self._best_local = 0.0
        for hz in offered:
            f0 = hz / self.bin_hz
            if f0 * self._ratios[0] < 1.0:
                continue  # below the first bins: no resolvable partials
            np.multiply(self._ratios, f0, out=self._cands)
            harmonic_salience(self._white, self._cands, self.harm_weights, self._sal)
            best = int(np.argmax(self._sal))
            self._best_local = max(self._best_local, float(self._sal[best]))
            shift = 0.0
            if 0 < best < self._sal.shape[0] - 1:
                a, b, c = self._sal[best - 1], self._sal[best], self._sal[best + 1]
                den = a - 2.0 * b + c
                if den < 0.0:
                    shift = min(0.5, max(-0.5, 0.5 * (a - c) / den))
            if self._sal[best] <= 0.0:
                self._f0_bins[n] = f0  # nothing harmonic near the note: comb as written
            else:
                self._f0_bins[n] = self._cands[best] * 2.0 ** (
                    shift / (12.0 * STEPS_PER_SEMITONE))
            n += 1
        self._n_f0 = n
        if n and not math.isfinite(self._f0_bins[:n].sum()):
            self._n_f0 = 0
