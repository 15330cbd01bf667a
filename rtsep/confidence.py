"""Streaming confidence: silhouette times posterior strength (paper 000 §3.1, paper 004).

Every ``1/rate_hz`` seconds the recent window of frames is examined: the loudest 1 % of its
time-frequency bins are found, up to ``n_points`` of them are drawn (with a fixed seed, so runs
repeat), and the confidence is the mean silhouette of those points in the candidate's embedding
space (hard assignment = the nearer centre) times their mean posterior strength.
"""

from __future__ import annotations

import math

import numpy as np

from kernels.confidence import posterior_strength, silhouette

from .config import StftGeometry

LOUDEST_FRACTION = 0.01


class StreamingConfidence:
    """Keeps a ring of recent frames and updates ``value`` about ``rate_hz`` times a second.

    Shapes pushed per hop: ``mag`` ``(bins,)``, ``embedding`` ``(bins, dims)``, ``posterior``
    ``(bins,)`` (the vocal soft mask).
    """

    def __init__(self, geometry: StftGeometry, n_dims: int, rate_hz: float = 10.0,
                 n_points: int = 1000, window_s: float = 1.0, seed: int = 0):
        hops_per_s = geometry.sr / geometry.hop
        self.every = max(1, int(round(hops_per_s / rate_hz)))
        self.window = max(2, int(math.ceil(window_s * hops_per_s)))
        self.n_points = int(n_points)
        self.seed = seed
        F = geometry.n_bins
        self._mag = np.zeros((self.window, F))
        self._emb = np.zeros((self.window, F, n_dims))
        self._post = np.zeros((self.window, F))
        self.reset()

    def reset(self) -> None:
        self._mag.fill(0.0)
        self._emb.fill(0.0)
        self._post.fill(0.0)
        self._pos = 0
        self._count = 0
        self._rng = np.random.default_rng(self.seed)
        self.value = float("nan")
        self.silhouette = float("nan")
        self.posterior_strength = float("nan")
        self.updates = 0

    def warmup(self) -> None:
        pts = np.random.default_rng(1).random((16, self._emb.shape[2]))
        silhouette(pts, (pts[:, 0] > 0.5).astype(np.int64))
        posterior_strength(pts[:, 0].copy())

    def push(self, mag: np.ndarray, embedding: np.ndarray, posterior: np.ndarray) -> None:
        i = self._pos
        self._mag[i] = mag
        self._emb[i] = embedding
        self._post[i] = posterior
        self._pos = (i + 1) % self.window
        self._count += 1
        if self._count % self.every == 0:
            self.update()

    def update(self) -> float:
        """Recompute the confidence from the frames in the window."""
        filled = min(self._count, self.window)
        mag = self._mag[:filled].reshape(-1)
        if filled == 0 or not np.any(mag > 0):
            return self.value
        n_loud = max(2, int(math.ceil(LOUDEST_FRACTION * mag.size)))
        loud = np.argpartition(mag, mag.size - n_loud)[mag.size - n_loud :]
        if loud.size > self.n_points:
            loud = self._rng.choice(loud, size=self.n_points, replace=False)
        emb = self._emb[:filled].reshape(-1, self._emb.shape[2])[loud]
        post = np.ascontiguousarray(self._post[:filled].reshape(-1)[loud])
        labels = (post > 0.5).astype(np.int64)
        self.silhouette = float(silhouette(np.ascontiguousarray(emb), labels))
        self.posterior_strength = float(posterior_strength(post))
        self.value = self.silhouette * self.posterior_strength
        self.updates += 1
        return self.value
