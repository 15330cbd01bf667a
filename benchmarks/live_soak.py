"""Live soak: `rtsep profile --soak` on a private JACK dummy server, both presets, with and
without a busy loop holding one core.

Usage:
    .venv/bin/python benchmarks/live_soak.py --minutes 30            # the goal's figures
    .venv/bin/python benchmarks/live_soak.py --minutes 3 --loads busy --presets default

For each preset and load it starts ``jackd -d dummy`` (44.1 kHz, ``--period`` frames, real-time
scheduling unless ``--no-realtime-server``, as a live rig runs it), optionally a busy loop pinned
to core 0, and the real CLI in a subprocess (`rtsep profile --soak MINUTES --device system`),
which plays the rendered song in a loop through the live session. Prints a markdown table for
BENCHMARKS.md ("## Live soak") and writes every report (with its timeline) to ``--out``.

The goals (issue 12): 0 session xruns over 30 minutes at the default preset with a JACK period
of 256 while a busy loop holds one of the two cores; at most 1 xrun in 10,000 hops at the
low-latency preset under the same load. Figures depend on the machine's other load: the load
average at start and end is in each row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.jackserver import JackServer  # noqa: E402

BUSY = "while True: pass"


def busy_loop(core: int = 0) -> subprocess.Popen:
    """A Python busy loop pinned to ``core`` (an ordinary, un-niced process)."""
    return subprocess.Popen([sys.executable, "-c", BUSY],
                            preexec_fn=lambda: os.sched_setaffinity(0, {core}))


PROBE = r"""
import os, sys, time
import numpy as np
try:
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
    policy = "SCHED_FIFO 5"
except OSError:
    policy = "normal"
x = np.random.rand(2, 4096)
late = []
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    t0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(10):
        np.fft.rfft(x)
    late.append((time.perf_counter() - t0) - (time.thread_time() - c0))
    time.sleep(0.005)
late = np.array(late) * 1e3
print(f"{policy}: {len(late)} wake-ups, off-CPU while runnable p99 {np.percentile(late, 99):.2f} ms, "
      f"max {late.max():.1f} ms, {int(np.sum(late > 5))} over 5 ms")
"""


def stall_probe(seconds: float) -> str:
    """What a lone real-time thread suffers on this machine now: time it was runnable but not
    running (another task, or the hypervisor, had the CPU). The floor under any soak figure."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(seconds)], capture_output=True,
                          text=True, timeout=seconds + 60)
    return done.stdout.strip() or done.stderr.strip()[-300:]


def run_one(preset: str, load: str, minutes: float, period: int, realtime: bool,
            buffer_hops: int | None, interval: float) -> dict:
    server = JackServer(rate=44100, period=period, realtime=realtime).start()
    busy = busy_loop() if load == "busy" else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = Path(tmp) / "soak.json"
            cmd = [sys.executable, "-m", "rtsep", "profile", "--soak", str(minutes),
                   "--device", "system", "--preset", preset, "--interval", str(interval),
                   "--json", str(report)]
            if buffer_hops is not None:
                cmd += ["--buffer-hops", str(buffer_hops)]
            done = subprocess.run(cmd, env=server.env(), capture_output=True, text=True,
                                  timeout=60 * minutes + 300)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
            r = json.loads(report.read_text())
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
        server.stop()
    r.update(load=load, jack_realtime=realtime, jack_period=period)
    return r


def row(r: dict) -> str:
    return (f"| {r['preset']} | {r['jack_period']} | {r['load']} | {r['extra_buffer_hops']} | "
            f"{r['duration_s'] / 60:.1f} | {r['hops']} | {r['xruns']} | "
            f"{r['xruns_per_10k_hops']:.2f} | {r['device_xruns']} | {r['cheap_hops']} | "
            f"{r['compute_p50_ms']:.2f} / {r['compute_p99_ms']:.2f} "
            f"({r['compute_p99_percent_of_hop']:.0f}%) / {r['compute_max_ms']:.1f} | "
            f"{r['rss_start_mb']:.0f} -> {r['rss_end_mb']:.0f} | "
            f"{r['load_start'][0]:.1f} -> {r['load_end'][0]:.1f} | {r['worker_scheduling']} |")


HEADER = ("| preset | JACK period | load | buffer hops | minutes | hops | session xruns | per 10k "
          "hops | device xruns | cheap hops | compute p50 / p99 (% of hop) / max ms | RSS MiB "
          "start -> end | load avg start -> end | worker |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--presets", nargs="+", default=["default", "low-latency"])
    ap.add_argument("--loads", nargs="+", default=["none", "busy"], choices=["none", "busy"])
    ap.add_argument("--period", type=int, default=256)
    ap.add_argument("--buffer-hops", type=int, default=None, help="default: as `rtsep live`")
    ap.add_argument("--interval", type=float, default=30.0)
    ap.add_argument("--no-realtime-server", dest="realtime", action="store_false")
    ap.add_argument("--out", type=Path, default=None, help="write every report here (JSON)")
    ap.add_argument("--probe", type=float, default=20.0, help="seconds of stall probe first")
    args = ap.parse_args()
    print(f"{time.strftime('%Y-%m-%d %H:%M')}: {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; jackd {'real-time' if args.realtime else 'no-realtime'}",
          flush=True)
    if args.probe > 0:
        print(f"stall probe ({args.probe:.0f} s, a lone thread: 10 FFTs, then 5 ms asleep): "
              f"{stall_probe(args.probe)}", flush=True)
    print(HEADER, flush=True)
    reports = []
    for preset in args.presets:
        for load in args.loads:
            r = run_one(preset, load, args.minutes, args.period, args.realtime,
                        args.buffer_hops, args.interval)
            reports.append(r)
            print(row(r), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(reports, indent=2) + "\n")


if __name__ == "__main__":
    main()
