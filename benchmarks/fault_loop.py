"""Long fault loops for `rtsep live`: the JACK server killed, or a stop signal sent, at random
moments from start-up to streaming; the tests run a few of each, this runs many.

Usage:
    .venv/bin/python benchmarks/fault_loop.py --runs 30 --fault jack-kill
    .venv/bin/python benchmarks/fault_loop.py --runs 30 --fault signal --seed 7

Each run starts a private ``jackd -d dummy``, then ``rtsep live --device system --stats-json``
and injects the fault after a random delay: even runs count it from the launch (uniform over
``--max-delay`` seconds: the imports, the kernel warm-up, the opening of the stream), odd runs
from the first status line (0-2 s into streaming). A run is
*clean* when it ends as the command line promises: for a killed server, one line
``rtsep: error: ...`` and exit status 2 (or, if the kill came before the stream started to
matter, a clean start-up error); for a signal, ``rtsep: interrupted by SIG...`` and exit status
128 + signal, with the statistics absent or complete. Prints the outcome of every run and a
tally; anything else (a traceback, PortAudio aborting with status -6, a hang) is listed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.jackserver import JackServer  # noqa: E402
from tests.procs import Watched  # noqa: E402

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def one_run(fault: str, delay: float, sig: int, tmp: Path, streaming: bool) -> tuple[str, str]:
    """``(outcome, detail)`` of one run; ``streaming``: ``delay`` counts from the first status
    line (the stream runs), else from the launch."""
    stats = tmp / "stats.json"
    stats.unlink(missing_ok=True)
    server = JackServer().start()
    env = dict(server.env(), PYTHONFAULTHANDLER="1")  # a crash shows where it was
    proc = Watched("live", "--device", "system", "--seconds", "60", "--stats-json", stats,
                   env=env)
    try:
        if streaming:
            try:
                proc.wait_for_line("latency", timeout=120)
            except TimeoutError:
                return "never streamed", proc.err[-300:]
        time.sleep(delay)
        if fault == "jack-kill":
            server.kill()
        else:
            proc.proc.send_signal(sig)
        try:
            code, err = proc.finish(timeout=60)
        except AssertionError:
            return "hang", proc.err[-300:]
    finally:
        proc.kill()
        server.stop()
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if "Traceback" in err:
        return "traceback", err[-600:]
    if fault == "jack-kill":
        if code == 2 and last.startswith("rtsep: error: ") and not stats.exists():
            return "clean error", last
        return f"exit {code}", last
    if code == 128 + sig and last == f"rtsep: interrupted by {signal.Signals(sig).name}":
        if not stats.exists():
            return "clean, no stats", ""
        summary = json.loads(stats.read_text())
        if summary.get("stopped_by") == signal.Signals(sig).name:
            return "clean, stats", f"{summary['hops']} hops"
        return "bad stats", str(summary)[:200]
    return f"exit {code}", err[-1500:] if code < 0 else last


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--fault", choices=["jack-kill", "signal"], default="jack-kill")
    ap.add_argument("--max-delay", type=float, default=8.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tally = collections.Counter()
    print(f"{args.fault}, {args.runs} runs, delays 0-{args.max_delay} s, seed {args.seed}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            streaming = run % 2 == 1  # every other run: once the stream runs
            delay = rng.uniform(0.0, 2.0 if streaming else args.max_delay)
            sig = rng.choice(SIGNALS)
            outcome, detail = one_run(args.fault, delay, sig, Path(tmp), streaming)
            tally[outcome] += 1
            what = signal.Signals(sig).name if args.fault == "signal" else "kill -9 jackd"
            when = "streaming + " if streaming else "launch + "
            shown = detail if outcome.startswith(("exit -", "traceback")) else detail[:160]
            print(f"run {run:3d}: {what} at {when}{delay:5.2f} s -> {outcome}: {shown}",
                  flush=True)
    print("tally:", dict(tally), f"; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
