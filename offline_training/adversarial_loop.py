"""The training loop of adversarial semi-supervised separation (paper 001), resumable, DDP.

Each separator step is preceded by ``critic_steps`` updates of every critic (WGAN-GP,
``offline_training.wgan``): the separator (frozen) masks a batch of unlabelled mixtures, and
critic k learns to tell its estimates of source k (``m |X|`` for the vocals, ``(1 - m) |X|``
for the accompaniment) from real solo recordings of k. Then the separator takes one step on

    L = L_sup + alpha * sum_k -E[D_k(estimate_k)] + beta * L_add,

with ``L_sup`` the real-stem pipeline's objective on a labelled batch (negative spectral SDR of
vocals and karaoke + ``dc_weight`` x weighted deep clustering; ``offline_training.fit``) and
the adversarial and additivity terms on the unlabelled batch, both batches in one forward pass.

Distributed: the separator is wrapped in DistributedDataParallel (one forward per step, so
DDP's gradient hooks fire once); the critics' gradients, which involve the double backward of
the gradient penalty that DDP does not support, are averaged with an explicit all-reduce.
Every rank draws its own batches; each data stream has its own generator, so the labelled
batches are the same whichever critics are on (the ablation compares like with like).
Rank 0 validates and writes checkpoints.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .batch_stft import spectral_sdr_loss
from .fit import _lr_at
from .losses import deep_clustering_loss, magnitude_weights
from .wgan import adversarial_loss, additivity_loss, critic_loss

SOURCES = ("vocals", "accompaniment")
STREAMS = {"labelled": 1, "mixtures": 2, "vocals": 3, "accompaniment": 4}


def estimates(mask: torch.Tensor, mag: torch.Tensor) -> dict:
    """The separator's source magnitudes from its vocal mask: (batch, bins, frames) each."""
    return {"vocals": mask * mag, "accompaniment": (1.0 - mask) * mag}


def mask_only(model, mag: torch.Tensor) -> torch.Tensor:
    """The vocal mask alone (the embedding of one frame is the cheapest the model offers)."""
    return model(mag, embedding_frames=torch.zeros(1, dtype=torch.long))[0]


def separator_loss(net, lab: dict, unl: torch.Tensor | None, critics: dict, alpha: float,
                   beta: float, dc_weight: float, dc_frames: int, gen) -> dict:
    """All terms of one separator step (tensors; ``total`` is minimised)."""
    n_lab = lab["x"].shape[0]
    x = lab["x"] if unl is None else torch.cat([lab["x"], unl])
    n_frames = x.shape[2]
    frames = torch.randperm(n_frames, generator=gen)[:min(dc_frames, n_frames)]
    mask, emb = net(x, embedding_frames=frames)
    sdr = spectral_sdr_loss(mask[:n_lab], lab)
    dc = deep_clustering_loss(emb[:n_lab], lab["assign"][:, :, frames],
                              magnitude_weights(lab["mag"][:, :, frames]))
    out = {"sdr": sdr, "dc": dc, "sup": sdr + dc_weight * dc, "adv": torch.zeros(()),
           "add": torch.zeros(())}
    if unl is not None:
        est = estimates(mask[n_lab:], unl)
        if critics:
            out["adv"] = sum(adversarial_loss(c, c.features(est[k])) for k, c in critics.items())
        out["add"] = additivity_loss(est.values(), unl)
    out["total"] = out["sup"] + alpha * out["adv"] + beta * out["add"]
    return out


