"""`rtsep profile --soak`, a few seconds of it: the timeline and totals a long soak reports."""

from __future__ import annotations

import json

import pytest

from .procs import rtsep

pytestmark = pytest.mark.jack


def test_a_short_soak_reports_xruns_compute_and_memory_over_time(jack, tmp_path):
    report = tmp_path / "soak.json"
    done = rtsep("profile", "--soak", "0.1", "--interval", "2", "--device", "system",
                 "--json", report, env=jack.env(), timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    r = json.loads(report.read_text())
    assert r["duration_s"] >= 5.0 and r["hops"] >= 5.0 * 44100 / 256 - 1
    assert r["blocksize"] == r["device_period"] == jack.period  # the JACK period, found
    assert r["extra_buffer_hops"] == 2 and r["stopped_by"] is None
    assert len(r["timeline"]) >= 2 and sum(row["hops"] > 0 for row in r["timeline"]) >= 2
    assert 0 < r["compute_p50_ms"] <= r["compute_p99_ms"] <= r["compute_max_ms"] + 0.01
    assert 50 < r["rss_start_mb"] <= r["rss_end_mb"] + 5
    assert all(row["rss_mb"] > 0 and row["load1"] >= 0 for row in r["timeline"])
    assert r["worker_scheduling"] and "soak: preset default" in done.stdout
    # with no flag, at the server's 44.1 kHz, the live session runs the default model
    assert r["candidates"] == ["refiner-local"] and "refiner-local" in done.stdout
