"""Causal separator with a temporal convolutional core (dilated 1-D convolutions over time).

log1p magnitude -> linear compression to ``n_features`` -> 1x1 conv to ``channels`` -> blocks of
[dilated causal conv (kernel k, dilation 2^i, left padding only) -> PReLU -> 1x1 conv] with a
residual connection -> 1x1 conv to ``hidden`` -> chimera heads. The receptive field is
1 + (k - 1) * (2^blocks - 1) frames.

Streaming state: per block, the last (k - 1) * dilation inputs of that block, one tensor
(batch, channels, (k - 1) * dilation) each. ``step`` concatenates the new input to the buffer,
convolves the window (which yields one output), and keeps the newest samples as the next buffer;
shifting by concatenation keeps the step graph free of data-dependent indexing, so it exports.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .base import CausalSeparator
from .registry import register


class _CausalBlock(nn.Module):
    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        self.pad = (kernel - 1) * dilation
        self.dilation = dilation
        self.conv = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.act = nn.PReLU(channels)
        self.out = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (batch, channels, frames) -> same shape; left padding keeps it causal."""
        y = self.conv(F.pad(x, (self.pad, 0)))
        return x + self.out(self.act(y))

    def step(self, x: torch.Tensor, buf: torch.Tensor):
        """x (batch, channels, 1), buf (batch, channels, pad) -> (y (batch, channels, 1), buf)."""
        window = torch.cat([buf, x], dim=2)
        # Only the k taps spaced by the dilation reach the one output; convolving those directly
        # (no dilation) is the same sum and avoids the slow dilated-conv path for a single output.
        taps = window[:, :, :: self.dilation]
        y = F.conv1d(taps, self.conv.weight, self.conv.bias)
        return x + self.out(self.act(y)), window[:, :, 1:]


@register
class CausalTCNSeparator(CausalSeparator):
    """Shape: forward(mag (batch, bins, frames)) -> mask (batch, bins, frames),
    embedding (batch, bins, frames, emb_dim); step(mag_frame (batch, bins), buffers) with one
    buffer (batch, channels, (kernel - 1) * 2^i) per block i.
    """

    arch_name = "CausalTCNSeparator"

    def __init__(self, n_bins: int, n_features: int = 96, channels: int = 96, hidden: int = 128,
                 blocks: int = 6, kernel: int = 3, emb_dim: int = 20, emb_rank: int = 32,
                 lookahead_frames: int = 0):
        super().__init__(n_bins, n_features, hidden, emb_dim, emb_rank, lookahead_frames)
        if int(blocks) < 1 or int(kernel) < 2 or int(channels) < 1:
            raise ValueError(f"need blocks >= 1, kernel >= 2, channels >= 1; got "
                             f"{blocks}, {kernel}, {channels}")
        self._config = dict(n_bins=int(n_bins), n_features=int(n_features),
                            channels=int(channels), hidden=int(hidden), blocks=int(blocks),
                            kernel=int(kernel), emb_dim=int(emb_dim), emb_rank=int(emb_rank),
                            lookahead_frames=int(lookahead_frames))
        self.channels = int(channels)
        self.inp = nn.Conv1d(n_features, channels, 1)
        self.blocks = nn.ModuleList(_CausalBlock(channels, kernel, 2**i) for i in range(blocks))
        self.outp = nn.Conv1d(channels, hidden, 1)

    @property
    def receptive_field(self) -> int:
        """Frames of past (including the current one) that reach an output."""
        return 1 + sum(b.pad for b in self.blocks)

    def _core_forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.inp(z.transpose(1, 2))
        for block in self.blocks:
            x = block(x)
        return torch.relu(self.outp(x)).transpose(1, 2)

    def _core_init_state(self, batch: int):
        weight = self.inp.weight
        return tuple(torch.zeros(batch, self.channels, b.pad, dtype=weight.dtype,
                                 device=weight.device) for b in self.blocks)

    def _core_step(self, z: torch.Tensor, state: tuple):
        x = self.inp(z.unsqueeze(2))
        new_state = []
        for block, buf in zip(self.blocks, state):
            x, buf = block.step(x, buf)
            new_state.append(buf)
        return torch.relu(self.outp(x))[:, :, 0], tuple(new_state)
