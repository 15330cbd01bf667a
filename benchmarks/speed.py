"""Speed of the engine: real-time factor per preset on one core, p99 compute per hop, and the
throughput of `rtsep separate` against librosa's offline references on the same file.

    .venv/bin/python benchmarks/speed.py [--seconds 30] [--repeats 3] [--write]
    .venv/bin/python benchmarks/speed.py --only "primitive clustering,refiner" --no-files \
        --section "## Speed of the refiners" --write

``--only`` keeps the rows whose label contains one of the comma-separated words; ``--no-files``
skips the file-throughput table.

Figures are medians over ``--repeats`` runs; ratios are taken within the same run because the
machines are noisy. ``--write`` replaces the "## Speed" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime
import resource
import statistics
import time

from common import machine, replace_section  # noqa: E402
from librosa_refs import REFERENCES  # noqa: E402

from rtsep.config import EngineConfig  # noqa: E402
from rtsep.evaluation.profile import pin_to_one_core, profile_engine, rendered_signal  # noqa: E402
from rtsep.separate import separate_array  # noqa: E402


def run(seconds: float, repeats: int, only=None, files: bool = True,
        section: str = "## Speed") -> str:
    pin_to_one_core()
    sr = 44100
    x = rendered_signal(sr, seconds, channels=2)
    rows = []
    setups = [
        ("default", "primitive clustering", EngineConfig()),
        ("low-latency", "primitive clustering", EngineConfig(preset="low-latency")),
        ("default", "bootstrap-gru (onnx)",
         EngineConfig(models=("bootstrap-gru",), use_primitives=False, backend="onnx")),
        ("default", "bootstrap-gru (torch)",
         EngineConfig(models=("bootstrap-gru",), use_primitives=False, backend="torch")),
        ("default", "refiner-small (torch; runs its 3 primitives itself)",
         EngineConfig(models=("refiner-small",), use_primitives=False, backend="torch")),
        ("default", "refiner-small (onnx; runs its 3 primitives itself)",
         EngineConfig(models=("refiner-small",), use_primitives=False, backend="onnx")),
        *[("default", f"{name} ({backend}; runs its 3 primitives itself)",
           EngineConfig(models=(name,), use_primitives=False, backend=backend))
          for name in NEW_REFINERS for backend in ("onnx", "torch")],
        *[("default", f"pcl + {name}, switching (onnx)",
           EngineConfig(models=(name,), use_primitives=True, backend="onnx"))
          for name in NEW_REFINERS],
        ("default", "pcl + bootstrap-gru, switching",
         EngineConfig(models=("bootstrap-gru",), use_primitives=True, backend="onnx")),
        ("low-latency", "pcl + bootstrap-gru, switching",
         EngineConfig(preset="low-latency", models=("bootstrap-gru",), backend="onnx")),
    ]
    if only:
        setups = [s for s in setups if any(w in s[1] for w in only)]
    for preset, label, config in setups:
        reports = [profile_engine(config, signal=x, sr=sr) for _ in range(repeats)]
        rtf = statistics.median(r["rtf"] for r in reports)
        stat = {k: statistics.median(r["stages"]["total"][k] for r in reports)
                for k in ("p50_ms", "p99_ms", "max_ms")}
        prim_p99, model_p99 = (statistics.median(r["stages"][k]["p99_ms"] for r in reports)
                               for k in ("primitives", "models"))
        r0 = reports[0]
        rows.append(f"| {preset} | {label} | {r0['hop']} | {r0['latency_ms']:.2f} | {rtf:.3f} | "
                    f"{stat['p50_ms']:.3f} | {stat['p99_ms']:.3f} | {stat['max_ms']:.3f} | "
                    f"{prim_p99:.3f} | {model_p99:.3f} | {r0['hop_ms']:.2f} |")
    head = _head(section, seconds, repeats, only, files)
    if not files:
        return "\n".join([*head, *rows, "", HOP_NOTE, ""])
    # throughput: the whole `rtsep separate` path against librosa's offline references
    through = {}
    pcl_file = "rtsep separate --primitives-only"
    for name, fn in [(pcl_file, lambda: separate_array(x, sr, EngineConfig())),
                     *[(k, (lambda f=f: f(x, sr))) for k, f in REFERENCES.items()]]:
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        through[name] = statistics.median(times)
    base = through[pcl_file]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        *head,
        *rows,
        "",
        HOP_NOTE,
        "",
        "Throughput on the same file (seconds of compute; ratio = time / rtsep's time):",
        "",
        "| method | seconds | x real time | ratio to rtsep separate |",
        "| --- | --- | --- | --- |",
    ]
    for name, t in through.items():
        lines.append(f"| {name} | {t:.2f} | {seconds / t:.1f} | {t / base:.2f} |")
    lines += ["", f"Peak resident memory of the benchmark process: {peak_mb:.0f} MB.", ""]
    return "\n".join(lines)


NEW_REFINERS: tuple[str, ...] = ("refiner-local",)
HOP_NOTE = ("Whole hop = STFT, candidates (primitives and/or the shipped model named in the "
            "row), clustering, confidence, ISTFT, on one thread; the real-time goal for a "
            "model is p99 at most half a hop.")


def _head(section, seconds, repeats, only, files) -> list[str]:
    import os

    flags = (f" --only {','.join(only)!r}" if only else "") + ("" if files else " --no-files")
    flags += "" if section == "## Speed" else f" --section {section!r}"
    return [
        section,
        "",
        f"Machine: {machine()}, pinned to one core; load average before the run "
        f"{os.getloadavg()[0]:.2f}. Date: {datetime.date.today()}. Command: "
        f"`.venv/bin/python benchmarks/speed.py --seconds {seconds:g} --repeats {repeats}"
        f"{flags} --write`.",
        f"Signal: the rendered default song, {seconds:g} s, 44.1 kHz stereo. Medians of "
        f"{repeats} runs.",
        "",
        "| preset | candidates | hop | latency ms | rtf (compute/audio) | p50 ms/hop | "
        "p99 ms/hop | max ms/hop | p99 ms of the primitives stage | p99 ms of the models "
        "stage (a refiner's own primitives included) | hop ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    ap.add_argument("--only", default=None, help="comma-separated words; rows whose label "
                    "contains one of them")
    ap.add_argument("--no-files", action="store_true", help="skip the file-throughput table")
    ap.add_argument("--section", default="## Speed", help="BENCHMARKS.md section to write")
    args = ap.parse_args()
    only = [w.strip() for w in args.only.split(",") if w.strip()] if args.only else None
    table = run(args.seconds, args.repeats, only, not args.no_files, args.section)
    print(table)
    if args.write:
        replace_section(args.section, table)
