"""Online REPET-SIM: the repetition cue (paper 000 §2)."""

from __future__ import annotations

import numpy as np

# The private (unchecked) kernels: buffers are allocated here with the right shapes, and
# ``step`` checks the one array that comes from outside (see ``base.Primitive.step``).
from kernels.repet import _repet_steps as repet_steps
from kernels.repet import band_edges, median_networks

from ..config import StftGeometry
from .base import Primitive, frames_for


class RepetSim(Primitive):
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
        self.n_slots = frames_for(geometry, history_s)
        self.min_dist = frames_for(geometry, min_dist_s)
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
        self._net_pairs, self._net_starts = median_networks(self.max_k)
        self.reset()

    def reset(self) -> None:
        self._hist_mag.fill(0.0)
        self._hist_comp.fill(0.0)
        self._pos = 0
        self._count = 0
        self.n_neighbours = 0

    def _steps(self, mags: np.ndarray, out: np.ndarray) -> None:
        self._pos, self._count, self.n_neighbours = repet_steps(
            mags, self.edges, self._comp, self._hist_mag, self._hist_comp, self._pos,
            self._count, self.min_dist, self.max_k, self.threshold, self.power, self._sims,
            self._chosen, self._gathered, self._net_pairs, self._net_starts, out,
        )
