"""Primitive clustering, paper 000 Eq. 1: soft assignment to fixed centres 0 and 1.

Shapes: ``embedding`` ``(bins, D)`` holds one soft primitive mask per column (values in
[0, 1], 1 = vocals); ``weights`` ``(D,)`` scale each dimension's squared difference in the
Euclidean distance; the output is the vocal posterior ``(bins,)``.

With ``d0``/``d1`` the distances to the all-0 (accompaniment) and all-1 (vocals) centres,
``p1 = exp(-beta d1) / (exp(-beta d0) + exp(-beta d1)) = 1 / (1 + exp(-beta (d0 - d1)))``;
the logistic form never overflows because the exponent is made non-positive first.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit


@jit
def _cluster_mask(embedding, weights, beta, out):
    n_bins, n_dims = embedding.shape
    for f in range(n_bins):
        s0 = 0.0
        s1 = 0.0
        for j in range(n_dims):
            e = embedding[f, j]
            w = weights[j]
            s0 += w * e * e
            s1 += w * (e - 1.0) * (e - 1.0)
        z = beta * (math.sqrt(s0) - math.sqrt(s1))
        if z >= 0.0:
            out[f] = 1.0 / (1.0 + math.exp(-z))
        else:
            ez = math.exp(z)
            out[f] = ez / (1.0 + ez)


def cluster_mask(embedding: np.ndarray, weights: np.ndarray, beta: float, out: np.ndarray) -> None:
    """Fill ``out`` ``(bins,)`` with the vocal posterior of each row of ``embedding``."""
    if embedding.dtype != np.float64 or embedding.ndim != 2 or not embedding.flags.c_contiguous:
        raise ValueError("embedding must be a C-contiguous float64 array of shape (bins, D)")
    if weights.dtype != np.float64 or weights.shape != (embedding.shape[1],):
        raise ValueError(f"weights must be float64 of shape ({embedding.shape[1]},)")
    if out.dtype != np.float64 or out.shape != (embedding.shape[0],):
        raise ValueError(f"out must be float64 of shape ({embedding.shape[0]},)")
    _cluster_mask(embedding, weights, float(beta), out)


def cluster_mask_ref(embedding: np.ndarray, weights: np.ndarray, beta: float) -> np.ndarray:
    """Numpy twin of :func:`cluster_mask`; returns the posterior ``(bins,)``."""
    e = np.asarray(embedding, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    d0 = np.sqrt((w * e**2).sum(axis=1))
    d1 = np.sqrt((w * (e - 1.0) ** 2).sum(axis=1))
    # softmax over the two negated, scaled distances, shifted by the max for stability
    a0, a1 = -beta * d0, -beta * d1
    m = np.maximum(a0, a1)
    e0, e1 = np.exp(a0 - m), np.exp(a1 - m)
    return e1 / (e0 + e1)
