"""What a live session tells its user: the status line and the end-of-run summary."""

from __future__ import annotations

import math


def _conf(value) -> str:
    return "  --" if value is None or not math.isfinite(value) else f"{value:4.2f}"


def confidence_text(engine) -> str:
    """The active candidate's confidence, or with several candidates each one's, the active
    one marked with '*' (paper 004: the engine follows the most confident)."""
    candidates = getattr(engine, "candidates", [])
    if len(candidates) <= 1:
        return _conf(getattr(getattr(engine, "confidence", None), "value", None))
    active = engine.active
    return " ".join(f"{c.name}{'*' if c is active else ''} {_conf(c.confidence.value)}"
                    for c in candidates)


def status_line(session) -> str:
    """One line: latency, compute per hop over the last second, xruns, cheap hops, confidence."""
    sr, hop = session.sr, session.hop
    p50, p99 = session.compute_stats(last_hops=max(1, sr // hop))
    hop_ms = 1000.0 * hop / sr
    buf = session.device_latency_samples()
    lat_ms = 1000.0 * (session.measured_latency_samples + buf) / sr
    conf_text = confidence_text(session.engine)
    return (f"latency {lat_ms:5.1f} ms (session {1000 * session.measured_latency_samples / sr:.1f}"
            f" + device {1000 * buf / sr:.1f}) | compute {1000 * p50:4.2f}/{1000 * p99:4.2f} ms "
            f"({1e5 * p50 / hop_ms:3.0f}%/{1e5 * p99 / hop_ms:3.0f}% of hop)"
            f" | xruns {session.xruns} (device {session.device_xruns}) | cheap {session.engine.cheap_hops}"
            f" | confidence {conf_text} | worker {session.scheduling.split(' (')[0]}"
            ) + _score_text(session)


def _score_text(session) -> str:
    """The score's part (notes active, events received and dropped), when one is followed."""
    score = getattr(session.engine, "score", None)
    return "" if score is None else f" | {score.status_text()}"


def format_summary(s: dict) -> str:
    """The end-of-run summary as a few lines of text."""
    return "\n".join([
        f"ran {s['duration_s']:.1f} s, {s['hops']} hops of {s['hop']} samples at {s['samplerate']} Hz",
        f"xruns {s['xruns']} (plus {s['device_xruns']} reported by the audio device),"
        f" cheap hops {s['cheap_hops']}",
        f"compute per hop p50 {s['compute_p50_ms']:.2f} ms, p99 {s['compute_p99_ms']:.2f} ms"
        f" ({s['compute_p99_percent_of_hop']:.0f}% of the hop)",
        f"latency {s['latency_ms'] + s['device_latency_ms']:.1f} ms = session "
        f"{s['latency_ms']:.1f} (algorithmic {s['algorithmic_latency_ms']:.1f} + buffering) + device "
        f"{s['device_latency_ms']:.1f}",
        f"scheduling: worker {s['worker_scheduling']}, audio callback "
        f"{s['callback_scheduling']}, main {s['main_scheduling']}"
        + (f"; stopped by {s['stopped_by']}" if s.get("stopped_by") else ""),
    ] + ([_score_summary(s["score"])] if "score" in s else []))


def _score_summary(sc: dict) -> str:
    line = (f"score: {sc['events_received']} events, {sc['events_dropped']} dropped, "
            f"{sc['events_ignored']} ignored, {sc['notes_started']} notes, "
            f"{sc['stuck_notes']} stuck notes ended")
    if sc.get("events_timed"):
        line += (f"; event to mask p50 {sc['latency_p50_ms']:.1f} ms, p99 "
                 f"{sc['latency_p99_ms']:.1f} ms, max {sc['latency_max_ms']:.1f} ms")
    if sc.get("port_lost"):
        line += f"; the MIDI port went away {sc['port_lost']} time(s)"
    return line


def session_summary(self, wall_seconds: float) -> dict:
    """End-of-run numbers of a :class:`LiveSession` ``self``: counts, compute times (ms), latencies."""
    p50, p99 = self.compute_stats()
    hop_s = self.hop / self.sr
    return {
        "duration_s": self.frames / self.sr,
        "wall_s": wall_seconds,
        "hops": self.hops,
        "xruns": self.xruns,  # callbacks the session could not fill (compute was late)
        "device_xruns": self.device_xruns,  # callbacks the audio system flagged itself
        "input_overflows": self.input_overflows,
        "cheap_hops": int(self.engine.cheap_hops),
        "compute_p50_ms": 1000 * p50,
        "compute_p99_ms": 1000 * p99,
        "compute_p99_percent_of_hop": 100 * p99 / hop_s,
        "hop": self.hop,
        "samplerate": self.sr,
        "blocksize": self.blocksize,
        "latency_samples": self.measured_latency_samples,
        "latency_ms": 1000 * self.measured_latency_samples / self.sr,
        "algorithmic_latency_ms": 1000 * self.engine.latency_samples / self.sr,
        "device_latency_ms": 1000 * self.device_latency_samples() / self.sr,
        "signal_onset_sample": self.signal_onset,
        "xrun_frames": [int(f) for f in self.xrun_frames[: min(self.xruns, 64)]],
        "extra_buffer_hops": self.extra_buffer_hops,
        "device_period": self.device_period,
        "worker_scheduling": self.scheduling,
        "callback_scheduling": self.callback_scheduling,
        "main_scheduling": self.main_scheduling,
        **({} if getattr(self.engine, "score", None) is None
           else {"score": self.engine.score.summary()}),
    }
