"""Candidates: anything that turns a magnitude frame into a vocal mask, with its own confidence.

Primitive clustering and every loaded model are candidates; the engine runs them side by side
and the switcher picks between them by confidence. Each candidate owns a streaming confidence
computed in its own embedding space (paper 004) and updates it in ``step``, so the engine only
reads ``confidence.value``. Each also times itself: ``compute_s`` (its mask) and
``confidence_s`` (its confidence update) for the latest hop, so the engine's per-stage timings
can tell primitives, models and confidence apart.

Shapes per hop: ``mag`` ``(bins,)``; ``step`` returns the vocal ``mask`` ``(bins,)`` in [0, 1];
``embedding`` is ``(bins, dims)``.

Several hops at once: ``step_many(mags (B, bins))`` returns the masks ``(B, bins)`` and keeps
the embeddings; the engine then calls ``push_confidence(b)`` for each hop ``b`` in order, so
the confidence (and the switcher that reads it) sees exactly the hop-by-hop sequence. ``step``
is ``step_many`` on one frame followed by its push: one implementation for both.
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
    """What the engine needs of a candidate; subclasses implement ``_masks``."""

    name = ""
    kind = ""  # "primitives" or "model": the timing stage its compute counts towards
    lookahead_frames = 0
    confidence: StreamingConfidence

    def __init__(self, n_bins: int, dims: int):
        self.n_bins, self.dims = int(n_bins), int(dims)
        self._capacity = 0
        self._grow(1)

    def _grow(self, frames: int) -> None:
        """Buffers for ``frames`` hops per call (allocated once per batch size, not per hop)."""
        if frames > self._capacity:
            self._capacity = frames
            self._mask_buf = np.zeros((frames, self.n_bins))
            self._emb_buf = np.zeros((frames, self.n_bins, self.dims))

    def step(self, mag: np.ndarray) -> np.ndarray:
        """The vocal mask ``(bins,)`` of this hop; also updates the candidate's confidence."""
        masks = self.step_many(mag[None])
        self.push_confidence(0)
        return masks[0]

    def step_many(self, mags: np.ndarray) -> np.ndarray:
        """Masks ``(B, bins)`` of consecutive frames ``mags`` ``(B, bins)`` (C-contiguous).

        The result and the embeddings are buffers that the next call overwrites. The
        confidence is not touched: ``push_confidence(b)`` adds hop ``b`` of this batch.
        """
        t0 = time.perf_counter()
        B = mags.shape[0]
        self._grow(B)
        self._mags = mags
        self._masks(mags, self._mask_buf[:B], self._emb_buf[:B])
        self.compute_s = time.perf_counter() - t0
        self.confidence_s = 0.0
        return self._mask_buf[:B]

    def push_confidence(self, b: int) -> None:
        """Hop ``b`` of the latest ``step_many`` into the streaming confidence."""
        t0 = time.perf_counter()
        self.confidence.push(self._mags[b], self._emb_buf[b], self._mask_buf[b])
        self.confidence_s += time.perf_counter() - t0

    def _masks(self, mags: np.ndarray, masks: np.ndarray, embeddings: np.ndarray
               ) -> None:  # pragma: no cover
        """Fill ``masks`` ``(B, bins)`` and ``embeddings`` ``(B, bins, dims)``."""
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

    def __init__(self, geometry: StftGeometry, config: EngineConfig, score=None):
        self.name = "pcl" if len(config.primitives) > 1 else config.primitives[0]
        # the score cue reads the engine's score state (``rtsep.score``), refreshed every hop
        params = {} if score is None else {"score": {"state": score.state,
                                                     **score.guidance.cue_params()}}
        self.primitives = make_primitives(config.primitives, geometry, **params)
        self.combiner = MaskCombiner(
            n_bins=geometry.n_bins,
            n_primitives=len(self.primitives),
            weights=config.primitive_weights(),
            beta=config.beta,
        )
        self._weights = self.combiner.weights.copy()
        self._presence = np.ones(len(self.primitives))
        self.confidence = _confidence(geometry, len(self.primitives), config)
        super().__init__(geometry.n_bins, len(self.primitives))
        self.reset()

    def _grow(self, frames: int) -> None:
        if frames > self._capacity:
            self._prim_buf = np.zeros((frames, self.n_bins))  # one primitive's masks
        super()._grow(frames)

    def warmup(self) -> None:
        for p in self.primitives:
            p.warmup()
        self.combiner.warmup()
        super().warmup()

    def reset(self) -> None:
        for p in self.primitives:
            p.reset()
        super().reset()

    def _masks(self, mags: np.ndarray, masks: np.ndarray, embeddings: np.ndarray) -> None:
        B = mags.shape[0]
        prim = self._prim_buf[:B]
        for d, p in enumerate(self.primitives):
            p.step_many(mags, prim)
            embeddings[:, :, d] = prim
            self._presence[d] = p.presence
        # a cue with nothing to say (a silent score) is left out of Eq. 1; with a score the
        # engine steps one frame at a time, so this is that frame's presence
        np.multiply(self._weights, self._presence, out=self.combiner.weights)
        # Eq. 1 is per bin, so B frames are one long list of bins
        self.combiner.combine_into(embeddings.reshape(B * self.n_bins, self.dims),
                                   masks.reshape(B * self.n_bins))


class ModelCandidate(Candidate):
    """A causal separator on an inference backend (``rtsep.backends``).

    ``inputs`` (``rtsep.core.model_inputs.PrimitiveInputs``) is given for a model that reads
    the primitive masks beside the magnitude: it runs the primitives each hop and builds the
    model's input frame.
    """

    kind = "model"

    def __init__(self, name: str, backend, geometry: StftGeometry, config: EngineConfig,
                 embedding_dims: int, lookahead_frames: int = 0, score=None, inputs=None):
        self.name = name
        self.backend = backend
        # The engine's score input (``rtsep.score.ScoreInput``) or None. Its ``state`` holds the
        # sounding notes as f0s, refreshed before each hop; a score-informed model reads them
        # (``rtsep.primitives.comb.harmonic_mask`` turns them into the engine's comb mask).
        self.score = score
        self.inputs = inputs
        self.lookahead_frames = int(lookahead_frames)
        # a deep-clustering embedding is judged by its own 2-means clustering (paper 004)
        self.confidence = _confidence(geometry, embedding_dims, config, kmeans=True)
        super().__init__(geometry.n_bins, embedding_dims)
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

    def _masks(self, mags: np.ndarray, masks: np.ndarray, embeddings: np.ndarray) -> None:
        # a recurrent model's state moves one frame per call: no batching across hops here
        inputs = self.inputs
        for b in range(mags.shape[0]):
            masks[b], embeddings[b] = self.backend.step(
                mags[b] if inputs is None else inputs.step(mags[b]))

    def describe_backend(self) -> dict:
        """The backend in use and how it was chosen (``Backend.describe``)."""
        return self.backend.describe()
