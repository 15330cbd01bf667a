"""The training loop of the real-stem and distillation recipes: resumable, validated, timed.

Objective per batch: the negative spectral SDR of the masked mixture
(``offline_training.batch_stft.spectral_sdr_loss``; it measures the vocals and the karaoke at
once) + ``dc_weight`` x the weighted deep-clustering loss on ``dc_frames`` random frames (the
embedding the engine's confidence reads). Adam, the learning rate held for the first
``hold`` of the steps, then decayed linearly to a tenth.

Every ``valid_every`` steps the loss on fixed validation batches is measured; the weights with
the lowest one are kept as ``best`` (model selection on the validation split, never on dev).
A checkpoint (weights, best weights, optimiser, step, history) is written every
``checkpoint_every`` steps; a run started again with the same checkpoint stem resumes from it
(the batch stream restarts from a generator seeded by the step, so it differs from the one an
uninterrupted run would have drawn, but is reproducible).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .losses import deep_clustering_loss, magnitude_weights
from .batch_stft import spectral_sdr_loss


def batch_loss(model, batch: dict, dc_weight: float, dc_frames: int,
               gen: torch.Generator | None = None, scale_invariant: bool = False,
               floor_db: float = -10.0, masks_out: list | None = None):
    """(total, sdr loss, dc loss) of ``model`` on one batch (``masks_out`` gets the mask)."""
    n_frames = batch["mag"].shape[2]
    if dc_weight > 0:
        frames = torch.randperm(n_frames, generator=gen)[:min(dc_frames, n_frames)]
        mask, emb = model(batch["x"], embedding_frames=frames)
        weights = magnitude_weights(batch["mag"][:, :, frames])
        dc = deep_clustering_loss(emb, batch["assign"][:, :, frames], weights)
    else:
        mask = model.forward_mask(batch["x"]) if hasattr(model, "forward_mask") else \
            model(batch["x"], embedding_frames=torch.zeros(1, dtype=torch.long))[0]
        dc = torch.zeros(())
    sdr = spectral_sdr_loss(mask, batch, floor_db=floor_db, scale_invariant=scale_invariant)
    if masks_out is not None:
        masks_out.append(mask.detach())
    return sdr + dc_weight * dc, sdr, dc


def crop_vocal_snr(mask: torch.Tensor, batch: dict) -> np.ndarray:
    """Vocal SNR (dB) of each crop of a batch; NaN where the vocals are silent (< -40 dB of
    the mixture), which BSS Eval leaves out too."""
    xx, vx, vv = batch["xx"], batch["vx"], batch["vv"]
    err = (mask * (mask * xx - 2.0 * vx) + vv).sum(dim=(1, 2)).clamp_min(1e-12)
    ref = vv.sum(dim=(1, 2))
    snr = 10.0 * torch.log10(ref.clamp_min(1e-12) / err)
    quiet = ref < 1e-4 * xx.sum(dim=(1, 2))
    return torch.where(quiet, torch.full_like(snr, float("nan")), snr).numpy()


def validate(model, batches, dc_weight: float, dc_frames: int, si: bool = False,
             floor_db: float = -10.0) -> dict:
    """Mean losses over the batches, and ``median_vocal_snr``: the median over crops of the
    vocal SNR, which tracks BSS Eval's median-over-1-s-windows SDR (crops are ~1 s)."""
    was = model.training
    model.eval()
    gen = torch.Generator().manual_seed(0)
    sums, masks, snrs = np.zeros(3), [], []
    with torch.no_grad():
        for b in batches:
            sums += [float(v) for v in batch_loss(model, b, dc_weight, dc_frames, gen, si,
                                                  floor_db, masks)]
            snrs.append(crop_vocal_snr(masks[-1], b))
    model.train(was)
    n = max(1, len(batches))
    return {"loss": float(sums[0] / n), "sdr_loss": float(sums[1] / n),
            "dc_loss": float(sums[2] / n),
            "median_vocal_snr": float(np.nanmedian(np.concatenate(snrs)))}


def _lr_at(step: int, steps: int, lr: float, hold: float) -> float:
    start = int(hold * steps)
    if step < start:
        return lr
    return lr * (1.0 - 0.9 * (step - start) / max(1, steps - start))


def _state(model) -> dict:
    return {k: v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}


