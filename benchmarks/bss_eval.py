"""Our BSS Eval v4 against museval: the same numbers, and how long each takes.

rtsep keeps its own implementation (``rtsep.evaluation.metrics.bss_eval_v4``) only if it
agrees with museval and is faster; this script measures both on the dev tracks (the primitive
clustering estimates that `rtsep eval` scores), same inputs, interleaved runs, median of
``--repeats``.

    python benchmarks/bss_eval.py --repeats 3 [--write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import machine, replace_section  # noqa: E402
from rtsep.config import EngineConfig  # noqa: E402
from rtsep.evaluation.metrics import bss_eval_v4  # noqa: E402
from rtsep.io.datasets import dev_set, iter_tracks  # noqa: E402
from rtsep.separate import separate_array  # noqa: E402


def museval_v4(refs: np.ndarray, ests: np.ndarray, sr: int) -> np.ndarray:
    import museval

    return np.array(museval.evaluate(refs.transpose(0, 2, 1), ests.transpose(0, 2, 1),
                                     win=sr, hop=sr))


def ours_v4(refs: np.ndarray, ests: np.ndarray, sr: int) -> np.ndarray:
    out = bss_eval_v4(refs, ests, window=sr, hop=sr)
    return np.array([out[k] for k in ("sdr", "isr", "sir", "sar")])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = ap.parse_args()
    rows, worst = [], 0.0
    total = {"museval": 0.0, "rtsep": 0.0}
    for track in iter_tracks(dev_set(required=True)):
        v, k = separate_array(track.mixture, track.sr, EngineConfig())
        refs, ests = np.stack([track.vocals, track.accompaniment]), np.stack([v, k])
        times = {"museval": [], "rtsep": []}
        results = {}
        for _ in range(args.repeats):  # interleaved, so both see the same machine load
            for name, fn in (("museval", museval_v4), ("rtsep", ours_v4)):
                t0 = time.perf_counter()
                results[name] = fn(refs, ests, track.sr)
                times[name].append(time.perf_counter() - t0)
        both = np.isfinite(results["museval"]) & np.isfinite(results["rtsep"])
        assert np.array_equal(np.isfinite(results["museval"]), np.isfinite(results["rtsep"]))
        diff = float(np.max(np.abs(results["museval"][both] - results["rtsep"][both])))
        worst = max(worst, diff)
        med = {n: statistics.median(t) for n, t in times.items()}
        total = {n: total[n] + med[n] for n in total}
        rows.append(f"| {track.name} | {track.seconds:.1f} | {track.mixture.shape[0]} | "
                    f"{med['museval']:.2f} | {med['rtsep']:.2f} | "
                    f"{med['museval'] / med['rtsep']:.1f}x | {diff:.4f} |")
    table = "\n".join([
        "| track | seconds | channels | museval s | rtsep s | speed-up | max abs diff dB |",
        "|---|---|---|---|---|---|---|", *rows,
        f"| **all** | | | {total['museval']:.2f} | {total['rtsep']:.2f} | "
        f"{total['museval'] / total['rtsep']:.1f}x | {worst:.4f} |"])
    text = (f"## BSS Eval: rtsep against museval\n\n{machine()}\n\n"
            f"Command: `python benchmarks/bss_eval.py --repeats {args.repeats}`; "
            "SDR, ISR, SIR, SAR per 1 s window (hop 1 s) of primitive clustering's estimates "
            f"on the dev tracks; median of {args.repeats} interleaved runs.\n\n{table}\n")
    print(text)
    if args.write:
        replace_section("## BSS Eval: rtsep against museval", text)


if __name__ == "__main__":
    main()
