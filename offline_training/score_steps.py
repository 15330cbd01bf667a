"""One optimiser step of each stage of score-supervised training, and the loop that runs them.

``Stage`` holds what a stage trains (the separator, the transcriptor or both, each with its
optimiser), checkpoints it under the run folder (rank 0, atomically) and resumes from there.
Steps draw their own crops (``seed``, rank and step decide them), so every process of a
torchrun job sees different data while DDP averages the gradients.
"""

from __future__ import annotations

import os
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .losses import deep_clustering_loss, magnitude_weights, mask_loss
from .score_data import CropSampler, spectra
from .score_losses import (
    adversarial_inputs,
    adversarial_separator_loss,
    bce,
    score_batch,
    separator_losses,
)
from .transcriptor_training import transcriptor_batch


@dataclass
class Weights:
    tr: float = 1.0
    clip: float = 1.0
    harm: float = 1.0
    dc: float = 0.1  # embedding head (the engine's confidence); labels: the model's own mask
    adv: float = 1.0

    def of(self, name: str) -> float:
        return float(getattr(self, name))


@dataclass
class Stage:
    """Modules trained in one stage, their optimisers and checkpoint stem."""

    name: str
    modules: dict  # name -> module (raw, not DDP-wrapped)
    optimisers: dict  # name -> optimiser
    checkpoint: Path
    wrapped: dict = field(default_factory=dict)  # name -> DDP wrapper (or the module)

    def save(self, step: int) -> None:
        from safetensors.torch import save_file

        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        for name, module in self.modules.items():
            tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
            tmp = f"{self.checkpoint}.{name}.tmp.safetensors"
            save_file(tensors, tmp)
            os.replace(tmp, f"{self.checkpoint}.{name}.safetensors")
        state = {"step": step, **{f"opt_{k}": o.state_dict() for k, o in self.optimisers.items()}}
        torch.save(state, f"{self.checkpoint}.tmp.pt")
        os.replace(f"{self.checkpoint}.tmp.pt", f"{self.checkpoint}.pt")

    def resume(self) -> int:
        """Load the last checkpoint if there is one; returns the step it reached (0 if none)."""
        from safetensors.torch import load_file

        if not Path(f"{self.checkpoint}.pt").is_file():
            return 0
        state = torch.load(f"{self.checkpoint}.pt", weights_only=True)
        for name, module in self.modules.items():
            module.load_state_dict(load_file(f"{self.checkpoint}.{name}.safetensors"))
        for name, opt in self.optimisers.items():
            opt.load_state_dict(state[f"opt_{name}"])
        return int(state["step"])

    def wrap(self, world: int) -> None:
        for name, module in self.modules.items():
            module.requires_grad_(True)  # everything a stage holds, it trains
            self.wrapped[name] = (torch.nn.parallel.DistributedDataParallel(module)
                                  if world > 1 else module)


