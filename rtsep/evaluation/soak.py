"""A live soak: the real session on a real device for minutes, its health sampled over time.

``rtsep profile --soak MINUTES`` plays music (the rendered default song, or ``--input``) in a
loop through a :class:`~rtsep.live.session.LiveSession` on the output device, exactly as
``rtsep live --in FILE`` does, and every ``interval_s`` records the session's xruns (output
not ready in time), the xruns the device reported itself, cheap hops, compute per hop (median,
99th percentile, max over the interval), resident memory and the machine's load average. The
report holds the timeline and the totals; ``benchmarks/live_soak.py`` runs it for both presets,
with and without a busy loop on one core.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np


def rss_mb() -> float:
    """Resident memory of this process, MiB (``/proc/self/statm``; 0 where unavailable)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


HIST_STEP_MS = 0.01  # compute-time histogram: 10 us bins up to HIST_MAX_MS, then one more
HIST_MAX_MS = 200.0


class _Sampler:
    """The session's ``status`` callback: one timeline row per interval, and a histogram of
    every hop's compute time (fixed memory, so the soak's RSS is the session's own; the
    session keeps only the last 4096 times)."""

    def __init__(self, session, interval_s: float, echo=None):
        self.session, self.interval_s, self.echo = session, float(interval_s), echo
        self.rows: list[dict] = []
        self.histogram = np.zeros(int(HIST_MAX_MS / HIST_STEP_MS) + 1, dtype=np.int64)
        self.max_ms = 0.0
        self._interval: list[np.ndarray] = []  # the hops' times since the last row
        self._hops = 0
        self._next = None
        self._t0 = None
        self._prev = {"xruns": 0, "device_xruns": 0, "cheap_hops": 0}

    def __call__(self, session) -> None:
        now = time.monotonic()
        if self._t0 is None:
            self._t0, self._next = now, now + self.interval_s
        new = session.recent_timings(session.hops - self._hops)
        self._hops = session.hops
        ms = new * 1000.0
        np.add.at(self.histogram, np.minimum((ms / HIST_STEP_MS).astype(np.int64),
                                             self.histogram.shape[0] - 1), 1)
        self.max_ms = max(self.max_ms, float(ms.max())) if ms.size else self.max_ms
        self._interval.append(new)
        if now >= self._next:
            self._next += self.interval_s
            self.sample(now)

    def sample(self, now: float | None = None) -> None:
        s = self.session
        now = time.monotonic() if now is None else now
        t = np.concatenate(self._interval or [np.zeros(0)]) * 1000.0
        self._interval = []
        counts = {"xruns": s.xruns, "device_xruns": s.device_xruns,
                  "cheap_hops": int(s.engine.cheap_hops)}
        row = {"t_s": round(now - (self._t0 or now), 1), "hops": s.hops,
               **{k: v - self._prev[k] for k, v in counts.items()},
               "compute_p50_ms": float(np.median(t)) if t.size else 0.0,
               "compute_p99_ms": float(np.percentile(t, 99)) if t.size else 0.0,
               "compute_max_ms": float(t.max()) if t.size else 0.0,
               "rss_mb": round(rss_mb(), 1), "load1": round(os.getloadavg()[0], 2)}
        self._prev = counts
        self.rows.append(row)
        if self.echo is not None:
            self.echo(format_row(row))


def prepare_soak(*, device=None, config=None, input_path=None, buffer_hops: int | None = None,
                 blocksize: int | None = None):
    """The looping live session a soak runs (its kernels compiled), on ``device``."""
    from ..live.build import build_session

    path = input_path
    if path is None:
        from ..songs.default import render_default_song

        path = render_default_song(sr=44100)["mixture"]
    session = build_session(str(path), out="karaoke", device=device, config=config,
                            blocksize=blocksize, extra_buffer_hops=buffer_hops, loop=True)
    session.engine.warmup()
    session.input_path = str(path)
    return session


