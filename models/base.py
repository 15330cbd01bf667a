"""What every causal separator shares: the input front end, the chimera heads, look-ahead.

A separator reads magnitude frames and returns, per frame, a vocal mask (bins,) in [0, 1] and a
unit-norm embedding per bin (bins, emb_dim): the "chimera" arrangement of a mask-inference head
beside a deep-clustering head (papers 000 and 004), so the confidence measure (silhouette x
posterior strength) can be computed for every model in its own embedding space.

Subclasses implement the causal core on feature frames:

- ``_core_forward(z (batch, frames, features)) -> h (batch, frames, hidden)``
- ``_core_init_state(batch) -> tuple of tensors``
- ``_core_step(z (batch, features), state) -> (h (batch, hidden), new_state)``
- optionally ``_core_step_cells(z, state)``: the same step written with plain matrix products
  and pointwise ops only (no fused recurrent kernel such as cuDNN's RNN), for graph capture and
  graph compilers (``models.export``); the default is ``_core_step`` itself.

Look-ahead: with ``lookahead_frames = L`` the mask for frame t may use frames up to t + L. The core
stays causal; its output at frame t is read as the result for frame t - L. So ``step`` called with
frame t returns the mask and embedding of frame t - L (the first L calls return results for
frames before the stream began, which the caller discards), and the engine must delay the spectrum
it masks by L frames: L * hop samples are added to ``latency_samples``.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ChimeraHeads(nn.Module):
    """Mask head and embedding head from a hidden vector.

    The embedding head is factored through ``emb_rank`` bands so its cost per frame is
    rank * (hidden * emb_dim + bins * emb_dim) instead of hidden * bins * emb_dim; a per-bin bias
    gives every bin its own offset in the embedding space.

    Shape: h (..., hidden) -> mask (..., bins), embedding (..., bins, emb_dim), unit norm.
    """

    def __init__(self, hidden: int, n_bins: int, emb_dim: int, emb_rank: int):
        super().__init__()
        self.n_bins, self.emb_dim, self.emb_rank = n_bins, emb_dim, emb_rank
        self.mask = nn.Linear(hidden, n_bins)
        self.emb_low = nn.Linear(hidden, emb_rank * emb_dim)
        self.emb_expand = nn.Parameter(torch.randn(n_bins, emb_rank) / emb_rank**0.5)
        self.emb_bias = nn.Parameter(0.1 * torch.randn(n_bins, emb_dim))

    def mask_only(self, h: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.mask(h))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.sigmoid(self.mask(h))
        low = self.emb_low(h).unflatten(-1, (self.emb_rank, self.emb_dim))
        emb = torch.matmul(self.emb_expand, low) + self.emb_bias
        return mask, F.normalize(emb, dim=-1, eps=1e-8)


class CausalSeparator(nn.Module):
    """Base class: log-magnitude front end, frequency compression, causal core, chimera heads.

    Args:
        n_bins: STFT bins (n_fft // 2 + 1); the only link to the sample rate.
        n_features: width of the compressed spectrum fed to the core.
        hidden: width of the core's output.
        emb_dim: embedding dimension per time-frequency bin.
        emb_rank: bands of the factored embedding head.
        lookahead_frames: frames of look-ahead L (see module docstring).
    """

    arch_name = "CausalSeparator"

    def __init__(self, n_bins: int, n_features: int, hidden: int, emb_dim: int,
                 emb_rank: int, lookahead_frames: int = 0):
        super().__init__()
        for key, value in (("n_bins", n_bins), ("n_features", n_features), ("hidden", hidden),
                           ("emb_dim", emb_dim), ("emb_rank", emb_rank)):
            if int(value) < 1:
                raise ValueError(f"{key} must be a positive integer, got {value}")
        if int(lookahead_frames) < 0:
            raise ValueError(f"lookahead_frames must be >= 0, got {lookahead_frames}")
        self.n_bins, self.emb_dim = int(n_bins), int(emb_dim)
        self.lookahead_frames = int(lookahead_frames)
        # A learned projection of bins to features (initialised like a band-averaging filter bank
        # would be, by the default init); the front end has no time statistics, so it streams.
        self.compress = nn.Linear(n_bins, n_features)
        self.heads = ChimeraHeads(hidden, n_bins, emb_dim, emb_rank)

    @property
    def config(self) -> dict:
        """Constructor arguments, JSON-serialisable; ``type(self)(**config)`` rebuilds it."""
        return dict(self._config)

    def _features(self, mag: torch.Tensor) -> torch.Tensor:
        # log1p compresses the dynamic range and is finite at 0 (silence).
        return self.compress(torch.log1p(mag.clamp_min(0.0)))

    def forward(self, mag: torch.Tensor, embedding_frames: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole sequence at once.

        Shape: mag (batch, bins, frames) -> mask (batch, bins, frames),
        embedding (batch, bins, frames, emb_dim). With ``embedding_frames`` (1-D integer
        tensor of frame indices) the embedding is computed for those frames only,
        (batch, bins, len(embedding_frames), emb_dim): training uses it because the
        embeddings of every frame are the largest tensor of a training step.
        """
        self._check_bins(mag.shape[1])
        if self.lookahead_frames:
            mag = F.pad(mag, (0, self.lookahead_frames))
        h = self._core_forward(self._features(mag.transpose(1, 2)))
        h = h[:, self.lookahead_frames:]
        if embedding_frames is None:
            mask, emb = self.heads(h)
        else:
            mask = self.heads.mask_only(h)
            _, emb = self.heads(h[:, embedding_frames])
        return mask.transpose(1, 2), emb.transpose(1, 2)

    def init_state(self, batch: int = 1) -> tuple[torch.Tensor, ...]:
        """Zero state before the first frame (as tensors, so the step graph can be exported)."""
        return tuple(self._core_init_state(batch))

    def step(self, mag_frame: torch.Tensor, state: tuple[torch.Tensor, ...], *,
             explicit_cells: bool = False):
        """One frame.

        Shape: mag_frame (batch, bins) -> mask (batch, bins), embedding (batch, bins, emb_dim),
        new_state. With look-ahead L the outputs belong to the frame L calls earlier.
        ``explicit_cells=True`` computes the same step from plain matrix products (see
        ``_core_step_cells``); results agree to float rounding.
        """
        self._check_bins(mag_frame.shape[1])
        core = self._core_step_cells if explicit_cells else self._core_step
        h, new_state = core(self._features(mag_frame), tuple(state))
        mask, emb = self.heads(h)
        return mask, emb, tuple(new_state)

    def _check_bins(self, n: int) -> None:
        if n != self.n_bins:
            raise ValueError(f"{type(self).__name__} expects {self.n_bins} bins, got {n}")

    # --- implemented by subclasses -------------------------------------------------------
    def _core_forward(self, z: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _core_init_state(self, batch: int):
        raise NotImplementedError

    def _core_step(self, z: torch.Tensor, state: tuple):
        raise NotImplementedError

    def _core_step_cells(self, z: torch.Tensor, state: tuple):
        return self._core_step(z, state)