def _sync_grads(module, world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        for p in module.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world


def _state(module) -> dict:
    return {k: v.detach().cpu().clone().contiguous() for k, v in module.state_dict().items()}


def validate(model, batches) -> float:
    """Mean spectral SDR (dB; vocals and karaoke averaged) of the model on fixed batches."""
    if not batches:
        return float("nan")
    was = model.training
    model.eval()
    with torch.no_grad():
        value = float(np.mean([-float(spectral_sdr_loss(mask_only(model, b["x"]), b))
                               for b in batches]))
    model.train(was)
    return value


class Checkpoint:
    """Separator, critics, best weights (``.safetensors``), optimisers and step (``.pt``) and
    history (``.json``) under one stem; the ``.pt`` file is written last and marks it whole."""

    def __init__(self, stem):
        self.stem = Path(stem)

    def exists(self) -> bool:
        return Path(f"{self.stem}.pt").is_file()

    def save(self, model, critics, opts, step, history, best) -> None:
        from safetensors.torch import save_file

        self.stem.parent.mkdir(parents=True, exist_ok=True)
        tensors = {f"separator.{k}": v for k, v in _state(model).items()}
        for name, c in critics.items():
            tensors.update({f"critic.{name}.{k}": v for k, v in _state(c).items()})
        if best is not None:
            tensors.update({f"best.{k}": v for k, v in best.items()})
        writes = [(".safetensors", lambda p: save_file(tensors, p)),
                  (".json", lambda p: Path(p).write_text(json.dumps(history))),
                  (".pt", lambda p: torch.save({"step": step, "optimisers": {
                      k: o.state_dict() for k, o in opts.items()}}, p))]
        for suffix, write in writes:
            tmp = f"{self.stem}.tmp{suffix}"
            write(tmp)
            os.replace(tmp, f"{self.stem}{suffix}")

    def load(self, model, critics, opts):
        """(step, history, best weights or None), restoring the modules and optimisers."""
        from safetensors.torch import load_file

        tensors = load_file(f"{self.stem}.safetensors")

        def part(prefix):
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        model.load_state_dict(part("separator."))
        for name, c in critics.items():
            c.load_state_dict(part(f"critic.{name}."))
        saved = torch.load(f"{self.stem}.pt", weights_only=True)
        for k, o in opts.items():
            o.load_state_dict(saved["optimisers"][k])
        best = part("best.") or None
        return int(saved["step"]), json.loads(Path(f"{self.stem}.json").read_text()), best


def train_loop(model, critics: dict, streams: dict, o, *, checkpoint: Checkpoint,
               valid_batches: list, progress=None, log: Callable[[str], None] = print) -> dict:
    """Run (or resume) ``o.steps`` separator steps; returns the history. ``streams`` maps
    "labelled", "mixtures" and each critic's source to ``make(rng)`` batch makers; ``o`` is
    the recipe's options (``AdversarialOptions``). On return ``model`` holds the weights with
    the best validation SDR (the last ones without validation)."""
    from .trainer import init_distributed

    rank, world = init_distributed()
    opts = {"separator": torch.optim.Adam(model.parameters(), lr=o.lr)}
    for name, c in critics.items():
        # the WGAN-GP paper's optimiser settings for the critic
        opts[name] = torch.optim.Adam(c.parameters(), lr=o.critic_lr, betas=(0.0, 0.9))
    history = {"train": [], "valid": [], "world_size": world}
    start, best = 0, None
    if checkpoint.exists():
        start, history, best = checkpoint.load(model, critics, opts)
        history["world_size"] = world
        log(f"resumed at step {start}")
    net = model.train()
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    rngs = {k: np.random.default_rng([o.seed, rank, s, start]) for k, s in STREAMS.items()}
    gen = torch.Generator().manual_seed(o.seed * 100_003 + rank * 7919 + start)
    use_unlabelled = bool(critics) or o.beta > 0
    if rank == 0 and start == 0 and valid_batches:
        history["valid"].append({"step": 0, "sdr_db": validate(model, valid_batches)})
        log(f"validation SDR before training: {history['valid'][-1]['sdr_db']:.2f} dB")
    window: list = []
    t0 = time.perf_counter()
    for step in range(start, o.steps):
        w_est = {}
        for name in critics:  # only the separator's step below moves the separator
            for p in critics[name].parameters():
                p.requires_grad_(True)
        for _ in range(o.critic_steps if critics else 0):
            unl = streams["mixtures"](rngs["mixtures"])
            with torch.no_grad():
                est = estimates(mask_only(model, unl), unl)
            for name, c in critics.items():
                real = c.features(streams[name](rngs[name]))
                eps = torch.rand(real.shape[0], generator=gen)
                loss, w = critic_loss(c, real, c.features(est[name]), eps, o.gp_weight)
                opts[name].zero_grad(set_to_none=True)
                loss.backward()
                _sync_grads(c, world)
                opts[name].step()
                w_est.setdefault(name, []).append(float(w))
        for c in critics.values():
            for p in c.parameters():
                p.requires_grad_(False)
        opts["separator"].param_groups[0]["lr"] = _lr_at(step, o.steps, o.lr, o.hold)
        lab = streams["labelled"](rngs["labelled"])
        unl = streams["mixtures"](rngs["mixtures"]) if use_unlabelled else None
        terms = separator_loss(net, lab, unl, critics, o.alpha, o.beta, o.dc_weight,
                               o.dc_frames, gen)
        opts["separator"].zero_grad(set_to_none=True)
        terms["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opts["separator"].step()
        row = {k: float(v.detach()) for k, v in terms.items()}
        row.update({f"w_{k}": float(np.mean(v)) for k, v in w_est.items()})
        window.append(row)
        done = step + 1
        if progress is not None:
            progress(done, o.steps, row)
        if done % max(1, min(25, o.steps // 20)) == 0 or done == o.steps:
            mean = {k: round(float(np.mean([r[k] for r in window])), 4) for k in window[0]}
            history["train"].append({"step": done, **mean})
            window = []
            if rank == 0:
                w_text = " ".join(f"W_{k[2:]} {v:.3f}" for k, v in mean.items()
                                  if k.startswith("w_"))
                log(f"step {done}/{o.steps} sup {mean['sup']:.3f} (sdr {mean['sdr']:.2f} dB "
                    f"loss) adv {mean['adv']:.3f} add {mean['add']:.2e} {w_text} "
                    f"{time.perf_counter() - t0:.0f}s")
        if rank == 0 and valid_batches and (done % o.valid_every == 0 or done == o.steps):
            sdr = validate(model, valid_batches)
            history["valid"].append({"step": done, "sdr_db": sdr})
            if sdr >= max(v["sdr_db"] for v in history["valid"] if v["step"] > 0):
                best = _state(model)
            log(f"validation SDR at step {done}: {sdr:.2f} dB")
        if rank == 0 and (done % o.checkpoint_every == 0 or done == o.steps):
            checkpoint.save(model, critics, opts, done, history, best)
    if best is not None and valid_batches:
        model.load_state_dict(best)
    model.eval()
    return history
