"""Choosing between candidates by confidence, hop by hop (paper 004), without clicks.

Candidates are primitive clustering and every loaded model. Each reports a confidence about ten
times a second; the switcher smooths them, moves to another candidate only when it leads the
active one by ``margin`` for ``min_dwell_s`` seconds, and then crossfades the masks linearly over
``crossfade_hops`` hops. Because the crossfade happens on masks inside the overlap-added STFT,
the output changes as smoothly as the masks do.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import SWITCH_MODES
from ..errors import ConfigError


class ConfidenceSwitcher:
    """Keeps the active candidate and the per-candidate mask weights for the current hop."""

    def __init__(self, names: list[str], hop_s: float, mode: str = "confidence",
                 smoothing_s: float = 0.5, margin: float = 0.02, min_dwell_s: float = 1.0,
                 crossfade_hops: int = 8, initial: int = 0):
        if mode not in SWITCH_MODES:
            raise ConfigError(f"unknown switch mode {mode!r}; choose one of {', '.join(SWITCH_MODES)}")
        if not names:
            raise ConfigError("switching needs at least one candidate")
        self.names = list(names)
        self.mode = mode
        self.hop_s = float(hop_s)
        self.smoothing_s = float(smoothing_s)
        self.margin = float(margin)
        self.min_dwell_hops = max(0, int(round(min_dwell_s / hop_s)))
        self.crossfade_hops = max(1, int(crossfade_hops))
        self.initial = int(initial)
        self.weights = np.zeros(len(names))
        self.reset()

    def reset(self) -> None:
        n = len(self.names)
        self.smoothed = np.full(n, np.nan)
        self.active = self.initial
        self._previous = self.initial
        self._fade = self.crossfade_hops  # >= crossfade_hops means no fade in progress
        self._leader_since: int | None = None
        self._hop = 0
        self._last_obs_hop = 0
        self.switches = 0
        self.active_hops = np.zeros(len(self.names), dtype=np.int64)
        self.weights[:] = 0.0
        self.weights[self.active] = 1.0

    @property
    def active_name(self) -> str:
        return self.names[self.active]

    def observe(self, scores) -> None:
        """New confidences, one per candidate (NaN: none yet)."""
        scores = np.asarray(scores, dtype=np.float64)
        if self.mode == "off":
            return
        elapsed = max(1, self._hop - self._last_obs_hop) * self.hop_s
        self._last_obs_hop = self._hop
        keep = math.exp(-elapsed / self.smoothing_s) if self.smoothing_s > 0 else 0.0
        valid = ~np.isnan(scores)  # a candidate with no confidence yet keeps its old value
        fresh = valid & np.isnan(self.smoothed)
        seen = valid & ~fresh
        self.smoothed[fresh] = scores[fresh]
        self.smoothed[seen] = keep * self.smoothed[seen] + (1 - keep) * scores[seen]
        ranked = np.where(np.isnan(self.smoothed), -np.inf, self.smoothed)
        leader = int(np.argmax(ranked))
        if leader == self.active or ranked[leader] < ranked[self.active] + self.margin:
            self._leader_since = None
            return
        if self._leader_since is None:
            self._leader_since = self._hop
        dwelt = self._hop - self._leader_since
        if dwelt >= self.min_dwell_hops:
            self._previous, self.active = self.active, leader
            self._fade = 0
            self._leader_since = None
            self.switches += 1

    def advance(self) -> np.ndarray:
        """Move one hop on and return the mask weights for this hop (they sum to one)."""
        self._hop += 1
        self.active_hops[self.active] += 1
        self.weights[:] = 0.0
        if self._fade < self.crossfade_hops:
            self._fade += 1
            a = self._fade / self.crossfade_hops
            self.weights[self._previous] = 1.0 - a
            self.weights[self.active] += a
        else:
            self.weights[self.active] = 1.0
        return self.weights
