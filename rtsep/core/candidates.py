"""Candidates: anything that turns a magnitude frame into a vocal mask, with its own confidence.

Primitive clustering and every loaded model are candidates; the engine runs them side by side
and the switcher picks between them by confidence. Each candidate owns a streaming confidence
computed in its own embedding space (paper 004) and updates it in ``step``, so the engine only
reads ``confidence.value``. Each also times itself: ``compute_s`` (its mask) and
``confidence_s`` (its confidence update) for the latest hop, so the engine's per-stage timings
can tell primitives, models and confidence apart.

Shapes per hop: ``mag`` ``(bins,)``; ``step`` returns the vocal ``mask`` ``(bins,)`` in [0, 1];
``embedding`` is ``(bins, dims)``.
"""

from __future__ import annotations

import time

import numpy as np

from ..config import EngineConfig, StftGeometry
from ..primitives import make_primitives
from .clustering import MaskCombiner
from .confidence import StreamingConfidence


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


class Candidate:
    """What the engine needs of a candidate; subclasses implement ``_mask``."""

    name = ""
    kind = ""  # "primitives" or "model": the timing stage its compute counts towards
    lookahead_frames = 0
    confidence: StreamingConfidence

    def step(self, mag: np.ndarray) -> np.ndarray:
        """The vocal mask ``(bins,)`` of this hop; also updates the candidate's confidence."""
        t0 = time.perf_counter()
        mask, embedding = self._mask(mag)
        t1 = time.perf_counter()
        self.confidence.push(mag, embedding, mask)
        self.compute_s = t1 - t0
        self.confidence_s = time.perf_counter() - t1
        return mask

    def _mask(self, mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def warmup(self) -> None:
        self.confidence.warmup()
        self.reset()

    def reset(self) -> None:
        self.confidence.reset()
        self.compute_s = self.confidence_s = 0.0


class PrimitiveCandidate(Candidate):
    """Primitive clustering: primitive masks stacked into an embedding, Eq. 1 for the mask."""

    kind = "primitives"

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
        self.reset()

    def warmup(self) -> None:
        for p in self.primitives:
            p.warmup()
        self.combiner.warmup()
        super().warmup()

    def reset(self) -> None:
        for p in self.primitives:
            p.reset()
        super().reset()

    def _mask(self, mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for d, p in enumerate(self.primitives):
            self.embedding[:, d] = p.step(mag)
        return self.combiner.combine(self.embedding), self.embedding


class ModelCandidate(Candidate):
    """A causal separator on an inference backend (``rtsep.backends``).

    ``inputs`` (``rtsep.core.model_inputs.PrimitiveInputs``) is given for a model that reads
    the primitive masks beside the magnitude: it runs the primitives each hop and builds the
    model's input frame.
    """

    kind = "model"

    def __init__(self, name: str, backend, geometry: StftGeometry, config: EngineConfig,
                 embedding_dims: int, lookahead_frames: int = 0, inputs=None):
        self.name = name
        self.backend = backend
        self.inputs = inputs
        self.lookahead_frames = int(lookahead_frames)
        # a deep-clustering embedding is judged by its own 2-means clustering (paper 004)
        self.confidence = _confidence(geometry, embedding_dims, config, kmeans=True)
        self.reset()

    def warmup(self) -> None:
        if self.inputs is not None:
            self.inputs.warmup()
        self.backend.warmup()
        super().warmup()

    def reset(self) -> None:
        if self.inputs is not None:
            self.inputs.reset()
        self.backend.reset()
        super().reset()

    def _mask(self, mag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.backend.step(mag if self.inputs is None else self.inputs.step(mag))

    def describe_backend(self) -> dict:
        """The backend in use and how it was chosen (``Backend.describe``)."""
        return self.backend.describe()
