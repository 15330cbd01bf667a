"""From primitive masks to one vocal mask: primitive clustering (paper 000 Eq. 1).

Shapes: an embedding is ``(bins, dims)`` of soft masks in [0, 1], one column per primitive;
masks are ``(bins,)``.
"""

from __future__ import annotations

import numpy as np

from kernels.clustering import cluster_mask


class MaskCombiner:
    """Primitive clustering with fixed centres 0 (accompaniment) and 1 (vocals)."""

    def __init__(self, n_bins: int, n_primitives: int, weights=None, beta: float = 5.0):
        self.n_bins = int(n_bins)
        self.n_primitives = int(n_primitives)
        w = np.ones(n_primitives) if weights is None else np.asarray(weights, dtype=np.float64)
        self.weights = np.ascontiguousarray(w, dtype=np.float64)
        self.beta = float(beta)
        self._soft = np.zeros(self.n_bins)

    def warmup(self) -> None:
        self.combine(np.full((self.n_bins, self.n_primitives), 0.5))

    def combine(self, embedding: np.ndarray) -> np.ndarray:
        """Soft vocal posterior per bin. One primitive alone is its own mask."""
        return self.combine_into(embedding, self._soft)

    def combine_into(self, embedding: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``combine`` for any number of rows: ``embedding`` ``(rows, dims)`` C-contiguous
        into ``out`` ``(rows,)``; each row is a bin, so several frames can go at once."""
        if self.n_primitives == 1:
            out[:] = embedding[:, 0]
        else:
            cluster_mask(embedding, self.weights, self.beta, out)
        return out