def fit(model, next_batch: Callable[[np.random.Generator], dict], *, steps: int,
        lr: float = 1e-3, hold: float = 0.6, dc_weight: float = 0.5, dc_frames: int = 16,
        seed: int = 0, checkpoint=None, checkpoint_every: int = 200,
        valid_batches: list | None = None, valid_every: int = 200,
        workers: int = 1, compile: bool = False, loss: str = "sdr",
        floor_db: float = -10.0, select: str = "loss",
        log: Callable[[str], None] = print) -> dict:
    """Train ``model`` for ``steps`` steps; returns the history (losses, validation, speed).

    Batches are made by ``next_batch(rng)`` in ``workers`` processes (``prefetch``; 0 = in
    this one). ``compile`` runs the training graph through ``torch.compile`` (fuses the
    element-wise work; about 2x faster on the CPU after a minute of compiling). ``loss``:
    "sdr" (spectral SDR) or "si-sdr" (its scale-invariant form, ``batch_stft``), with the
    error floored at ``floor_db`` below the example's energy: the loss is a log, so without a
    floor the crops that are already nearly right (silent vocals, mask 0) would dominate the
    gradient. ``select``: "loss" keeps the weights of lowest validation loss,
    "median_vocal_snr" those of highest median vocal SNR over the validation crops.
    On return ``model`` holds the best validated weights when validation batches were given,
    else the last ones.
    """
    from safetensors.torch import load_file, save_file

    from .prefetch import batch_stream
    from .trainer import init_distributed

    si = {"sdr": False, "si-sdr": True}[loss]
    rank, world = init_distributed()
    if rank != 0:  # under torchrun every rank trains; rank 0 speaks and writes checkpoints
        log, checkpoint = (lambda *_: None), None

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = {"train": [], "valid": [], "audio_seconds": 0.0, "wall_seconds": 0.0}
    start, best, best_loss = 0, None, float("inf")
    stem = Path(checkpoint) if checkpoint is not None else None
    if stem is not None and Path(f"{stem}.opt.pt").is_file():
        model.load_state_dict(load_file(f"{stem}.safetensors"))
        saved = torch.load(f"{stem}.opt.pt", weights_only=True)
        opt.load_state_dict(saved["optimizer"])
        start = int(saved["step"])
        history = json.loads(Path(f"{stem}.history.json").read_text())
        if Path(f"{stem}.best.safetensors").is_file():
            best = load_file(f"{stem}.best.safetensors")
            best_loss = float(saved.get("best_loss", best_loss))
        log(f"resumed at step {start}")
    gen = torch.Generator().manual_seed(seed * 100_003 + start + 7919 * rank)
    model.train()
    if world > 1:  # gradients averaged over the ranks (gloo on the CPU)
        net = torch.nn.parallel.DistributedDataParallel(model)
    else:
        net = _compiled(model, log) if compile else model
    if valid_batches and start == 0:
        history["valid"].append({"step": 0, **validate(model, valid_batches, dc_weight,
                                                       dc_frames, si, floor_db)})
        v0 = history["valid"][-1]
        best_loss, best = (v0["loss"] if select == "loss" else -v0[select]), _state(model)
        log(f"validation before training: {v0}")
    window = []
    t_begin = time.perf_counter()
    batches = batch_stream(next_batch, seed + 1000 * rank, start, workers)
    t0 = time.perf_counter()
    for step in range(start, steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, lr, hold)
        batch = next(batches)
        total, sdr, dc = batch_loss(net, batch, dc_weight, dc_frames, gen, si, floor_db)
        opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        t1 = time.perf_counter()
        history["audio_seconds"] += batch["seconds"]
        history["wall_seconds"] += t1 - t0  # the whole step, waiting for the batch included
        t0 = t1
        window.append((float(total.detach()), float(sdr.detach()), float(dc.detach())))
        done = step + 1
        if done % max(1, min(50, steps // 20)) == 0 or done == steps:
            m = np.mean(window, axis=0)
            history["train"].append({"step": done, "loss": round(float(m[0]), 4),
                                     "sdr_loss": round(float(m[1]), 4),
                                     "dc_loss": round(float(m[2]), 4)})
            window = []
            speed = history["audio_seconds"] / max(history["wall_seconds"], 1e-9)
            log(f"step {done}/{steps} loss {m[0]:.3f} (sdr {m[1]:.3f} dc {m[2]:.3f}) "
                f"{speed:.0f}x real time, {time.perf_counter() - t_begin:.0f}s")
        if valid_batches and (done % valid_every == 0 or done == steps):
            v = validate(model, valid_batches, dc_weight, dc_frames, si, floor_db)
            history["valid"].append({"step": done, **v})
            score = v["loss"] if select == "loss" else -v[select]
            if score < best_loss:
                best_loss, best = score, _state(model)
            log(f"validation at {done}: {v} (best {best_loss:.3f})")
        if stem is not None and (done % checkpoint_every == 0 or done == steps):
            _checkpoint(model, opt, done, stem, history, best, best_loss, save_file)
        if valid_batches and done % valid_every == 0 or stem is not None and \
                done % checkpoint_every == 0:
            t0 = time.perf_counter()  # validation and checkpoints are not training time
    history["steps"] = steps
    history["speed_x_real_time"] = round(
        history["audio_seconds"] / max(history["wall_seconds"], 1e-9), 1)
    if best is not None:
        model.load_state_dict(best)
        history["best_valid_score"] = {"select": select, "value": best_loss
                                       if select == "loss" else -best_loss}
    model.eval()
    return history


def _compiled(model, log):
    """``torch.compile(model)``, or the model itself when compiling is not possible here."""
    try:
        return torch.compile(model)
    except Exception as exc:  # no compiler toolchain, unsupported platform
        log(f"torch.compile unavailable ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
            "training eagerly")
        return model


def _checkpoint(model, opt, step, stem: Path, history, best, best_loss, save_file) -> None:
    stem.parent.mkdir(parents=True, exist_ok=True)
    pairs = [(f"{stem}.safetensors", lambda p: save_file(_state(model), p))]
    if best is not None:
        pairs.append((f"{stem}.best.safetensors", lambda p: save_file(best, p)))
    pairs.append((f"{stem}.history.json", lambda p: Path(p).write_text(json.dumps(history))))
    pairs.append((f"{stem}.opt.pt", lambda p: torch.save(
        {"step": step, "optimizer": opt.state_dict(), "best_loss": float(best_loss)}, p)))
    for path, write in pairs:  # the optimiser file last: it marks the checkpoint complete
        tmp = path + ".tmp"
        write(tmp)
        os.replace(tmp, path)
