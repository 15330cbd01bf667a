"""The student training loop shared by bootstrapping and the supervised baseline.

Objective (chimera, papers 000 and [26] there): ``dc_weight`` x deep clustering with magnitude
weights on the embedding (``offline_training.losses.deep_clustering_loss``, the low-rank form
||V^T W V||^2 - 2 ||V^T W Y||^2 + ||Y^T W Y||^2 over (sum W)^2, W = |X|) + L1 between masked
magnitudes normalised by the mixture's total magnitude, so both terms are on the same scale
whatever the loudness of the example.

Distributed: under ``torchrun`` (WORLD_SIZE > 1) the model is wrapped in DistributedDataParallel
(gloo on CPU, nccl on GPU); each rank draws its own remixes (seed + rank), gradients are averaged,
rank 0 writes checkpoints. Run as a plain process it trains alone.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

# Sizes of the shippable student, beside models.configs' named sizes: ~180k parameters, so one
# hop costs well under a millisecond on one CPU core (see BENCHMARKS.md, Bootstrap).
STUDENT_SIZES = {
    "CausalGRUSeparator": {"student": dict(n_features=48, hidden=64, layers=2, emb_dim=8,
                                           emb_rank=8)},
}
ARCH_NAMES = {"gru": "CausalGRUSeparator", "tcn": "CausalTCNSeparator"}


def build_student(arch: str, size: str, n_bins: int, seed: int = 0):
    """A fresh separator: ``arch`` "gru"/"tcn" (or a registry name), ``size`` a name from
    ``models.configs`` or ``STUDENT_SIZES``."""
    import torch

    from models.configs import create
    from models.registry import build

    name = ARCH_NAMES.get(arch, arch)
    if size in STUDENT_SIZES.get(name, {}):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build(name, dict(STUDENT_SIZES[name][size], n_bins=int(n_bins),
                                    lookahead_frames=0))
    return create(name, size, n_bins, 0, seed)


def masked_magnitude_l1(mask, target, mag):
    """L1 between masked magnitudes, normalised by the mixture's total magnitude per example.

    Shapes: all (batch, bins, frames).
    """
    b = mask.shape[0]
    err = (mag * (mask - target).abs()).reshape(b, -1).sum(1)
    return (err / mag.reshape(b, -1).sum(1).clamp_min(1e-12)).mean()


def chimera_loss(model, batch: dict, dc_weight: float):
    """(total, dc, mask) losses of ``model`` on a batch of numpy arrays (batch, bins, frames)."""
    import torch

    from .losses import deep_clustering_loss, magnitude_weights

    device = next(model.parameters()).device
    t = {k: torch.from_numpy(np.ascontiguousarray(batch[k])).to(device)
         for k in ("mag", "target", "assign", "weight")}

    mask, emb = model(t["mag"])
    dc = deep_clustering_loss(emb, t["assign"], magnitude_weights(t["weight"], power=1.0))
    ml = masked_magnitude_l1(mask, t["target"], t["mag"])
    return dc_weight * dc + ml, dc, ml


def init_distributed() -> tuple[int, int]:
    """(rank, world) from torchrun's environment; initialises the process group if needed."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        import torch
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return rank, world


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def train(model, next_batch: Callable[[np.random.Generator], dict], *, steps: int,
          lr: float = 1e-3, dc_weight: float = 1.0, seed: int = 0, checkpoint=None,
          checkpoint_every: int = 50, log: Callable[[str], None] = print,
          valid_batches: list | None = None, device=None) -> dict:
    """Train ``model`` for ``steps`` optimiser steps on batches from ``next_batch(rng)``.

    ``device`` (e.g. ``"cpu"``) overrides the default: this process's GPU when there is one.

    Resumes from ``checkpoint`` (a path stem; rank 0 writes ``.safetensors`` + ``.opt.pt``) when
    it exists. Returns a history dict: per-step losses and validation losses (first and last).
    """
    import torch
    from safetensors.torch import load_file, save_file

    rank, world = init_distributed()
    start = 0
    if checkpoint is not None and Path(f"{checkpoint}.opt.pt").is_file():
        model.load_state_dict(load_file(f"{checkpoint}.safetensors"))
        opt_state = torch.load(f"{checkpoint}.opt.pt", weights_only=True)
        start = int(opt_state.pop("step"))
    # One GPU per process under torchrun when there are GPUs (nccl), else the CPU (gloo).
    if device is None:
        device = (torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
                  if torch.cuda.is_available() else torch.device("cpu"))
    device = torch.device(device)
    net = model.to(device).train()
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    if start:
        opt.load_state_dict(opt_state["optimizer"])
        log(f"resumed at step {start}")
    rng = np.random.default_rng(seed * 1000 + rank + 7919 * start)
    history = {"loss": [], "dc": [], "mask": []}
    history["valid_first"] = evaluate(model, valid_batches, dc_weight) if valid_batches else None
    t0 = time.perf_counter()
    for step in range(start, steps):
        total, dc, ml = chimera_loss(net, next_batch(rng), dc_weight)
        dc, ml = dc.detach(), ml.detach()
        opt.zero_grad()
        total.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        for key, val in (("loss", total), ("dc", dc), ("mask", ml)):
            history[key].append(float(val.detach()))
        if rank == 0 and (step + 1) % max(1, steps // 20) == 0:
            log(f"step {step + 1}/{steps} loss {float(total.detach()):.4f} (dc {float(dc):.4f}, "
                f"mask {float(ml):.4f}) {time.perf_counter() - t0:.0f}s")
        if checkpoint is not None and rank == 0 and ((step + 1) % checkpoint_every == 0
                                                     or step + 1 == steps):
            _save_checkpoint(model, opt, step + 1, checkpoint, save_file)
    model.cpu().eval()
    history["valid_last"] = evaluate(model, valid_batches, dc_weight) if valid_batches else None
    history["steps"] = steps
    history["world_size"] = world
    return history


def _save_checkpoint(model, opt, step: int, stem, save_file) -> None:
    import torch

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(stem) + ".tmp.safetensors")
    torch.save({"step": step, "optimizer": opt.state_dict()}, str(stem) + ".tmp.opt.pt")
    os.replace(str(stem) + ".tmp.safetensors", str(stem) + ".safetensors")
    os.replace(str(stem) + ".tmp.opt.pt", str(stem) + ".opt.pt")


def evaluate(model, batches, dc_weight: float = 1.0) -> dict:
    """Mean (total, dc, mask) losses of ``model`` over fixed ``batches``, without gradients."""
    import torch

    was_training = model.training
    model.eval()
    sums = np.zeros(3)
    with torch.no_grad():
        for batch in batches:
            sums += [float(v) for v in chimera_loss(model, batch, dc_weight)]
    model.train(was_training)
    n = max(1, len(batches))
    return {"loss": sums[0] / n, "dc": sums[1] / n, "mask": sums[2] / n}


def count_parameters(model) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None
