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
           "add": torch.zeros(()), "mask": mask}
    if unl is not None:
        est = estimates(mask[n_lab:], unl)
        if critics:
            out["adv"] = sum(adversarial_loss(c, c.features(est[k])) for k, c in critics.items())
        out["add"] = additivity_loss(est.values(), unl)
    out["total"] = out["sup"] + alpha * out["adv"] + beta * out["add"]
    return out


def _pulls(terms: dict, alpha: float, n_lab: int) -> dict:
    """RMS gradient of the supervised and of the weighted adversarial term with respect to the
    mask, per example (how hard each pulls the separator's output; a diagnostic)."""
    mask = terms["mask"]
    (g_sup,) = torch.autograd.grad(terms["sup"], mask, retain_graph=True)
    (g_adv,) = torch.autograd.grad(alpha * terms["adv"], mask, retain_graph=True)
    # the losses are batch means: times the batch size gives one example's pull
    return {"pull_sup": float(g_sup[:n_lab].pow(2).mean().sqrt()) * n_lab,
            "pull_adv": float(g_adv[n_lab:].pow(2).mean().sqrt()) * (mask.shape[0] - n_lab)}


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
        saved = torch.load(f"{self.stem}.pt", weights_only=True)
        fresh = []
        for name, c in critics.items():
            # a supervised run's checkpoint has no critics: they start fresh (``init_from``)
            if part(f"critic.{name}."):
                c.load_state_dict(part(f"critic.{name}."))
                opts[name].load_state_dict(saved["optimisers"][name])
            else:
                fresh.append(name)
        opts["separator"].load_state_dict(saved["optimisers"]["separator"])
        best = part("best.") or None
        history = json.loads(Path(f"{self.stem}.json").read_text())
        return int(saved["step"]), history, best, fresh


def _critic_updates(model, critics: dict, streams: dict, rngs: dict, opts: dict, gen, o,
                    world: int, n: int) -> dict:
    """``n`` updates of every critic against the current separator; their Wasserstein
    estimates, per critic. The critics' weights are left frozen (the separator's step only
    reads them)."""
    w_est: dict = {}
    for c in critics.values():
        c.requires_grad_(True)
    for _ in range(n):
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
        c.requires_grad_(False)
    return w_est


