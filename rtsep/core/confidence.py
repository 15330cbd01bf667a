"""Streaming confidence: silhouette times posterior strength (paper 000 §3.1, paper 004).

About ``rate_hz`` times a second the recent window of frames is examined: the loudest 1 % of
its time-frequency bins are found, up to ``n_points`` of them are drawn (with a fixed seed, so
runs repeat), and the confidence is the mean silhouette of those points in the candidate's
embedding space (hard assignment = the nearer centre, i.e. posterior > 0.5) times the mean
posterior strength of the loudest bins.

Two choices keep this inside a hop's budget:

- primitive clustering assigns each point to the nearer fixed centre (paper 000); a model's
  points are assigned by 2-means in its embedding space (``kmeans=True``, paper 004);
- each frame keeps only its loudest ``KEEP_FRACTION`` of bins, so the window's loudest 1 % is
  chosen from a small pool (exact unless one frame holds more than that share of the window's
  loudest bins, as a hard transient can; then the loudest stored bins stand in);
- the silhouette's O(n^2) pair loop is spread over the hops until the next update, so the
  value published lags the window by one update period (0.1 s at 10 Hz) and no hop pays for
  the whole loop. The schedule depends only on the hop count, so results are deterministic.
"""

from __future__ import annotations

import math

import numpy as np

from kernels.confidence import (
    posterior_strength,
    silhouette_from_sums,
    silhouette_pairs,
    two_means,
)

from ..config import StftGeometry

LOUDEST_FRACTION = 0.01
KEEP_FRACTION = 0.05


def hops_per_update(geometry: StftGeometry, rate_hz: float) -> int:
    """Hops between two confidence updates at ``rate_hz`` updates a second (at least one).

    The engine asks the switcher to compare candidates on the same schedule.
    """
    return max(1, int(round(geometry.sr / geometry.hop / rate_hz)))


class StreamingConfidence:
    """Keeps the loudest bins of recent frames; ``value`` is refreshed ``rate_hz`` times a second.

    Shapes pushed per hop: ``mag`` ``(bins,)``, ``embedding`` ``(bins, dims)``, ``posterior``
    ``(bins,)`` (the vocal soft mask).
    """

    def __init__(self, geometry: StftGeometry, n_dims: int, rate_hz: float = 10.0,
                 n_points: int = 1000, window_s: float = 1.0, seed: int = 0,
                 kmeans: bool = False):
        hops_per_s = geometry.sr / geometry.hop
        self.every = hops_per_update(geometry, rate_hz)
        self.window = max(2, int(math.ceil(window_s * hops_per_s)))
        self.n_points = int(n_points)
        self.seed = seed
        self.kmeans = bool(kmeans)
        F = geometry.n_bins
        self.n_bins = F
        self.keep = max(4, int(math.ceil(KEEP_FRACTION * F)))
        self.n_dims = int(n_dims)
        self._mag = np.zeros((self.window, self.keep))
        self._emb = np.zeros((self.window, self.keep, self.n_dims))
        self._post = np.zeros((self.window, self.keep))
        self.reset()

    def reset(self) -> None:
        self._mag.fill(0.0)
        self._emb.fill(0.0)
        self._post.fill(0.0)
        self._pos = 0
        self._count = 0
        self._rng = np.random.default_rng(self.seed)
        self._job = None  # silhouette in progress: (points, labels, sums, bounds, step, strength)
        self.value = float("nan")
        self.silhouette = float("nan")
        self.posterior_strength = float("nan")
        self.updates = 0

    def warmup(self) -> None:
        pts = np.random.default_rng(1).random((16, self.n_dims))
        labels = (pts[:, 0] > 0.5).astype(np.int64)
        sums = np.zeros((16, 2))
        silhouette_pairs(pts, labels, sums, 0, 16)
        silhouette_from_sums(sums, labels)
        posterior_strength(pts[:, 0].copy())
        two_means(pts, labels)

    def push(self, mag: np.ndarray, embedding: np.ndarray, posterior: np.ndarray) -> None:
        i = self._pos
        top = np.argpartition(mag, self.n_bins - self.keep)[self.n_bins - self.keep :]
        self._mag[i] = mag[top]
        self._emb[i] = embedding[top]
        self._post[i] = posterior[top]
        self._pos = (i + 1) % self.window
        self._count += 1
        if self._job is not None:
            self._work()
        if self._count % self.every == 0:
            self._start()
            if self.every == 1:
                self._finish_now()

    # -- the silhouette, a slice per hop ------------------------------------------------------
    def _start(self) -> None:
        filled = min(self._count, self.window)
        mag = self._mag[:filled].reshape(-1)
        if filled == 0 or not np.any(mag > 0):
            self._job = None
            return
        n_loud = max(2, int(math.ceil(LOUDEST_FRACTION * filled * self.n_bins)))
        n_loud = min(n_loud, mag.size)
        loud = np.argpartition(mag, mag.size - n_loud)[mag.size - n_loud :]
        post_all = self._post[:filled].reshape(-1)
        strength = posterior_strength(np.ascontiguousarray(post_all[loud]))
        if loud.size > self.n_points:
            loud = self._rng.choice(loud, size=self.n_points, replace=False)
        points = np.ascontiguousarray(self._emb[:filled].reshape(-1, self.n_dims)[loud])
        labels = (post_all[loud] > 0.5).astype(np.int64)
        if self.kmeans:
            labels = two_means(points, labels)
        n = points.shape[0]
        # row boundaries with about equal pair counts per slice (row i holds n-1-i pairs)
        slices = max(1, self.every - 1)
        pairs_before = np.arange(n + 1) * n - np.arange(n + 1) * (np.arange(n + 1) + 1) // 2
        targets = np.linspace(0, pairs_before[-1], slices + 1)
        bounds = np.searchsorted(pairs_before, targets)
        bounds[0], bounds[-1] = 0, n
        self._job = [points, labels, np.zeros((n, 2)), bounds, 0, strength]

    def _work(self) -> None:
        points, labels, sums, bounds, step, strength = self._job
        if step < len(bounds) - 1:
            silhouette_pairs(points, labels, sums, bounds[step], bounds[step + 1])
            self._job[4] = step + 1
        if self._job[4] >= len(bounds) - 1:
            self._publish()

    def _finish_now(self) -> None:
        while self._job is not None:
            self._work()

    def _publish(self) -> None:
        points, labels, sums, _, _, strength = self._job
        self._job = None
        self.silhouette = silhouette_from_sums(sums, labels)
        self.posterior_strength = float(strength)
        self.value = self.silhouette * self.posterior_strength
        self.updates += 1
