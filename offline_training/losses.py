"""Losses of supervised chimera training: ideal-ratio-mask regression and weighted deep
clustering on the embeddings.

Shapes (channels-first, as the models return them):
    mask, target (batch, bins, frames); embedding (batch, bins, frames, emb_dim);
    weights (batch, bins, frames) >= 0.
"""

from __future__ import annotations

import torch


def magnitude_weights(mag: torch.Tensor, power: float = 0.5) -> torch.Tensor:
    """|X|^power normalised to mean 1 per example: loud bins count more, silence hardly at all.

    The confidence measure looks at the loudest bins, so the embedding must be good there first.
    """
    w = mag.clamp_min(0.0) ** power
    return w / w.mean(dim=(1, 2), keepdim=True).clamp_min(1e-8)


def mask_loss(mask: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean squared error between the predicted mask and the ideal ratio mask."""
    return (weights * (mask - target) ** 2).sum() / weights.sum().clamp_min(1e-8)


def deep_clustering_loss(embedding: torch.Tensor, labels: torch.Tensor,
                         weights: torch.Tensor) -> torch.Tensor:
    """Weighted deep clustering loss ||W^1/2 (V V^T - Y Y^T) W^1/2||_F^2 / (sum W)^2 per example.

    V are the unit-norm embeddings of all time-frequency bins, Y their one-hot labels (which
    source dominates the bin), W the bin weights. Expanded as
    ||V^T W V||^2 - 2 ||V^T W Y||^2 + ||Y^T W Y||^2 so memory stays linear in the number of bins.

    Shapes: embedding (batch, bins, frames, D), labels (batch, bins, frames) integer class ids
    (0 = accompaniment, 1 = vocals), weights (batch, bins, frames). Returns the batch mean.
    """
    batch = embedding.shape[0]
    v = embedding.reshape(batch, -1, embedding.shape[-1])
    y = torch.nn.functional.one_hot(labels.reshape(batch, -1).long(), 2).to(v.dtype)
    w = weights.reshape(batch, -1, 1)
    vw = v * w
    vtv = torch.bmm(vw.transpose(1, 2), v)
    vty = torch.bmm(vw.transpose(1, 2), y)
    yty = torch.bmm((y * w).transpose(1, 2), y)
    total = (vtv ** 2).sum((1, 2)) - 2 * (vty ** 2).sum((1, 2)) + (yty ** 2).sum((1, 2))
    return (total / w.sum((1, 2)).clamp_min(1e-8) ** 2).mean()


def deep_clustering_loss_reference(embedding, labels, weights) -> torch.Tensor:
    """The same loss from the explicit (bins*frames)^2 affinity matrices; for tests only."""
    losses = []
    for e, l, w in zip(embedding, labels, weights):
        v = e.reshape(-1, e.shape[-1])
        y = torch.nn.functional.one_hot(l.reshape(-1).long(), 2).to(v.dtype)
        ww = w.reshape(-1)
        diff = v @ v.T - y @ y.T
        losses.append((ww[:, None] * diff ** 2 * ww[None, :]).sum() / ww.sum() ** 2)
    return torch.stack(losses).mean()