def run_soak(session, minutes: float, *, interval_s: float = 10.0, echo=None) -> dict:
    """Soak ``session`` (from :func:`prepare_soak`) for ``minutes``; returns the report.

    ``echo(line)`` receives a line per interval. A stop signal ends the soak early: the report
    then covers the time run and names the signal in ``stopped_by``.
    """
    sampler = _Sampler(session, interval_s, echo)
    rss_start = rss_mb()
    load_start = os.getloadavg()
    summary = session.run(seconds=60.0 * minutes, status=sampler, status_interval=0.5)
    sampler.sample()
    p50, p99 = (histogram_percentile(sampler.histogram, q) for q in (50, 99))
    hop_ms = 1000.0 * session.hop / session.sr
    return {
        "preset": session.engine.config.preset,
        "candidates": list(session.engine.candidate_names),  # what ran: model(s) and/or pcl
        "minutes": minutes,
        "input": session.input_path,
        "notes": session.notes,
        "hop": session.hop,
        "samplerate": session.sr,
        "blocksize": session.blocksize,
        "device_period": session.device_period,
        "extra_buffer_hops": session.extra_buffer_hops,
        "latency_ms": summary["latency_ms"],
        "device_latency_ms": summary["device_latency_ms"],
        "worker_scheduling": summary["worker_scheduling"],
        "callback_scheduling": summary["callback_scheduling"],
        "main_scheduling": summary["main_scheduling"],
        "duration_s": summary["duration_s"],
        "hops": summary["hops"],
        "xruns": summary["xruns"],
        "xruns_per_10k_hops": 1e4 * summary["xruns"] / max(1, summary["hops"]),
        "device_xruns": summary["device_xruns"],
        "cheap_hops": summary["cheap_hops"],
        "compute_p50_ms": p50,
        "compute_p99_ms": p99,
        "compute_max_ms": sampler.max_ms,
        "compute_p99_percent_of_hop": 100 * p99 / hop_ms,
        "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_mb(), 1),
        "load_start": [round(v, 2) for v in load_start],
        "load_end": [round(v, 2) for v in os.getloadavg()],
        "stopped_by": summary["stopped_by"],
        "timeline": sampler.rows,
    }


def histogram_percentile(histogram: np.ndarray, q: float) -> float:
    """The ``q``-th percentile (ms, to the bin's upper edge) of a compute-time histogram."""
    total = int(histogram.sum())
    if total == 0:
        return 0.0
    index = int(np.searchsorted(np.cumsum(histogram), q / 100.0 * total))
    return (index + 1) * HIST_STEP_MS


def format_row(row: dict) -> str:
    return (f"{row['t_s']:7.1f} s  hops {row['hops']:8d}  xruns +{row['xruns']}"
            f" (device +{row['device_xruns']})  cheap +{row['cheap_hops']}  compute p50/p99/max "
            f"{row['compute_p50_ms']:.2f}/{row['compute_p99_ms']:.2f}/{row['compute_max_ms']:.2f} ms"
            f"  rss {row['rss_mb']:.0f} MiB  load {row['load1']:.1f}")


def format_soak(r: dict) -> str:
    """The soak's totals in a few lines."""
    return "\n".join([
        f"soak: preset {r['preset']}, {', '.join(r.get('candidates', ()))}, "
        f"{r['duration_s'] / 60:.1f} min, {r['hops']} hops of "
        f"{r['hop']} at {r['samplerate']} Hz, blocksize {r['blocksize']} (device period "
        f"{r['device_period'] or 'unknown'}), buffering {r['extra_buffer_hops']} hop(s)",
        f"xruns {r['xruns']} ({r['xruns_per_10k_hops']:.2f} per 10,000 hops; device "
        f"{r['device_xruns']}), cheap hops {r['cheap_hops']}",
        f"compute per hop p50 {r['compute_p50_ms']:.2f} ms, p99 {r['compute_p99_ms']:.2f} ms "
        f"({r['compute_p99_percent_of_hop']:.0f}% of the hop), max {r['compute_max_ms']:.2f} ms",
        f"rss {r['rss_start_mb']:.0f} -> {r['rss_end_mb']:.0f} MiB; load average "
        f"{r['load_start'][0]:.1f} -> {r['load_end'][0]:.1f}; worker {r['worker_scheduling']}"
        + (f"; stopped by {r['stopped_by']}" if r["stopped_by"] else ""),
    ])
