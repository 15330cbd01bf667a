"""Supervised training of a causal chimera separator on labelled stems.

Targets come from the true stems: the ideal ratio mask |V| / (|V| + |A|) for the mask head and
the dominant source of every bin for the deep-clustering head (weighted by sqrt magnitude).
The STFT is the engine's (``rtsep.config.geometry_for``, ``rtsep.stft.stft_offline``).

    python -m offline_training.supervised --corpus DIR [--labelled DIR ...] \
        --out models/weights/NAME --arch CausalGRUSeparator --size small --epochs 20

(``python -m offline_training train-supervised ...`` once that entry point registers it.)
Writes ``NAME.safetensors`` + ``NAME.json`` with the recipe, the data's provenance and
validation metrics (SI-SDR of the vocals on ``--valid`` tracks, streamed frame by frame).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

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

    from rtsep.metrics import si_sdr
    from rtsep.stft import istft_offline, stft_offline

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
                     arch="CausalGRUSeparator", size="small", lookahead_frames=0,
                     preset="default", sr=44100, epochs=10, steps_per_epoch=50, batch=8,
                     seg_frames=100, lr=1e-3, dc_weight=1.0, remix_prob=0.5, seed=0,
                     threads=2, log=print) -> dict:
    """Train and save a model; returns the JSON written. Data folders are MUSDB-style."""
    import torch

    from models import configs
    from models.io import save_model
    from rtsep.config import geometry_for

    from .losses import deep_clustering_loss, magnitude_weights, mask_loss
    from .stem_pairs import SegmentSampler, load_stem_pairs

    _set_threads(threads)
    geometry = geometry_for(sr, preset)
    data_dirs = [*corpus_dirs, *labelled_dirs]
    if not data_dirs:
        raise ValueError("give at least one --corpus or --labelled folder")
    pairs, provenance = load_stem_pairs(data_dirs, sr, licences)
    valid_pairs, valid_prov = load_stem_pairs(valid_dirs, sr) if valid_dirs else ([], [])
    sampler = SegmentSampler(pairs, geometry, seg_frames, remix_prob, seed=seed)
    model = configs.create(arch, size, geometry.n_bins, lookahead_frames, seed=seed).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    log(f"training {arch} ({size}, {sum(p.numel() for p in model.parameters())} parameters) on "
        f"{len(sampler.pairs)} tracks, {epochs} x {steps_per_epoch} steps of {batch}")
    history, started = [], time.perf_counter()
    for epoch in range(epochs):
        losses = []
        for _ in range(steps_per_epoch):
            mag, irm, labels = (torch.from_numpy(a) for a in sampler.batch(batch))
            mask, emb = model(mag)
            weights = magnitude_weights(mag)
            loss_mi = mask_loss(mask, irm, weights)
            loss_dc = deep_clustering_loss(emb, labels, weights)
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
    model.eval()
    metrics = {"train_mask_loss": history[-1]["mask_loss"],
               "train_dc_loss": history[-1]["dc_loss"]}
    if valid_pairs:
        metrics.update(evaluate(model, valid_pairs, geometry))
        metrics["valid_sources"] = [p["source"] for p in valid_prov]
        log(f"validation: {metrics}")
    meta = {
        "sample_rate": sr,
        "stft": {"n_fft": geometry.n_fft, "hop": geometry.hop, "preset": preset},
        "training": {"method": "supervised", "recipe": "offline_training.supervised",
                     "loss": "sqrt-magnitude-weighted IRM MSE + dc_weight x weighted deep "
                             "clustering (vocal-dominance labels)",
                     "arch_size": size, "epochs": epochs, "steps_per_epoch": steps_per_epoch,
                     "batch": batch, "seg_frames": seg_frames, "lr": lr, "dc_weight": dc_weight,
                     "remix_prob": remix_prob, "seed": seed, "history": history,
                     "seconds": round(time.perf_counter() - started, 1)},
        "provenance": provenance,
        "metrics": metrics,
    }
    return save_model(model, out, meta)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of train-supervised, for any entry point that wants the subcommand."""
    parser.add_argument("--corpus", action="append", default=[], type=Path,
                        help="rendered corpus folder (TRACK/{mixture,vocals,accompaniment}.*)")
    parser.add_argument("--labelled", action="append", default=[], type=Path,
                        help="real labelled folder, same layout (repeatable)")
    parser.add_argument("--valid", action="append", default=[], type=Path,
                        help="labelled folder for validation metrics (not trained on)")
    parser.add_argument("--licence", action="append", default=[],
                        help="licence of each --corpus/--labelled folder, in order "
                             "(else its provenance.json, else 'unknown')")
    parser.add_argument("--out", required=True, type=Path, help="output stem: DIR/NAME")
    parser.add_argument("--arch", default="CausalGRUSeparator")
    parser.add_argument("--size", default="small", help="models.configs size: tiny, small")
    parser.add_argument("--lookahead", type=int, default=0, help="look-ahead frames")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--steps-per-epoch", type=int, default=50)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seg-frames", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--dc-weight", type=float, default=1.0)
    parser.add_argument("--remix-prob", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)


def run(args: argparse.Namespace) -> dict:
    return train_supervised(
        args.corpus, args.out, labelled_dirs=args.labelled, valid_dirs=args.valid,
        licences=args.licence, arch=args.arch, size=args.size,
        lookahead_frames=args.lookahead, preset=args.preset, epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch, batch=args.batch, seg_frames=args.seg_frames,
        lr=args.lr, dc_weight=args.dc_weight, remix_prob=args.remix_prob, seed=args.seed,
        threads=args.threads)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m offline_training.supervised",
                                     description="Train a causal separator on labelled stems.")
    add_arguments(parser)
    doc = run(parser.parse_args(argv))
    print(f"wrote {doc['name']}.json / .safetensors; metrics {doc['metrics']}")


if __name__ == "__main__":
    main()
