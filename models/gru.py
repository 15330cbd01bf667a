"""Causal separator with a unidirectional GRU core.

log1p magnitude -> linear compression of bins to ``n_features`` -> ``layers`` stacked GRU layers
(unidirectional, so frame t sees frames <= t only) -> chimera heads. The streaming state is the
GRU hidden state, one tensor (layers, batch, hidden).
"""

from __future__ import annotations

import torch
from torch import nn

from .base import CausalSeparator
from .registry import register


@register
class CausalGRUSeparator(CausalSeparator):
    """Shape: forward(mag (batch, bins, frames)) -> mask (batch, bins, frames),
    embedding (batch, bins, frames, emb_dim); step(mag_frame (batch, bins), (h,)) with
    h (layers, batch, hidden).
    """

    arch_name = "CausalGRUSeparator"

    def __init__(self, n_bins: int, n_features: int = 96, hidden: int = 128, layers: int = 2,
                 emb_dim: int = 20, emb_rank: int = 32, lookahead_frames: int = 0):
        super().__init__(n_bins, n_features, hidden, emb_dim, emb_rank, lookahead_frames)
        if int(layers) < 1:
            raise ValueError(f"layers must be a positive integer, got {layers}")
        self._config = dict(n_bins=int(n_bins), n_features=int(n_features), hidden=int(hidden),
                            layers=int(layers), emb_dim=int(emb_dim), emb_rank=int(emb_rank),
                            lookahead_frames=int(lookahead_frames))
        self.layers, self.hidden = int(layers), int(hidden)
        self.gru = nn.GRU(n_features, hidden, num_layers=layers, batch_first=True)

    def _core_forward(self, z: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(z)
        return h

    def _core_init_state(self, batch: int):
        weight = self.compress.weight
        return (torch.zeros(self.layers, batch, self.hidden, dtype=weight.dtype,
                            device=weight.device),)

    def _core_step(self, z: torch.Tensor, state: tuple):
        out, h = self.gru(z.unsqueeze(1), state[0])
        return out[:, 0], (h,)
