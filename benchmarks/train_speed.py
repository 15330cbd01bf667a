"""Training throughput: seconds of audio trained on per wall-clock second, before and after.

    .venv/bin/python benchmarks/train_speed.py [--steps 12] [--threads 2] [--write]

Every row trains the same way its recipe does (data drawn, transformed, forward, backward,
Adam step) on the real stems of ``shared/data/train`` for ``--steps`` timed steps after two
untimed ones, and reports audio seconds per wall second (the median of three blocks):

- before: ``train-supervised``'s loop (``SegmentSampler``: a float64 numpy STFT per example)
  with the shippable GRU, and the bootstrap student's loop (``remix_batch`` + the chimera
  loss over every frame's embedding) with its 183k-parameter GRU;
- after: the real-stem pipeline (``offline_training.batches`` + ``fit.batch_loss``): fresh
  remixes for the GRU, pool crops with primitive masks for the refiner, eager or compiled,
  with the batches made in the same process or in a worker.

``--write`` replaces the "## Training throughput" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import machine, replace_section

SECTION = "## Training throughput"


def _timed(step, steps: int) -> float:
    """Median over three blocks of audio seconds per wall second; ``step()`` returns the
    audio seconds it trained on."""
    for _ in range(2):
        step()
    rates = []
    for _ in range(3):
        t0, audio = time.perf_counter(), 0.0
        for _ in range(max(1, steps // 3)):
            audio += step()
        rates.append(audio / (time.perf_counter() - t0))
    return float(np.median(rates))


def before_supervised(pairs, geometry, steps: int) -> float:
    from models.configs import create
    from offline_training.losses import deep_clustering_loss, magnitude_weights, mask_loss
    from offline_training.stem_pairs import SegmentSampler

    sampler = SegmentSampler(pairs, geometry, 100, 0.5, seed=0)
    model = create("CausalGRUSeparator", "small", geometry.n_bins).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        mag, irm, labels = (torch.from_numpy(a) for a in sampler.batch(8))
        frames = torch.randperm(mag.shape[2])[:16]
        mask, emb = model(mag, embedding_frames=frames)
        w = magnitude_weights(mag)
        loss = mask_loss(mask, irm, w) + deep_clustering_loss(emb, labels[:, :, frames],
                                                              w[:, :, frames])
        opt.zero_grad()
        loss.backward()
        opt.step()
        return 8 * 100 * geometry.hop / geometry.sr

    return _timed(step, steps)


def before_bootstrap(pairs, geometry, steps: int) -> float:
    from offline_training.remix import SourceBank, remix_batch
    from offline_training.trainer import build_student, chimera_loss

    folder = Path(tempfile.mkdtemp(prefix="rtsep-speed-"))
    keys = [f"k{i}" for i in range(len(pairs))]
    for key, p in zip(keys, pairs):
        SourceBank.write(folder, key, p.vocals, p.accompaniment)
    bank = SourceBank(folder, keys)
    model = build_student("gru", "student", geometry.n_bins).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    length = 2 * geometry.sr

    def step():
        total, _, _ = chimera_loss(model, remix_batch(bank, 4, length, geometry, rng), 1.0)
        opt.zero_grad()
        total.backward()
        opt.step()
        return 4 * length / geometry.sr

    return _timed(step, steps)


def after(make, model, steps: int, compiled: bool, workers: int) -> float:
    from offline_training.fit import batch_loss
    from offline_training.prefetch import batch_stream

    net = torch.compile(model) if compiled else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    stream = batch_stream(make, 0, 0, workers)
    model.train()

    def step():
        batch = next(stream)
        total, _, _ = batch_loss(net, batch, 0.5, 16)
        opt.zero_grad()
        total.backward()
        opt.step()
        return batch["seconds"]

    return _timed(step, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from offline_training.batches import RemixBatches
    from offline_training.prim_pool import PrimitivePool
    from offline_training.splits import Policy, default_dev_dirs
    from offline_training.stem_bank import StemBank
    from offline_training.stem_pairs import StemPair
    from offline_training.train_stems import StemTrainOptions, build_model
    from rtsep.config import geometry_for
    from rtsep.io.datasets import shared_data_root, track_folders

    g = geometry_for(44100)
    train = shared_data_root() / "train"
    tracks = Policy(default_dev_dirs()).split(
        [t for name in ("mir1k", "musdb7") for t in track_folders(train / name)])["train"]
    tracks = tracks[::6]  # a sixth of the clips: the pipelines, not the disk, are measured
    cache = Path(os.environ.get("RTSEP_STEM_CACHE", tempfile.mkdtemp(prefix="rtsep-stems-")))
    bank = StemBank.build(tracks, cache)
    idx = np.arange(len(bank))
    pairs = [StemPair(e.name, bank.vocals(i).astype(np.float32).mean(0),
                      bank.accompaniment(i).astype(np.float32).mean(0))
             for i, e in enumerate(bank.entries)]
    rows = []
    load0 = os.getloadavg()[0]
    rows.append(("before", "train-supervised loop, numpy STFT per example", "GRU small (0.55 M)",
                 before_supervised(pairs, g, args.steps)))
    rows.append(("before", "bootstrap student loop, remix_batch", "GRU student (0.18 M)",
                 before_bootstrap(pairs, g, args.steps)))
    gru = build_model(StemTrainOptions(data=[], out="", arch="gru"), g)
    make = RemixBatches(bank, idx, g, 128, 16)
    for workers in (0, 1):
        rows.append(("after", f"train-stems, fresh remixes, {workers} worker(s)",
                     "GRU small (0.55 M)", after(make, gru, args.steps, False, workers)))
    refiner = build_model(StemTrainOptions(data=[], out=""), g)
    pool = PrimitivePool(bank, idx, g, refiner.input_primitives, refiner.primitive_bins, 24,
                         6.0, Path(tempfile.mkdtemp(prefix="rtsep-pool-")))
    from offline_training.batches import PoolBatches

    pmake = PoolBatches(pool, 128, 16, 0.0)
    for compiled, workers in ((False, 0), (False, 1), (True, 1)):
        label = f"train-stems, primitive pool, {'compiled' if compiled else 'eager'}, " \
                f"{workers} worker(s)"
        rows.append(("after", label, "refiner (0.39 M, 3 primitives)",
                     after(pmake, refiner, args.steps, compiled, workers)))
    # the shipped size: small plus the frequency-local branch over the primitives' bins
    local = build_model(StemTrainOptions(data=[], out="", size="small-local"), g)
    n_params = sum(p.numel() for p in local.parameters()) / 1e6
    rows.append(("after", "train-stems, primitive pool, compiled, 1 worker(s)",
                 f"refiner small-local ({n_params:.2f} M, 3 primitives)",
                 after(pmake, local, args.steps, True, 1)))
    load1 = os.getloadavg()[0]
    base = rows[0][3]
    lines = ["| | loop | model | audio s per wall s | ratio to train-supervised |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} | {r:.1f} | {r / base:.2f} |" for a, b, c, r in rows]
    table = "\n".join(lines)
    print(table)
    print(f"load average {load0:.1f} before, {load1:.1f} after")
    if args.write:
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        text = (f"{SECTION}\n\nMachine: {machine()}; torch threads {args.threads}; load average "
                f"{load0:.1f} before and {load1:.1f} after (other engineers' jobs share the "
                f"two cores, so absolute rates are lower bounds; the ratios are measured in the "
                f"same run). Date: {date}. Command: `python benchmarks/train_speed.py "
                f"--steps {args.steps} --threads {args.threads} --write`\n\n{table}\n")
        replace_section(SECTION, text)


if __name__ == "__main__":
    main()
