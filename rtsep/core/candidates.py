"""Candidates: anything that turns a magnitude frame into a vocal mask and an embedding.

Primitive clustering and every loaded model are candidates; the engine runs them side by side
and the switcher picks between them by confidence. Each candidate owns a streaming confidence
computed in its own embedding space (paper 004).

Shapes per hop: ``mag`` ``(bins,)``; ``step`` returns ``mask`` ``(bins,)`` in [0, 1] and
``embedding`` ``(bins, dims)``.
"""

from __future__ import annotations

import numpy as np

from ..config import EngineConfig, StftGeometry
from .confidence import StreamingConfidence
from .clustering import MaskCombiner
from ..primitives import make_primitives


def _confidence(geometry: StftGeometry, dims: int, config: EngineConfig,
                kmeans: bool = False) -> StreamingConfidence:
    return StreamingConfidence(
        geometry=geometry,
        n_dims=dims,
        rate_hz=config.confidence_rate_hz,
        n_points=config.confidence_points,
        window_s=config.confidence_window_s,
        kmeans=kmeans,
    )


class PrimitiveCandidate:
    """Primitive clustering: primitive masks stacked into an embedding, Eq. 1 for the mask."""

    lookahead_frames = 0

    def __init__(self, geometry: StftGeometry, config: EngineConfig):
        self.name = "pcl" if len(config.primitives) > 1 else config.primitives[0]
        self.primitives = make_primitives(config.primitives, geometry)
        self.combiner = MaskCombiner(
            n_bins=geometry.n_bins,
            n_primitives=len(self.primitives),
            weights=config.primitive_weights(),
            beta=config.beta,
        )
        self.embedding = np.zeros((geometry.n_bins, len(self.primitives)))
        self.confidence = _confidence(geometry, len(self.primitives), config)

    def warmup(self) -> None:
        for p in self.primitives:
            p.warmup()
        self.combiner.warmup()
        self.confidence.warmup()
        self.reset()

    def reset(self) -> None:
        for p in self.primitives:
            p.reset()
        self.confidence.reset()

    def step(self, mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for d, p in enumerate(self.primitives):
            self.embedding[:, d] = p.step(mag)
        return self.combiner.combine(self.embedding), self.embedding


class ModelCandidate:
    """A causal separator on an inference backend (``rtsep.backends``)."""

    def __init__(self, name: str, backend, geometry: StftGeometry, config: EngineConfig,
                 embedding_dims: int, lookahead_frames: int = 0):
        self.name = name
        self.backend = backend
        self.lookahead_frames = int(lookahead_frames)
        # a deep-clustering embedding is judged by its own 2-means clustering (paper 004)
        self.confidence = _confidence(geometry, embedding_dims, config, kmeans=True)

    def warmup(self) -> None:
        self.backend.warmup()
        self.confidence.warmup()
        self.reset()

    def reset(self) -> None:
        self.backend.reset()
        self.confidence.reset()

    def step(self, mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask, embedding = self.backend.step(mag)
        return mask, embedding
