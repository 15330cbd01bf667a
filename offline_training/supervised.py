"""Supervised training of a causal chimera separator on labelled stems.

Targets come from the true stems: the ideal ratio mask |V| / (|V| + |A|) for the mask head and
the dominant source of every bin for the deep-clustering head (weighted by sqrt magnitude).
The STFT is the engine's (``rtsep.config.geometry_for``, ``rtsep.core.stft.stft_offline``).

    python -m offline_training train-supervised --corpus DIR [--labelled DIR ...] \
        [--solo-vocals FILE ...] [--solo-accompaniment FILE ...] \
        --out models/weights/NAME --arch CausalGRUSeparator --size small --epochs 20

(options in ``offline_training/cli_supervised.py``).
Writes ``NAME.safetensors`` + ``NAME.json`` with the recipe, the data's provenance and
validation metrics (SI-SDR of the vocals on ``--valid`` tracks, streamed frame by frame).
"""

from __future__ import annotations

import time

import numpy as np


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, int(threads)))


def evaluate(model, pairs, geometry, max_seconds: float = 30.0) -> dict:
    """Mean SI-SDR (dB) of masked vocals and of the mixture, over ``pairs`` (mono stems).

    The mask is applied to the mixture's STFT and inverted with the engine's ISTFT; the model
    runs causally over the whole track (``forward`` equals frame-by-frame ``step``).
    """
    import torch

    from rtsep.core.stft import istft_offline, stft_offline
    from rtsep.evaluation.metrics import si_sdr

    scores, baselines = [], []
    for pair in pairs:
        n = min(len(pair.vocals), len(pair.accompaniment), int(max_seconds * geometry.sr))
        vocals, mixture = pair.vocals[:n], pair.vocals[:n] + pair.accompaniment[:n]
        if not np.any(vocals):
            continue
        spec = stft_offline(mixture[None].astype(np.float64), geometry)
        with torch.inference_mode():
            mask, _ = model(torch.from_numpy(np.abs(spec)).float())
        estimate = istft_offline(spec * mask.numpy(), geometry, n)
        scores.append(si_sdr(estimate, vocals[None]))
        baselines.append(si_sdr(mixture[None], vocals[None]))
    if not scores:
        return {}
    return {"valid_tracks": len(scores),
            "valid_si_sdr_vocals_db": round(float(np.mean(scores)), 3),
            "valid_si_sdr_mixture_db": round(float(np.mean(baselines)), 3),
            "valid_si_sdri_db": round(float(np.mean(scores) - np.mean(baselines)), 3)}