def run_stage(stage: Stage, steps: int, step_fn: Callable[[np.random.Generator], dict], *,
              seed: int, rank: int, world: int, checkpoint_every: int, log, label: str) -> list:
    """Run ``step_fn`` from the checkpointed step to ``steps``; returns the loss history
    (one dict of floats per step run here)."""
    from rtsep.cli.progress import ProgressLine

    start = stage.resume()
    stage.wrap(world)
    for m in stage.modules.values():
        m.train()
    if start:
        log(f"{stage.name}: resumed at step {start}/{steps}")
    # rank 0 draws the bar (on a terminal only); the log has the same numbers
    bar = ProgressLine(label) if rank == 0 else None
    history, t0 = [], time.perf_counter()
    try:
        for step in range(start, steps):
            rng = np.random.default_rng([seed, rank, step, zlib.crc32(stage.name.encode())])
            losses = step_fn(rng)
            history.append(losses)
            if bar is not None:
                bar.label = label + "  " + " ".join(f"{k} {v:.3f}" for k, v in losses.items())
                bar.update(step + 1, steps)
            if rank == 0 and ((step + 1) % max(1, steps // 20) == 0 or step + 1 == steps):
                terms = " ".join(f"{k} {v:.4f}" for k, v in losses.items())
                log(f"{stage.name} step {step + 1}/{steps} {terms} "
                    f"({time.perf_counter() - t0:.0f} s)")
            if rank == 0 and ((step + 1) % checkpoint_every == 0 or step + 1 == steps):
                stage.save(step + 1)
    finally:
        if bar is not None:
            bar.close()
    for m in stage.modules.values():
        m.eval()
    return history


def _step(opt, loss, params) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 5.0)
    opt.step()


def transcriptor_step(stage: Stage, sampler: CropSampler, batch: int, geometry, pool: int):
    """Step 1: the transcriptor on labelled stems."""
    from .transcriptor_training import transcriptor_loss

    def step(rng):
        b = transcriptor_batch(sampler, batch, geometry, pool, rng)
        loss = transcriptor_loss(stage.wrapped["transcriptor"], b)
        _step(stage.optimisers["transcriptor"], loss,
              stage.modules["transcriptor"].parameters())
        return {"loss": float(loss.detach())}

    return step


def _dc(emb, labels, mag, frames):
    return deep_clustering_loss(emb, labels, magnitude_weights(mag)[:, :, frames])


def separator_step(stage: Stage, sampler: CropSampler, batch: int, geometry, *,
                   objective: str, losses, weights: Weights, transcriptor=None,
                   dc_frames: int = 16, finetune: str | None = None,
                   anchor: CropSampler | None = None):
    """Steps 2 and 3. ``objective`` "score": the mixture and its score only (``losses`` from
    ``score_losses.LOSS_NAMES``); "supervised": the ablation's reference, true stems, IRM +
    deep clustering on the true dominance. With ``finetune`` ("atl"/"aml") the transcriptor
    is trained as well, against the separator, anchored by its step-1 loss on ``anchor``."""
    sep = stage.modules["separator"]
    pool = transcriptor.pool if transcriptor is not None else 4

    def step(rng):
        picks = sampler.draw(batch)
        frames = torch.from_numpy(rng.permutation(sampler.n_frames)[:dc_frames])
        if objective == "supervised":
            V = spectra(sampler.audio(picks, "voc", geometry), geometry)
            A = spectra(sampler.audio(picks, "acc", geometry), geometry)
            mag = torch.from_numpy(np.abs(V + A))
            mask, emb = stage.wrapped["separator"](mag, embedding_frames=frames)
            mv, ma = np.abs(V), np.abs(A)
            irm = torch.from_numpy(mv / np.maximum(mv + ma, 1e-8))
            labels = torch.from_numpy((mv > ma).astype(np.int64))[:, :, frames]
            terms = {"irm": mask_loss(mask, irm, magnitude_weights(mag))}
            total = terms["irm"]
        else:
            mag = torch.from_numpy(np.abs(spectra(sampler.audio(picks, "mix", geometry),
                                                  geometry)))
            targets = score_batch(sampler.f0(picks), geometry, pool, harmonic="harm" in losses)
            if transcriptor is not None:
                transcriptor.requires_grad_(False)  # the critic's turn comes below
            mask, emb = stage.wrapped["separator"](mag, embedding_frames=frames)
            terms = separator_losses(transcriptor, mag, mask, targets, losses)
            if finetune:
                terms["adv"] = adversarial_separator_loss(finetune, transcriptor, mag, mask,
                                                          targets["y"])
            total = sum(weights.of(k) * v for k, v in terms.items())
            labels = (mask.detach()[:, :, frames] > 0.5).long()
        dc = _dc(emb, labels, mag, frames)
        _step(stage.optimisers["separator"], total + weights.dc * dc, sep.parameters())
        out = {k: float(v.detach()) for k, v in terms.items()}
        out["dc"] = float(dc.detach())
        if finetune:
            out["critic"] = _critic_step(stage, finetune, mag, mask, targets["y"], anchor,
                                         geometry, pool, weights, rng)
        return out

    return step


def _critic_step(stage, kind, mag, mask, y, anchor, geometry, pool, weights, rng) -> float:
    """The transcriptor's adversarial update: one call on [anchor batch; adversarial inputs]."""
    t = stage.modules["transcriptor"]
    t.requires_grad_(True)
    inputs, refs, targets = adversarial_inputs(kind, mag, mask, y)
    a = transcriptor_batch(anchor, max(1, mag.shape[0] // 2), geometry, pool, rng)
    n = a["mag"].shape[0]
    voc, acc = stage.wrapped["transcriptor"](torch.cat([a["mag"], inputs]),
                                            torch.cat([a["ref"], refs]))
    loss = bce(voc[:n], a["y_voc"]) + bce(acc[:n], a["y_acc"])
    loss = loss + weights.adv * bce(voc[n:], targets)
    _step(stage.optimisers["transcriptor"], loss, t.parameters())
    t.requires_grad_(False)
    return float(loss.detach())
