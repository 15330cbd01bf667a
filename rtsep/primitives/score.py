"""The score cue: a comb mask around the notes the vocal part is singing (from MIDI)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .comb import HarmonicComb


class ScoreCue(HarmonicComb):
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
