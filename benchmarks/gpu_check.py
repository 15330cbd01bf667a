"""The GPU path checked and timed in one short run: JSON + markdown under ``--out`` ($OUT).

    bash benchmarks/gpu_check.sh                        # on the device (installs, then this)
    python benchmarks/gpu_check.py --prepare            # here first: the song, into .gpucheck/
    .venv/bin/python benchmarks/gpu_check.py --dry-run --out /tmp/gpu_check   # CPU rehearsal

Sections, each written to ``OUT/gpu_check.json`` and ``OUT/gpu_check.md`` when done:

1. ``env``: versions, device, what is installed.
2. ``correctness``: every runner (``gpu_runners``) against the ``torch`` CPU backend on each
   shipped model, ``--hops`` (1000) magnitude frames of the song, state carried from a zero
   state; max |difference| of mask and embedding must be <= ``TOL``.
3. ``timing``: p50 / p99 microseconds per hop, batch 1, host arrays in and out, for the
   shipped sizes first, then larger ones (``models.configs``), GPU runners and the two CPU
   backends (one core, one thread) side by side.
4. ``engine``: the whole engine on the 60 s song with ``--backend cuda-graph`` (and ``auto``,
   ``onnx``): real-time factor and per-hop p99 (``rtsep.profile.profile_engine``).
5. ``training``: ``offline_training.trainer.train`` on the shipped student architecture,
   audio seconds per second on the GPU against the CPU, measured the same way.

``--dry-run`` (no CUDA needed) runs the same code with the GPU runners on the CPU: ``eager``
and ``torch.compile`` on CPU tensors, ``cuda-graph`` through its CPU stand-in (no capture);
``tensorrt`` is reported as skipped, with the ``torch.export`` graph it would compile checked
instead. Its figures are CPU figures: nothing in a dry run is a GPU measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gpu_report  # noqa: E402
import gpu_song  # noqa: E402
import gpu_training  # noqa: E402
from gpu_runners import Skipped, export_ops, make_runner, run_frames  # noqa: E402

TOL = 1e-3  # max |difference| of mask and embedding, float32 everywhere (TF32 off)
SHIPPED = ("bootstrap-gru", "supervised-gru", "gru_small_supervised")
SIZES = ("student", "small", "medium", "large", "xlarge")  # shipped sizes first
GPU_KINDS = ("eager", "torch.compile", "cuda-graph/cudnn", "cuda-graph/cells", "tensorrt")
CPU_KINDS = ("torch", "onnx")


def failed(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"FAILED: {type(exc).__name__}: {text[:300]}"


class Run:
    """Results, the clock and the output files of one run."""

    def __init__(self, out: Path, budget_s: float, dry_run: bool):
        self.out, self.budget_s, self.dry_run = out, budget_s, dry_run
        self.t0 = time.perf_counter()
        self.results: dict = {"dry_run": dry_run, "tolerance": TOL}
        out.mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.t0)

    def save(self) -> None:
        self.results["elapsed_s"] = round(time.perf_counter() - self.t0, 1)
        for name, text in (("gpu_check.json", json.dumps(self.results, indent=1) + "\n"),
                           ("gpu_check.md", gpu_report.markdown(self.results))):
            tmp = self.out / f".{name}.tmp"
            tmp.write_text(text)
            os.replace(tmp, self.out / name)


@contextlib.contextmanager
def one_core():
    """This thread on one CPU core, as the engine's worker runs; restored afterwards."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    saved = os.sched_getaffinity(0)
    core = sorted(saved)[-1]
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, saved)


def env_section(device) -> dict:
    import torch

    info = {"python": platform.python_version(), "torch": torch.__version__,
            "cuda_available": torch.cuda.is_available(), "cpu": gpu_report.cpu_model(),
            "cpu_count": os.cpu_count(), "device": str(device)}
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], text=True,
                                        capture_output=True, timeout=10).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        info["commit"] = "?"  # the device gets a copy of the tree, maybe without .git
    if torch.cuda.is_available():
        info.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    for package in ("onnxruntime", "torch_tensorrt", "tensorrt"):
        try:
            info[package] = __import__(package).__version__
        except Exception as exc:  # absent or broken: say which
            info[package] = f"unavailable ({type(exc).__name__})"
    return info


