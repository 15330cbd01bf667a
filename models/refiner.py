"""A causal separator that refines primitive clustering: the engine's primitive masks are inputs.

The engine computes REPET-SIM, HPSS and pitch masks for every frame anyway (``rtsep.primitives``).
This model reads them beside the magnitude and learns where to trust which, per bin and in
context, instead of the fixed Eq. 1 of primitive clustering. With no primitives it is a plain
band-split separator with the same head (the ablation).

Input frame (``n_inputs`` values): the engine's magnitude ``(n_bins,)`` followed by each of the
``input_primitives`` masks on its first ``primitive_bins`` bins (the pitch cue's comb stops at
8 kHz; above that the model has the magnitude and its context only).

Primitive clustering (paper 000, Eq. 1) with centres 0 and 1 is a logistic function of a
weighted sum of the masks: posterior = sigmoid(beta sum_d w_d (2 m_d - 1)). This model keeps
that form and lets the weights depend on frequency and on context:

1. band features: a fixed triangular filter bank (``n_bands`` bands on a warped frequency
   axis) averages log1p(magnitude) and every primitive mask -> linear -> ``n_features``;
2. a unidirectional GRU (``layers`` x ``hidden``): the only memory, so the model is causal;
3. mask logit per bin = s[bin] x (primitive clustering's own logit, Eq. 1 with the engine's
   weights and beta: the model starts as primitive clustering, s = 1 and all else 0)
   + a direct term from the GRU state (linear, hidden -> bins)
   + sum_d (w_d[bin] + c_d[bin, t]) m_d[bin], where the context weights c come from the GRU
   state through ``ctx_rank`` learned spectral shapes (a rank x bins matrix), + per-bin weights
   of log1p(magnitude) and of its contrast to the band level, + a per-bin bias;
4. an embedding per bin for the engine's confidence (deep-clustering head): a factored
   projection of the GRU state (``emb_rank`` shapes, as in ``models.base.ChimeraHeads``) plus
   a linear map of the bin's masks and logit, normalised.

Every per-bin term is either a small matrix product (BLAS) or a few element-wise operations
over (bins, primitives), so a training step costs about as much per second of audio as the
plain GRU's.

Shapes: forward(x (batch, n_inputs, frames)) -> mask (batch, n_bins, frames), embedding
(batch, n_bins, frames, emb_dim); step(x (batch, n_inputs), (h,)) with h (layers, batch, hidden).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .registry import register


def band_matrix(n_bins: int, n_bands: int, knee_bins: float = 10.0) -> torch.Tensor:
    """Triangular bands ``(n_bands, n_bins)``, each row summing to 1, centres equally spaced
    on log(1 + bin / knee) (linear below ~``knee_bins``, logarithmic above, like mel)."""
    warp = torch.log1p(torch.arange(n_bins, dtype=torch.float64) / knee_bins)
    centres = torch.linspace(0.0, float(warp[-1]), n_bands + 2, dtype=torch.float64)
    lo, mid, hi = centres[:-2, None], centres[1:-1, None], centres[2:, None]
    up = (warp[None] - lo) / (mid - lo)
    down = (hi - warp[None]) / (hi - mid)
    tri = torch.clamp(torch.minimum(up, down), min=0.0)
    # every band gets at least its nearest bin, so narrow low bands are never empty
    nearest = torch.argmin((warp[None] - mid).abs(), dim=1)
    tri[torch.arange(n_bands), nearest] = torch.clamp(tri[torch.arange(n_bands), nearest],
                                                      min=1.0)
    return (tri / tri.sum(dim=1, keepdim=True)).float()


@register
class CausalRefinerSeparator(nn.Module):
    arch_name = "CausalRefinerSeparator"

    def __init__(self, n_bins: int, input_primitives=("repet", "hpss", "pitch"),
                 primitive_bins: int = 372, n_bands: int = 48, n_features: int = 64,
                 hidden: int = 128, layers: int = 2, ctx_rank: int = 16, emb_rank: int = 16,
                 emb_dim: int = 8, pcl_weights=None, pcl_beta: float = 5.0,
                 lookahead_frames: int = 0, local_channels: int = 0, local_kernel: int = 5,
                 local_ctx: int = 4, local_bins: int | None = None):
        super().__init__()
        prims = tuple(str(p) for p in (input_primitives or ()))
        for key, value in (("n_bins", n_bins), ("n_features", n_features), ("hidden", hidden),
                           ("layers", layers), ("ctx_rank", ctx_rank), ("emb_rank", emb_rank),
                           ("emb_dim", emb_dim)):
            if int(value) < 1:
                raise ValueError(f"{key} must be a positive integer, got {value}")
        if int(n_bands) < 2:
            raise ValueError(f"n_bands must be at least 2, got {n_bands}")
        if int(lookahead_frames) != 0:
            raise ValueError("CausalRefinerSeparator has no look-ahead (lookahead_frames 0)")
        if int(local_channels) < 0 or int(local_ctx) < 0:
            raise ValueError("local_channels and local_ctx must be >= 0")
        if int(local_channels) and (int(local_kernel) < 1 or int(local_kernel) % 2 == 0):
            raise ValueError(f"local_kernel must be a positive odd number, got {local_kernel}")
        if prims and not 1 <= int(primitive_bins) <= int(n_bins):
            raise ValueError(f"primitive_bins must lie in 1..{n_bins}, got {primitive_bins}")
        self._config = dict(n_bins=int(n_bins), input_primitives=list(prims),
                            primitive_bins=int(primitive_bins) if prims else 0,
                            n_bands=int(n_bands), n_features=int(n_features),
                            hidden=int(hidden), layers=int(layers), ctx_rank=int(ctx_rank),
                            emb_rank=int(emb_rank), emb_dim=int(emb_dim),
                            pcl_weights=None if pcl_weights is None or not prims
                            else [float(w) for w in pcl_weights],
                            pcl_beta=float(pcl_beta), lookahead_frames=0)
        if int(local_channels):  # older files have no such keys: they load as before
            # by default the branch covers the bins the primitives cover (where the voice is)
            local_bins = int(local_bins or self._config["primitive_bins"] or n_bins)
            if not 1 <= local_bins <= int(n_bins):
                raise ValueError(f"local_bins must lie in 1..{n_bins}, got {local_bins}")
            self._config.update(local_channels=int(local_channels),
                                local_kernel=int(local_kernel), local_ctx=int(local_ctx),
                                local_bins=local_bins)
        if self._config["pcl_weights"] is not None and len(pcl_weights) != len(prims):
            raise ValueError(f"{len(pcl_weights)} pcl_weights for {len(prims)} primitives")
        self.n_bins, self.emb_dim, self.lookahead_frames = int(n_bins), int(emb_dim), 0
        self.input_primitives = prims
        self.primitive_bins = self._config["primitive_bins"]
        self.n_prims = len(prims)
        self.n_inputs = self.n_bins + self.n_prims * self.primitive_bins
        self.layers, self.hidden = int(layers), int(hidden)
        self.ctx_rank, self.emb_rank = int(ctx_rank), int(emb_rank)
        bands = band_matrix(self.n_bins, int(n_bands))
        self.register_buffer("bands_t", bands.t().contiguous(), persistent=False)
        self.register_buffer("prim_bands_t", bands[:, :self.primitive_bins].t().contiguous(),
                             persistent=False)
        # band level -> bins: linear interpolation between band centres, as a matrix
        self.register_buffer("spread", interpolation_matrix(self.n_bins, int(n_bands)),
                             persistent=False)
        self.inp = nn.Linear(int(n_bands) * (1 + self.n_prims), int(n_features))
        self.gru = nn.GRU(int(n_features), self.hidden, num_layers=self.layers, batch_first=True)
        self.direct = nn.Linear(self.hidden, self.n_bins)
        # every refinement starts at zero, so an untrained model is primitive clustering
        nn.init.zeros_(self.direct.weight)
        nn.init.zeros_(self.direct.bias)
        self.use_pcl = self._config["pcl_weights"] is not None
        if self.use_pcl:
            self.register_buffer("pcl_w", torch.tensor(self._config["pcl_weights"])[:, None],
                                 persistent=False)
            self.pcl_scale = nn.Parameter(torch.ones(self.n_bins))
        # per-bin weights of log1p magnitude, its contrast, and each primitive mask
        self.bin_weight = nn.Parameter(torch.zeros(2 + self.n_prims, self.n_bins))
        if self.n_prims:
            self.ctx = nn.Linear(self.hidden, self.n_prims * self.ctx_rank)
            nn.init.zeros_(self.ctx.weight)
            nn.init.zeros_(self.ctx.bias)
            self.ctx_expand_t = nn.Parameter(torch.randn(self.ctx_rank, self.n_bins)
                                             / self.ctx_rank ** 0.5)
        self.emb_low = nn.Linear(self.hidden, self.emb_rank * self.emb_dim)
        self.emb_expand = nn.Parameter(torch.randn(self.n_bins, self.emb_rank)
                                       / self.emb_rank ** 0.5)
        self.emb_bias = nn.Parameter(0.1 * torch.randn(self.n_bins, self.emb_dim))
        self.emb_local = nn.Linear(self.n_prims + 1, self.emb_dim, bias=False)
        self.local_channels = int(local_channels)
        if self.local_channels:
            # the frequency-local branch: a small conv over neighbouring bins of each frame's
            # log magnitude, contrast, masks, logit and a few context maps from the GRU state
            self.local_ctx = int(local_ctx)
            self.local_bins = self._config["local_bins"]
            if self.local_ctx:
                self.local_coef = nn.Linear(self.hidden, self.local_ctx * self.ctx_rank)
                self.local_shapes_t = nn.Parameter(torch.randn(self.ctx_rank, self.local_bins)
                                                   / self.ctx_rank ** 0.5)
            c_in = 3 + self.n_prims + self.local_ctx
            self.local_in = nn.Conv1d(c_in, self.local_channels, int(local_kernel),
                                      padding=int(local_kernel) // 2)
            self.local_out = nn.Conv1d(self.local_channels, 1, 1)
            nn.init.zeros_(self.local_out.weight)  # starts as the model without the branch
            nn.init.zeros_(self.local_out.bias)

    @property
    def config(self) -> dict:
        return dict(self._config)

    def _check(self, n: int) -> None:
        if n != self.n_inputs:
            raise ValueError(f"{self.arch_name} expects {self.n_inputs} input values per frame "
                             f"({self.n_bins} bins + {self.n_prims} primitive masks x "
                             f"{self.primitive_bins}), got {n}")

    def _core(self, x: torch.Tensor, h0=None):
        """x (batch, frames, n_inputs) -> (logit, masks or None, h, GRU state); the logit is
        (batch, frames, bins), masks (batch, frames, bins, primitives)."""
        logmag = torch.log1p(x[..., :self.n_bins].clamp_min(0.0))
        level = logmag @ self.bands_t  # (batch, frames, bands)
        feats = [level]
        if self.n_prims:
            prims = x[..., self.n_bins:].unflatten(-1, (self.n_prims, self.primitive_bins))
            feats.append((prims @ self.prim_bands_t).flatten(-2))
        h, state = self.gru(self.inp(torch.cat(feats, dim=-1)), h0)
        contrast = logmag - level @ self.spread
        w = self.bin_weight
        logit = self.direct(h) + w[0] * logmag + w[1] * contrast
        masks = None
        if self.n_prims:
            # (batch, frames, primitives, bins): bins last, so every product below is one
            # large matrix product or a contiguous element-wise pass
            masks = F.pad(prims, (0, self.n_bins - self.primitive_bins))
            coef = self.ctx(h).unflatten(-1, (self.n_prims, self.ctx_rank))
            weights = coef @ self.ctx_expand_t + w[2:]
            logit = logit + (weights * masks).sum(-2)
            if self.use_pcl:  # Eq. 1: beta (|m - 0|_w - |m - 1|_w), distances to the centres
                d0 = (self.pcl_w * masks.square()).sum(-2).sqrt()
                d1 = (self.pcl_w * (masks - 1.0).square()).sum(-2).sqrt()
                logit = logit + self.pcl_scale * (self._config["pcl_beta"] * (d0 - d1))
        if self.local_channels:
            logit = logit + self._local(h, logmag, contrast, masks, logit)
        return logit, masks, h, state

    def _local(self, h, logmag, contrast, masks, logit) -> torch.Tensor:
        """The frequency-local correction of the logit, (batch, frames, bins): zero above
        ``local_bins``."""
        k = self.local_bins
        chans = [logmag[..., None, :k], contrast[..., None, :k], logit[..., None, :k]]
        if masks is not None:
            chans.append(masks[..., :k])
        if self.local_ctx:
            coef = self.local_coef(h).unflatten(-1, (self.local_ctx, self.ctx_rank))
            chans.append(coef @ self.local_shapes_t)
        z = torch.cat(chans, dim=-2)  # (batch, frames, channels, local bins)
        lead = z.shape[:-2]
        z = z.reshape(-1, z.shape[-2], k)
        z = self.local_out(F.gelu(self.local_in(z))).reshape(*lead, k)
        return F.pad(z, (0, self.n_bins - k)) if k < self.n_bins else z

    def _embedding(self, h, logit, masks) -> torch.Tensor:
        """Unit-norm embedding (..., bins, emb_dim) of the selected frames."""
        low = self.emb_low(h).unflatten(-1, (self.emb_rank, self.emb_dim))
        local = logit.unsqueeze(-1) if masks is None else torch.cat(
            [masks.transpose(-1, -2), logit.unsqueeze(-1)], dim=-1)
        emb = torch.matmul(self.emb_expand, low) + self.emb_bias + self.emb_local(local)
        return F.normalize(emb, dim=-1, eps=1e-8)

    def forward(self, x: torch.Tensor, embedding_frames: torch.Tensor | None = None):
        """x (batch, n_inputs, frames) -> mask (batch, bins, frames), embedding (batch, bins,
        frames or len(embedding_frames), emb_dim)."""
        self._check(x.shape[1])
        logit, masks, h, _ = self._core(x.transpose(1, 2).contiguous())
        if embedding_frames is None:
            emb = self._embedding(h, logit, masks)
        else:
            sel = None if masks is None else masks[:, embedding_frames]
            emb = self._embedding(h[:, embedding_frames], logit[:, embedding_frames], sel)
        return torch.sigmoid(logit).transpose(1, 2), emb.transpose(1, 2)

    def forward_mask(self, x: torch.Tensor) -> torch.Tensor:
        """The mask only, (batch, bins, frames)."""
        self._check(x.shape[1])
        return torch.sigmoid(self._core(x.transpose(1, 2).contiguous())[0]).transpose(1, 2)

    def init_state(self, batch: int = 1):
        w = self.inp.weight
        return (torch.zeros(self.layers, batch, self.hidden, dtype=w.dtype, device=w.device),)

    def step(self, x: torch.Tensor, state, explicit_cells: bool = False):
        """One frame: x (batch, n_inputs) -> mask (batch, bins), embedding (batch, bins,
        emb_dim), new state. ``explicit_cells`` is accepted for ``models.export.StepModule``
        and changes nothing: the GRU exports to ONNX as one GRU node."""
        self._check(x.shape[1])
        logit, masks, h, new = self._core(x.unsqueeze(1), state[0])
        emb = self._embedding(h[:, 0], logit[:, 0], None if masks is None else masks[:, 0])
        return torch.sigmoid(logit[:, 0]), emb, (new,)


def interpolation_matrix(n_bins: int, n_bands: int, knee_bins: float = 10.0) -> torch.Tensor:
    """``(n_bands, n_bins)``: band values -> bins by linear interpolation between the band
    centres of ``band_matrix`` (each column has at most two non-zeros summing to 1)."""
    warp = torch.log1p(torch.arange(n_bins, dtype=torch.float64) / knee_bins)
    centres = torch.linspace(0.0, float(warp[-1]), n_bands + 2, dtype=torch.float64)[1:-1]
    pos = torch.clamp((warp - centres[0]) / (centres[1] - centres[0]), 0.0, n_bands - 1.0)
    lo = torch.clamp(pos.floor().long(), max=n_bands - 2)
    frac = pos - lo
    out = torch.zeros(n_bands, n_bins, dtype=torch.float64)
    bins = torch.arange(n_bins)
    out[lo, bins] = 1.0 - frac
    out[lo + 1, bins] += frac
    return out.float()
