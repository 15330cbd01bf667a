"""Inputs a model may read beside the magnitude: the primitive masks of the same hop.

A model whose file names ``input_primitives`` (``models.refiner``) is fed, each hop, the
engine's magnitude followed by those primitives' masks on the first ``primitive_bins`` bins.
The primitives are the engine's own causal objects (``rtsep.primitives.make_primitives``, the
same numba kernels primitive clustering runs), stepped once per hop. Training computes the same
features with ``primitive_frames``, which steps the very same objects over a spectrogram, so
what a model learns from is what the engine gives it (a test compares the two on a clip).

Shapes: ``mag`` ``(bins,)`` per hop or ``(bins, frames)`` offline; the input frame is
``(bins + len(names) * primitive_bins,)``.
"""

from __future__ import annotations

import numpy as np

from ..config import StftGeometry
from ..primitives import make_primitives


class PrimitiveInputs:
    """Builds a model's input frame from one hop's magnitude (preallocated, no allocation)."""

    def __init__(self, names, primitive_bins: int, geometry: StftGeometry):
        self.names = tuple(names)
        self.primitive_bins = int(primitive_bins)
        self.n_bins = geometry.n_bins
        self.primitives = make_primitives(self.names, geometry)
        self.frame = np.zeros(self.n_bins + len(self.names) * self.primitive_bins)
        self._mag = np.zeros(self.n_bins)

    def warmup(self) -> None:
        for p in self.primitives:
            p.warmup()
        self.reset()

    def reset(self) -> None:
        for p in self.primitives:
            p.reset()

    def step(self, mag: np.ndarray) -> np.ndarray:
        """The input frame for ``mag`` ``(bins,)``; a buffer reused by the next call."""
        np.copyto(self._mag, mag)  # primitives take float64 of exactly (bins,)
        self.frame[:self.n_bins] = self._mag
        p_bins, pos = self.primitive_bins, self.n_bins
        for p in self.primitives:
            self.frame[pos:pos + p_bins] = p.step(self._mag)[:p_bins]
            pos += p_bins
        return self.frame


def primitive_frames(mag: np.ndarray, geometry: StftGeometry, names, primitive_bins: int
                     ) -> np.ndarray:
    """Causal primitive masks of a whole spectrogram, from silence before its first frame.

    ``mag`` ``(bins, frames)`` (the engine's magnitude) -> ``(len(names), primitive_bins,
    frames)`` float32: frame ``t`` equals what ``PrimitiveInputs.step`` gives the model at hop
    ``t`` of a stream that starts with this spectrogram.
    """
    inputs = PrimitiveInputs(names, primitive_bins, geometry)
    n = geometry.n_bins
    out = np.zeros((len(inputs.names), inputs.primitive_bins, mag.shape[1]), dtype=np.float32)
    column = np.zeros(n)
    for t in range(mag.shape[1]):
        column[:] = mag[:, t]
        frame = inputs.step(column)
        out[:, :, t] = frame[n:].reshape(len(inputs.names), inputs.primitive_bins)
    return out
