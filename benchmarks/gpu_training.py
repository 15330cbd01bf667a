"""``gpu_check.py``'s training section: the shipped student architecture trained by the
project's own loop (``offline_training.trainer.train``, the bootstrap recipe's batch of 4
remixed 2 s crops), on the CPU and on the GPU, measured the same way.

Two figures per device, in audio seconds trained per second of wall time
(steps x batch x crop seconds / wall):

- ``end to end``: each step draws its remix on the CPU (``remix.remix_batch``: crops, STFTs,
  targets), exactly as ``python -m offline_training bootstrap`` does;
- ``model only``: four batches drawn beforehand and cycled, so the figure is the
  forward/backward/optimiser step alone (what a faster data pipeline could reach).

The remix sources are the 60 s song's true stems cut into 15 s segments (``SourceBank``).
A first short call of ``train`` (two steps) pays the one-time costs and is not timed; it also
sets how many steps fit in ``CAP_S``, so a slow CPU does not eat the device run's budget.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time

import numpy as np

BATCH, CROP_S, SEGMENT_S = 4, 2.0, 15.0
CAP_S = 40.0  # seconds per measurement, at most about


def _bank(song: dict, folder: str):
    from offline_training.remix import SourceBank

    sr, seg = song["sr"], int(SEGMENT_S * song["sr"])
    keys = []
    for i in range(len(song["vocals"]) // seg):
        key = f"seg{i:02d}"
        SourceBank.write(folder, key, song["vocals"][i * seg:(i + 1) * seg],
                         song["accompaniment"][i * seg:(i + 1) * seg])
        keys.append(key)
    return SourceBank(folder, keys), sr


def _measure(device: str, bank, sr: int, steps: int, mode: str) -> dict:
    import torch

    from offline_training.remix import remix_batch
    from offline_training.trainer import build_student, train
    from rtsep.config import geometry_for

    geometry = geometry_for(sr, "default")
    length = int(CROP_S * sr)
    model = build_student("gru", "student", geometry.n_bins, seed=0)
    if mode == "model only":
        rng = np.random.default_rng(1)
        fixed = itertools.cycle([remix_batch(bank, BATCH, length, geometry, rng)
                                 for _ in range(4)])

        def next_batch(_rng):
            return next(fixed)
    else:
        def next_batch(rng):
            return remix_batch(bank, BATCH, length, geometry, rng)

    quiet = lambda _msg: None  # noqa: E731
    t0 = time.perf_counter()
    train(model, next_batch, steps=2, device=device, log=quiet)
    if device == "cuda":
        torch.cuda.synchronize()
    # Bounded: no more steps than fit in CAP_S at the warm-up's pace (a busy CPU is slow).
    steps = max(2, min(steps, int(CAP_S / max((time.perf_counter() - t0) / 2, 1e-3))))
    t0 = time.perf_counter()
    history = train(model, next_batch, steps=steps, device=device, log=quiet)
    wall = time.perf_counter() - t0  # train() reads each loss back, so the GPU is done
    audio = steps * BATCH * CROP_S
    return {"device": device, "mode": mode, "steps": steps, "wall_s": round(wall, 2),
            "audio_s_per_s": round(audio / wall, 1), "threads": torch.get_num_threads(),
            "last_loss": round(float(history["loss"][-1]), 4),
            "finite": bool(np.all(np.isfinite(history["loss"])))}


def training(run, device, song: dict, steps: int | None) -> None:
    import torch

    rows = run.results.setdefault("training", [])
    cuda = device.type == "cuda"
    threads = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="gpu_check_bank_") as folder:
        bank, sr = _bank(song, folder)
        for dev in ("cpu", "cuda"):
            for mode in ("end to end", "model only"):
                if dev == "cuda" and not cuda:
                    rows.append({"device": dev, "mode": mode, "status": "skipped: no CUDA"})
                    continue
                if run.left() < 30:
                    rows.append({"device": dev, "mode": mode, "status": "skipped: time budget"})
                    continue
                # The CPU uses all its cores, as a training run would.
                torch.set_num_threads(threads)
                n = steps or (30 if dev == "cuda" else 4)
                rows.append(dict(_measure(dev, bank, sr, n, mode), status="ok"))
                run.save()
    base = {r["mode"]: r["audio_s_per_s"] for r in rows if r.get("device") == "cpu"
            and r.get("status") == "ok"}
    for r in rows:
        if r.get("status") == "ok" and r["mode"] in base:
            r["ratio_to_cpu"] = round(r["audio_s_per_s"] / base[r["mode"]], 2)