def train_supervised(corpus_dirs, out, *, labelled_dirs=(), valid_dirs=(), licences=(),
                     solo_vocals=(), solo_accompaniment=(), solo_licences=(),
                     arch="CausalGRUSeparator", size="small", lookahead_frames=0,
                     preset="default", sr=44100, epochs=10, steps_per_epoch=50, batch=8,
                     seg_frames=100, dc_frames=16, lr=1e-3, dc_weight=1.0, remix_prob=0.5,
                     seed=0, checkpoint_every=0, threads=2, log=print) -> dict:
    """Train and save a model; returns the JSON written.

    Data folders are MUSDB-style (``rtsep.io.datasets``); ``licences`` name the licence of each
    corpus/labelled folder in order, ``solo_licences`` of each solo file (vocals first, then
    accompaniment). Everything trained on is listed in the JSON's provenance.
    """
    import torch

    from models import configs
    from rtsep.config import geometry_for
    from rtsep.errors import ConfigError

    from .losses import deep_clustering_loss, magnitude_weights, mask_loss
    from .stem_pairs import SegmentSampler, load_solo, load_stem_pairs

    _set_threads(threads)
    torch.manual_seed(seed)  # the frames the deep-clustering loss sees
    geometry = geometry_for(sr, preset)
    data_dirs = [*corpus_dirs, *labelled_dirs]
    if not data_dirs and not (solo_vocals and solo_accompaniment):
        raise ConfigError("give a --corpus or --labelled folder, or solo vocals and solo "
                          "accompaniment files")
    pairs, provenance = load_stem_pairs(data_dirs, sr, licences) if data_dirs else ([], [])
    solo_licences = list(solo_licences)
    extra_v, prov_v = load_solo(solo_vocals, sr, solo_licences[:len(solo_vocals)])
    extra_a, prov_a = load_solo(solo_accompaniment, sr, solo_licences[len(solo_vocals):])
    provenance += [dict(p, role="solo vocals") for p in prov_v]
    provenance += [dict(p, role="solo accompaniment") for p in prov_a]
    valid_pairs, valid_prov = load_stem_pairs(valid_dirs, sr) if valid_dirs else ([], [])
    try:
        sampler = SegmentSampler(pairs, geometry, seg_frames, remix_prob, seed=seed,
                                 extra_vocals=extra_v, extra_accompaniment=extra_a)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    model = configs.create(arch, size, geometry.n_bins, lookahead_frames, seed=seed).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    log(f"training {arch} ({size}, {sum(p.numel() for p in model.parameters())} parameters) on "
        f"{len(sampler.vocals)} vocal / {len(sampler.accompaniment)} accompaniment sources, "
        f"{epochs} x {steps_per_epoch} steps of {batch}")
    history, started = [], time.perf_counter()
    for epoch in range(epochs):
        losses = []
        for _ in range(steps_per_epoch):
            mag, irm, labels = (torch.from_numpy(a) for a in sampler.batch(batch))
            # The deep-clustering loss sees a random subset of frames: the embeddings of
            # every frame would dominate the step's time and memory for little gain.
            frames = torch.randperm(mag.shape[2])[: min(dc_frames, mag.shape[2])]
            mask, emb = model(mag, embedding_frames=frames)
            weights = magnitude_weights(mag)
            loss_mi = mask_loss(mask, irm, weights)
            loss_dc = deep_clustering_loss(emb, labels[:, :, frames], weights[:, :, frames])
            loss = loss_mi + dc_weight * loss_dc
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimiser.step()
            losses.append((loss_mi.item(), loss_dc.item()))
        mi, dc = np.mean(losses, axis=0)
        history.append({"epoch": epoch + 1, "mask_loss": round(float(mi), 5),
                        "dc_loss": round(float(dc), 5)})
        log(f"epoch {epoch + 1}/{epochs}: mask {mi:.4f}  dc {dc:.4f}  "
            f"({time.perf_counter() - started:.0f} s)")
        last = epoch + 1 == epochs
        if last or (checkpoint_every and (epoch + 1) % checkpoint_every == 0):
            # A checkpoint is a complete model file (atomic writes), so a run stopped early
            # still leaves a usable model with its metrics.
            doc = _save(model, out, geometry, preset, sr, valid_pairs, valid_prov, provenance,
                        history, started, log, dict(
                            arch_size=size, epochs=epochs, steps_per_epoch=steps_per_epoch,
                            batch=batch, seg_frames=seg_frames, dc_frames=dc_frames, lr=lr,
                            dc_weight=dc_weight, remix_prob=remix_prob, seed=seed))
            model.train()
    return doc


def _save(model, out, geometry, preset, sr, valid_pairs, valid_prov, provenance, history,
          started, log, recipe: dict) -> dict:
    from models.io import save_model

    model.eval()
    metrics = {"train_mask_loss": history[-1]["mask_loss"],
               "train_dc_loss": history[-1]["dc_loss"]}
    if valid_pairs:
        metrics.update(evaluate(model, valid_pairs, geometry))
        metrics["valid_sources"] = [p["source"] for p in valid_prov]
        log(f"validation after epoch {len(history)}: {metrics}")
    meta = {
        "sample_rate": sr,
        "stft": {"n_fft": geometry.n_fft, "hop": geometry.hop, "preset": preset},
        "training": {"method": "supervised", "recipe": "offline_training.supervised",
                     "loss": "sqrt-magnitude-weighted IRM MSE + dc_weight x weighted deep "
                             "clustering (vocal-dominance labels)",
                     **recipe, "epochs_done": len(history), "history": history,
                     "seconds": round(time.perf_counter() - started, 1)},
        "provenance": provenance,
        "metrics": metrics,
    }
    return save_model(model, out, meta)
