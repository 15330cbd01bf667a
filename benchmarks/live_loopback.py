"""Round-trip latency and xruns of `rtsep profile --loopback` on a private JACK dummy server.

Usage: .venv/bin/python benchmarks/live_loopback.py [--seconds 20] [--buffer-hops auto 1 2 4]
       [--period 256]   (one period for every preset instead of 256 / 128)

``auto`` is what `rtsep live` does without ``--buffer-hops``.

For each preset and each amount of extra output buffering it starts nothing but the loop
(jackd -d dummy at 44.1 kHz, period 256 for "default" and 128 for "low-latency", outputs
wired to inputs) and runs the real CLI in a subprocess, as a user would. Prints a markdown
table for BENCHMARKS.md ("## Live round trip (JACK dummy loopback)"). The machine's load is
printed too: the dummy server's timer is an ordinary thread, so other load causes xruns.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.jackserver import JackServer, raise_priority  # noqa: E402

PERIODS = {"default": 256, "low-latency": 128}


def run_one(preset: str, buffer_hops: str, seconds: float, period: int) -> dict:
    server = JackServer(rate=44100, period=period).start()
    hops = [] if buffer_hops == "auto" else ["--buffer-hops", str(buffer_hops)]
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "loopback.json"
        try:
            done = subprocess.run(
                [sys.executable, "-m", "rtsep", "profile", "--loopback", "--device", "system",
                 "--preset", preset, "--seconds", str(seconds), *hops, "--json", str(report)],
                env=server.env(), capture_output=True, text=True, timeout=4 * seconds + 120,
                preexec_fn=raise_priority)
        finally:
            server.stop()
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        return json.loads(report.read_text())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--buffer-hops", nargs="+", default=["1", "2", "4"])
    ap.add_argument("--presets", nargs="+", default=list(PERIODS))
    ap.add_argument("--period", type=int, default=None)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print("| preset | period | buffer hops | measured round trip ms | declared ms "
          "(session + device) | device loop ms | xruns | cheap hops | compute p99 ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for preset in args.presets:
        for hops in args.buffer_hops:
            r = run_one(preset, hops, args.seconds, args.period or PERIODS[preset])
            shown = f"{r['extra_buffer_hops']} (auto)" if hops == "auto" else hops
            print(f"| {preset} | {r['period']} | {shown} | {r['measured_delay_ms']:.2f} | "
                  f"{r['expected_delay_ms']:.2f} ({r['session_latency_ms']:.2f} + "
                  f"{r['device_buffer_ms']:.2f}) | {r['loop_delay_ms']:.2f} | {r['xruns']} | "
                  f"{r['cheap_hops']} | {r['compute_p99_ms']:.2f} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