def train_loop(model, critics: dict, streams: dict, o, *, checkpoint: Checkpoint,
               valid_batches: list, progress=None, log: Callable[[str], None] = print) -> dict:
    """Run (or resume) ``o.steps`` separator steps; returns the history. ``streams`` maps
    "labelled", "mixtures" and each critic's source to ``make(rng)`` batch makers; ``o`` is
    the recipe's options (``AdversarialOptions``). On return ``model`` holds the weights with
    the best validation SDR (``o.select == "best"``), else the last ones."""
    from .trainer import init_distributed

    rank, world = init_distributed()
    opts = {"separator": torch.optim.Adam(model.parameters(), lr=o.lr)}
    for name, c in critics.items():
        # the WGAN-GP paper's optimiser settings for the critic
        opts[name] = torch.optim.Adam(c.parameters(), lr=o.critic_lr, betas=(0.0, 0.9))
    history = {"train": [], "valid": [], "world_size": world}
    start, best, fresh = 0, None, list(critics)
    source = checkpoint if checkpoint.exists() else (
        Checkpoint(o.init_from) if getattr(o, "init_from", None) else None)
    if source is not None:
        if not source.exists():
            from rtsep.errors import ConfigError

            raise ConfigError(f"--init-from {o.init_from}: no checkpoint there "
                              "(give RUN/checkpoints/state of an earlier run)")
        start, history, best, fresh = source.load(model, critics, opts)
        history["world_size"] = world
        if source is not checkpoint:
            history["init_from"] = {"checkpoint": str(source.stem), "step": start}
        log(f"resumed at step {start}" + (f" from {source.stem}" if source is not checkpoint
                                          else "") + (f"; fresh critics: {', '.join(fresh)}"
                                                      if fresh and start else ""))
    net = model.train()
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    rngs = {k: np.random.default_rng([o.seed, rank, s, start]) for k, s in STREAMS.items()}
    gen = torch.Generator().manual_seed(o.seed * 100_003 + rank * 7919 + start)
    # with no critic the unlabelled batch would only feed the additivity term, which a mask
    # meets exactly: the supervised arm skips it
    use_unlabelled = bool(critics)
    if rank == 0 and start == 0 and valid_batches:
        history["valid"].append({"step": 0, "sdr_db": validate(model, valid_batches)})
        log(f"validation SDR before training: {history['valid'][-1]['sdr_db']:.2f} dB")
    if fresh and getattr(o, "critic_warmup", 0) and start < o.steps:
        # critics that start beside a trained separator first learn to judge it (separator
        # frozen), so their first gradients mean something
        warm = {k: critics[k] for k in fresh}
        w = _critic_updates(model, warm, streams, rngs, opts, gen, o, world, o.critic_warmup)
        log("critic warm-up: " + ", ".join(f"W_{k} {np.mean(v[-10:]):.3f}" for k, v in w.items()))
        history.setdefault("critic_warmup", []).append(
            {"step": start, "updates": o.critic_warmup,
             **{f"w_{k}": round(float(np.mean(v[-10:])), 4) for k, v in w.items()}})
    window: list = []
    t0 = time.perf_counter()
    for step in range(start, o.steps):
        w_est = _critic_updates(model, critics, streams, rngs, opts, gen, o, world,
                                o.critic_steps if critics else 0)
        opts["separator"].param_groups[0]["lr"] = _lr_at(step, o.steps, o.lr, o.hold)
        lab = streams["labelled"](rngs["labelled"])
        unl = streams["mixtures"](rngs["mixtures"]) if use_unlabelled else None
        terms = separator_loss(net, lab, unl, critics, o.alpha, o.beta, o.dc_weight,
                               o.dc_frames, gen)
        done = step + 1
        logging = done % max(1, min(25, o.steps // 20)) == 0 or done == o.steps
        pulls = _pulls(terms, o.alpha, lab["x"].shape[0]) if logging and critics else {}
        opts["separator"].zero_grad(set_to_none=True)
        terms.pop("mask")
        terms["total"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opts["separator"].step()
        row = {k: float(v.detach()) for k, v in terms.items()}
        row.update({f"w_{k}": float(np.mean(v)) for k, v in w_est.items()})
        window.append(row)
        if progress is not None:
            progress(done, o.steps, row)
        if logging:
            mean = {k: round(float(np.mean([r[k] for r in window])), 4) for k in window[0]}
            history["train"].append({"step": done, **mean, **pulls})
            window = []
            if rank == 0:
                w_text = " ".join(f"W_{k[2:]} {v:.3f}" for k, v in mean.items()
                                  if k.startswith("w_"))
                pull = (f" pull adv/sup {pulls['pull_adv'] / max(pulls['pull_sup'], 1e-12):.2g}"
                        if pulls else "")
                log(f"step {done}/{o.steps} sup {mean['sup']:.3f} (-SDR {mean['sdr']:.2f} dB) "
                    f"adv {mean['adv']:.3f} add {mean['add']:.1e} {w_text}{pull} "
                    f"{time.perf_counter() - t0:.0f}s")
        if rank == 0 and valid_batches and (done % o.valid_every == 0 or done == o.steps):
            sdr = validate(model, valid_batches)
            history["valid"].append({"step": done, "sdr_db": sdr})
            if sdr >= max(v["sdr_db"] for v in history["valid"] if v["step"] > 0):
                best = _state(model)
            log(f"validation SDR at step {done}: {sdr:.2f} dB")
        if rank == 0 and (done % o.checkpoint_every == 0 or done == o.steps):
            checkpoint.save(model, critics, opts, done, history, best)
    if best is not None and valid_batches and getattr(o, "select", "best") == "best":
        model.load_state_dict(best)
    model.eval()
    return history
