"""Per-step cost of each primitive and of the clustering/confidence kernels, on one core.

Primitives step through real music (a dev track from ../shared/data, looped so the REPET
history is full; white noise if the data is absent) and only steps taken with a full history
are timed. Prints median and p99 microseconds per step.

    .venv/bin/python benchmarks/kernel_speed.py [--seconds 12]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np  # noqa: E402

from kernels.clustering import cluster_mask  # noqa: E402
from kernels.confidence import posterior_strength, silhouette  # noqa: E402
from rtsep.config import geometry_for  # noqa: E402
from rtsep.core.stft import stft_offline  # noqa: E402
from rtsep.primitives import make_primitives  # noqa: E402

DATA = Path(os.environ.get("RTSEP_SHARED_DATA",
                          Path(__file__).resolve().parents[2] / "shared" / "data"))
TRACK = DATA / "dev" / "Music Delta - 80s Rock" / "mixture.flac"


def music(seconds: float, sr: int = 44100) -> tuple[np.ndarray, str]:
    """Mono ``(1, samples)`` test signal and where it came from."""
    n = int(seconds * sr)
    if TRACK.is_file():
        import soundfile as sf

        x, file_sr = sf.read(TRACK, always_2d=True)
        if file_sr == sr:
            x = x.mean(axis=1)
            return np.tile(x, n // x.size + 1)[None, :n], TRACK.parent.name + " (looped)"
    return 0.1 * np.random.default_rng(0).standard_normal((1, n)), "white noise"


def stats(times_s: list[float]) -> tuple[float, float]:
    t = np.asarray(times_s) * 1e6
    return float(np.median(t)), float(np.percentile(t, 99))


def bench_primitives(preset: str, x: np.ndarray, sr: int) -> None:
    g = geometry_for(sr, preset)
    mags = np.ascontiguousarray(np.abs(stft_offline(x, g)[0]).T)
    prims = make_primitives(("repet", "hpss", "pitch", "score"), g)
    for p in prims:
        p.warmup()
    prims[3].set_notes([220.0, 330.0])  # warm-up resets the notes
    skip = prims[0].n_slots  # time only steps with a full REPET history
    times = {p.name: [] for p in prims}
    for k, mag in enumerate(mags):
        for p in prims:
            t0 = time.perf_counter()
            p.step(mag)
            dt = time.perf_counter() - t0
            if k >= skip:
                times[p.name].append(dt)
    print(f"\npreset {preset}: hop {g.hop} at {sr} Hz, {g.n_bins} bins, REPET history "
          f"{prims[0].n_slots} frames, {len(times['repet'])} timed steps")
    for name, ts in times.items():
        med, p99 = stats(ts)
        print(f"  {name:6s} median {med:7.1f} us   p99 {p99:7.1f} us")
    per_hop = np.sum([times[n] for n in ("repet", "hpss", "pitch")], axis=0)
    med, p99 = stats(list(per_hop))
    print(f"  repet+hpss+pitch per hop: median {med:7.1f} us   p99 {p99:7.1f} us")


def bench_combine(n_bins: int = 1025, dims: int = 3, repeats: int = 2000) -> None:
    rng = np.random.default_rng(0)
    emb = rng.random((n_bins, dims))
    w = np.ones(dims)
    out = np.empty(n_bins)
    cluster_mask(emb, w, 5.0, out)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        cluster_mask(emb, w, 5.0, out)
        ts.append(time.perf_counter() - t0)
    med, p99 = stats(ts)
    print(f"\ncluster_mask ({n_bins} bins, D={dims}): median {med:7.1f} us   p99 {p99:7.1f} us")
    pts = rng.random((1000, dims))
    lab = (pts.mean(axis=1) > 0.5).astype(np.int64)
    post = rng.random(1000)
    silhouette(pts, lab)
    posterior_strength(post)
    for name, fn in (("silhouette", lambda: silhouette(pts, lab)),
                     ("posterior_strength", lambda: posterior_strength(post))):
        ts = []
        for _ in range(200):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        med, p99 = stats(ts)
        print(f"{name} (1000 points, D={dims}): median {med:7.1f} us   p99 {p99:7.1f} us")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--sr", type=int, default=44100)
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    x, source = music(args.seconds, args.sr)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
          f"(pinned to one), python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine inflates p99)")
    print(f"signal: {source}, {args.seconds:.0f} s")
    for preset in ("default", "low-latency"):
        bench_primitives(preset, x, args.sr)
    bench_combine()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
