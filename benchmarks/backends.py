"""Per-hop model compute of the inference backends: p50 / p99 microseconds per step.

Usage: .venv/bin/python benchmarks/backends.py [--steps 3000] [--size small] [--core 0]

The process is pinned to one CPU core and every backend runs single-threaded, as in the engine.
Each step is one STFT frame of 1025 bins (n_fft 2048 at 44.1 kHz). The budget: the p99 of model
compute per hop must stay below half the hop duration (default preset, hop 256 at 44.1 kHz:
5.8 ms, so < 2.9 ms). On a CUDA machine it also times eager GPU steps, torch.compile, the
CUDA graph backend and TensorRT (``gpu_runners``). Prints a markdown table for BENCHMARKS.md ("## Model backends").
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

N_BINS = 1025
HOP_MS = 1000.0 * 256 / 44100
ARCHS = ("CausalGRUSeparator", "CausalTCNSeparator")


def _time_steps(step, frames, warmup: int) -> np.ndarray:
    for f in frames[:warmup]:
        step(f)
    times = np.empty(len(frames))
    clock = time.perf_counter_ns
    for i, f in enumerate(frames):
        t0 = clock()
        step(f)
        times[i] = clock() - t0
    return times / 1000.0  # microseconds


def _row(label, arch, params, times):
    p50, p99 = np.percentile(times, [50, 99])
    ok = "yes" if p99 / 1000.0 < HOP_MS / 2 else "NO"
    return f"| {label} | {arch} | {params / 1e6:.2f} M | {p50:.0f} | {p99:.0f} | {ok} |"


def _gpu_rows(model_for, frames, warmup):
    # The same runners as benchmarks/gpu_check.py (which also checks their correctness).
    from gpu_runners import Skipped, make_runner

    rows = []
    for arch in ARCHS:
        model = model_for(arch)
        params = sum(p.numel() for p in model.parameters())
        for kind in ("eager", "torch.compile", "cuda-graph", "tensorrt"):
            try:
                runner = make_runner(kind, model, "cuda")
            except Skipped:
                continue
            except Exception as exc:  # e.g. torch_tensorrt missing: say so in the table
                rows.append(f"| cuda {kind} | {arch} | {params / 1e6:.2f} M | - | - | "
                            f"{type(exc).__name__} |")
                continue
            rows.append(_row(f"cuda {kind}", arch, params,
                             _time_steps(runner.step, frames, warmup)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--size", default="small", help="models.configs size (tiny, small)")
    ap.add_argument("--core", type=int, default=0, help="CPU core to pin to")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})

    import torch

    from models import configs
    from rtsep.backends import make_backend

    def model_for(arch):
        return configs.create(arch, args.size, N_BINS, seed=0)

    rng = np.random.default_rng(0)
    frames = (rng.random((args.steps, N_BINS)) ** 3 * 20.0).astype(np.float32)
    rows = []
    for arch in ARCHS:
        params = sum(p.numel() for p in model_for(arch).parameters())
        for name in ("torch", "onnx"):
            backend = make_backend(name, model_for(arch))
            backend.warmup()
            rows.append(_row(name, arch, params, _time_steps(backend.step, frames, args.warmup)))
    if torch.cuda.is_available():
        rows += _gpu_rows(model_for, frames, args.warmup)
    import onnxruntime

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(l.split(":", 1)[1].strip() for l in fh if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"machine: {cpu}, pinned to core {args.core}; torch {torch.__version__}, "
          f"onnxruntime {onnxruntime.__version__}; size {args.size!r}, {args.steps} steps "
          f"after {args.warmup} warm-up; budget p99 < {HOP_MS / 2 * 1000:.0f} us")
    print()
    print("| backend | architecture | params | p50 us | p99 us | p99 < hop/2 |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
