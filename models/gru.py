"""Causal separator with a unidirectional GRU core.

log1p magnitude -> linear compression of bins to ``n_features`` -> ``layers`` stacked GRU layers
(unidirectional, so frame t sees frames <= t only) -> chimera heads. The streaming state is the
GRU hidden state, one tensor (layers, batch, hidden).

``_core_step_cells`` is the same step written out from the GRU's own weights (PyTorch's gate
order r, z, n):

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

Two matrix-vector products and pointwise ops per layer, so a CUDA graph can capture it without
cuDNN's RNN kernel and ``torch.compile`` / ``torch.export`` (Torch-TensorRT) trace it whole,
where ``nn.GRU`` is an opaque op to them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

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

    def _core_step_cells(self, z: torch.Tensor, state: tuple):
        x, layers_out = z, []
        for k in range(self.layers):
            h = state[0][k]
            gi = F.linear(x, getattr(self.gru, f"weight_ih_l{k}"),
                          getattr(self.gru, f"bias_ih_l{k}"))
            gh = F.linear(h, getattr(self.gru, f"weight_hh_l{k}"),
                          getattr(self.gru, f"bias_hh_l{k}"))
            i_r, i_z, i_n = gi.chunk(3, dim=-1)
            h_r, h_z, h_n = gh.chunk(3, dim=-1)
            r = torch.sigmoid(i_r + h_r)
            u = torch.sigmoid(i_z + h_z)
            n = torch.tanh(i_n + r * h_n)
            x = n + u * (h - n)  # (1 - u) * n + u * h
            layers_out.append(x)
        return x, (torch.stack(layers_out),)