def where(kind: str, device) -> str:
    if kind in CPU_KINDS:
        return "cpu, 1 core"
    return str(device) if device.type == "cuda" else "cpu (dry-run stand-in)"


def correctness(run: Run, device, frames: np.ndarray) -> None:
    from models.catalog import resolve
    from models.io import load_model

    rows = run.results.setdefault("correctness", [])
    for name in SHIPPED:
        model, meta = load_model(resolve(name))
        ref_mask, ref_emb = run_frames(make_runner("torch", model, "cpu"), frames)
        for kind in ("onnx", *GPU_KINDS, "auto"):
            row = {"model": name, "runner": kind, "where": where(kind, device)}
            rows.append(row)
            if run.left() < 60:
                row["status"] = "skipped: time budget"
                continue
            try:
                runner = make_runner(kind, model, device, meta)
                if kind == "auto":
                    row["where"] = f"auto chose {runner.backend.name}"
                mask, emb = run_frames(runner, frames)
            except Skipped as exc:
                row["status"] = str(exc)
                continue
            except Exception as exc:
                row["status"] = failed(exc)
                continue
            d_mask = float(np.abs(mask - ref_mask).max())
            d_emb = float(np.abs(emb - ref_emb).max())
            row.update(hops=len(frames), max_diff_mask=d_mask, max_diff_emb=d_emb,
                       status="pass" if max(d_mask, d_emb) <= TOL else "FAIL")
            backend = getattr(runner, "backend", None)
            if backend is not None:
                row["detail"] = backend.describe() if kind == "auto" else repr(backend)
        run.save()
    if device.type != "cuda":
        model, _ = load_model(resolve(SHIPPED[0]))
        ops = export_ops(model)
        run.results["tensorrt_export"] = {
            "ops": ops, "opaque_rnn": any("gru" in op or "rnn" in op for op in ops)}
        run.save()


def _model_of_size(size: str):
    from models import configs
    from offline_training.trainer import build_student

    if size == "student":
        return build_student("gru", "student", 1025, seed=0)
    return configs.create("CausalGRUSeparator", size, 1025, seed=0)


def _time(runner, frames, steps: int, cap_s: float) -> dict:
    t_first = time.perf_counter()
    for f in frames[:20]:
        runner.step(f)  # first calls: compilation, autotuning, allocation
    first_s = time.perf_counter() - t_first
    runner.reset()
    times, clock, stop = [], time.perf_counter_ns, time.perf_counter() + cap_s
    for i in range(steps):
        t0 = clock()
        runner.step(frames[i % len(frames)])
        times.append(clock() - t0)
        if time.perf_counter() > stop and i >= 100:
            break
    us = np.array(times) / 1000.0
    return {"p50_us": round(float(np.percentile(us, 50)), 1),
            "p99_us": round(float(np.percentile(us, 99)), 1),
            "max_us": round(float(us.max()), 1), "steps": len(us),
            "first_calls_s": round(first_s, 2)}


def timing(run: Run, device, frames, sizes, steps: int, cap_s: float, kinds) -> None:
    import torch

    rows = run.results.setdefault("timing", [])
    # One thread, as the engine's worker runs the model (the training section sets more).
    torch.set_num_threads(1)
    for size in sizes:
        model = _model_of_size(size)
        params = sum(p.numel() for p in model.parameters())
        for kind in kinds:
            row = {"size": size, "params_m": round(params / 1e6, 2), "runner": kind,
                   "where": where(kind, device)}
            rows.append(row)
            if run.left() < 30:
                row["status"] = "skipped: time budget"
                continue
            try:
                t0 = time.perf_counter()
                with (one_core() if kind in CPU_KINDS else contextlib.nullcontext()):
                    runner = make_runner(kind, model, device)
                    row["build_s"] = round(time.perf_counter() - t0, 2)
                    row.update(_time(runner, frames, steps, cap_s))
                row["status"] = "ok"
                if kind == "cuda-graph":
                    row["detail"] = repr(runner.backend)
            except Skipped as exc:
                row["status"] = str(exc)
            except Exception as exc:
                row["status"] = failed(exc)
        run.save()


