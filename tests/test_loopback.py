"""Round trip through the engine on the JACK dummy server, its outputs wired to its inputs.

`rtsep profile --loopback` runs as a user would run it (a subprocess started after jackd, so
PortAudio sees JACK) for 30 s at the default preset.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .jackserver import raise_priority

pytestmark = pytest.mark.jack

# Extra output buffering, in hops (the CLI's default is 2). The dummy server's timer is an
# ordinary thread: on a shared 2-core machine under other load it was seen waking up to 49 ms
# late (jackd logs "JackTimedDriver::Process XRun"), then running the missed cycles back to
# back, which 2 hops (11.6 ms) of slack cannot absorb. 4 hops keep the test about the session.
BUFFER_HOPS = 4


def test_loopback_round_trip_matches_declared_latency_without_xruns(jack, tmp_path):
    report = tmp_path / "loopback.json"
    done = subprocess.run(
        [sys.executable, "-m", "rtsep", "profile", "--loopback", "--device", "system",
         "--preset", "default", "--seconds", "30", "--buffer-hops", str(BUFFER_HOPS),
         "--json", str(report)],
        env=jack.env(), capture_output=True, text=True, timeout=120, preexec_fn=raise_priority)
    assert done.returncode == 0, done.stderr[-2000:]
    r = json.loads(report.read_text())
    period = r["period"]
    assert period == jack.period == 256, r
    assert r["seconds"] >= 30.0, r
    assert r["correlation"] > 0.99, r  # the probe came back whole, not a chance peak
    # Declared: the session's own delay plus the buffering the stream reports. The JACK graph
    # closes the out -> in loop of one client with one more period, within the tolerance.
    assert r["expected_delay_samples"] <= r["measured_delay_samples"], r
    assert r["measured_delay_samples"] - r["expected_delay_samples"] <= period, r
    # The device loop alone is what the engine adds nothing to.
    session = r["session_latency_ms"] * r["samplerate"] / 1000
    assert r["measured_delay_samples"] - r["loop_delay_samples"] == pytest.approx(session, abs=0.5), r
    assert r["xruns"] == 0, (r["xrun_seconds"], r["cheap_hops"], r["compute_p99_ms"])