def engine(run: Run, device, song) -> None:
    from rtsep.config import EngineConfig
    from rtsep.evaluation.profile import profile_engine

    rows = run.results.setdefault("engine", [])
    for name in ("bootstrap-gru", "gru_small_supervised"):
        for backend in ("cuda-graph", "auto", "onnx"):
            row = {"model": name, "backend": backend, "seconds": song["mixture"].shape[1]
                   / song["sr"]}
            rows.append(row)
            if backend == "cuda-graph" and device.type != "cuda":
                row["status"] = "skipped: no CUDA"
                continue
            if run.left() < 30:
                row["status"] = "skipped: time budget"
                continue
            config = EngineConfig(models=(name,), use_primitives=False, backend=backend)
            try:
                with one_core():
                    rep = profile_engine(config, signal=song["mixture"], sr=song["sr"])
            except Exception as exc:
                row["status"] = failed(exc)
                continue
            total, model = rep["stages"]["total"], rep["stages"]["models"]
            row.update(status="ok", rtf=round(rep["rtf"], 4), hop_ms=round(rep["hop_ms"], 3),
                       p50_ms=round(total["p50_ms"], 3), p99_ms=round(total["p99_ms"], 3),
                       max_ms=round(total["max_ms"], 3), model_p99_ms=round(model["p99_ms"], 3),
                       backend_choice=rep["backends"].get(name))
        run.save()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu_check_out")))
    ap.add_argument("--dry-run", action="store_true", help="no CUDA: rehearse on the CPU")
    ap.add_argument("--prepare", action="store_true", help="render the song and stop")
    ap.add_argument("--song", type=Path, default=gpu_song.SONG)
    ap.add_argument("--hops", type=int, default=1000, help="frames of the correctness check")
    ap.add_argument("--steps", type=int, default=1000, help="timed steps per runner")
    ap.add_argument("--cap-s", type=float, default=4.0, help="timing cap per runner")
    ap.add_argument("--sizes", default=",".join(SIZES))
    ap.add_argument("--kinds", default=",".join(("cuda-graph", *GPU_KINDS, *CPU_KINDS)),
                    help="runners timed (gpu_runners), e.g. torch,onnx for the CPU column")
    ap.add_argument("--train-steps", type=int, default=None)
    ap.add_argument("--budget-s", type=float, default=420.0, help="stop starting work after")
    ap.add_argument("--skip", default="", help="sections to skip, e.g. training,engine")
    args = ap.parse_args()
    if args.prepare:
        print(f"wrote {gpu_song.prepare(args.song)}")
        return
    import torch

    if not torch.cuda.is_available() and not args.dry_run:
        raise SystemExit("gpu_check: error: no CUDA device is visible to torch; "
                         "use --dry-run to rehearse on the CPU")
    # Full float32 on the GPU for the comparison with the CPU (cuDNN defaults to TF32).
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    # ONNX exports go to a scratch folder, not ~/.cache and not OUT (only a few files return).
    os.environ.setdefault("RTSEP_CACHE_DIR", tempfile.mkdtemp(prefix="gpu_check_cache_"))
    device = torch.device("cuda" if torch.cuda.is_available() and not args.dry_run else "cpu")
    run = Run(args.out, args.budget_s, args.dry_run)
    run.results["env"] = env_section(device)
    run.results["command"] = " ".join(["python", *sys.argv])
    run.save()
    song = gpu_song.load(args.song)
    frames = gpu_song.magnitude_frames(song["mixture"], song["sr"], 100, args.hops)
    sizes = [s for s in args.sizes.split(",") if s]
    shipped = [s for s in sizes if s in ("student", "small")]
    skip = set(args.skip.split(","))
    kinds = [k for k in args.kinds.split(",") if k]
    steps = {"correctness": lambda: correctness(run, device, frames),
             "timing": lambda: timing(run, device, frames, shipped, args.steps, args.cap_s,
                                      kinds),
             "engine": lambda: engine(run, device, song),
             "training": lambda: gpu_training.training(run, device, song, args.train_steps),
             "timing-large": lambda: timing(run, device, frames,
                                            [s for s in sizes if s not in shipped],
                                            args.steps, args.cap_s, kinds)}
    for name, fn in steps.items():
        if name.split("-")[0] in skip:
            continue
        t0 = time.perf_counter()
        fn()
        print(f"gpu_check: {name} done in {time.perf_counter() - t0:.0f} s", flush=True)
        run.save()
    print(gpu_report.markdown(run.results))


if __name__ == "__main__":
    main()
