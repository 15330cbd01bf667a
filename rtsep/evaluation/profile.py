"""Profile the engine: latency, real-time factor and per-stage compute per hop.

The engine runs hop by hop on a rendered song (FluidSynth), exactly as the live worker runs it,
and every stage of every hop is timed with ``perf_counter``.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..config import EngineConfig

STAGES = ("stft", "primitives", "models", "confidence", "mix", "synthesis", "total")


def pin_to_one_core() -> int | None:
    """Restrict this process to one CPU so figures mean 'on one core'. Returns the core."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = sorted(os.sched_getaffinity(0))[-1]
    os.sched_setaffinity(0, {core})
    return core


def _looped(x: np.ndarray, n: int) -> np.ndarray:
    reps = -(-n // x.shape[1])
    return np.tile(x, (1, reps))[:, :n]


def rendered_signal(sr: int, seconds: float, channels: int = 2) -> np.ndarray:
    """The rendered default song, looped or cut to ``seconds``, shaped ``(channels, samples)``."""
    from ..io.audio import read_audio
    from ..songs.default import render_default_song

    song, song_sr = read_audio(render_default_song(sr=sr)["mixture"])
    x = _looped(song, int(seconds * sr))
    if x.shape[0] != channels:
        x = np.repeat(x.mean(axis=0, keepdims=True), channels, axis=0)
    return x


def profile_engine(config: EngineConfig | None = None, seconds: float = 10.0, sr: int = 44100,
                   channels: int = 2, signal: np.ndarray | None = None,
                   input_path: str | os.PathLike | None = None) -> dict:
    """Run the engine hop by hop and return latency, rtf and per-stage timing statistics.

    The audio is ``signal`` ``(channels, samples)`` at ``sr``, else the file ``input_path`` at
    its own rate and channel count, else the rendered default song; a file is looped or cut to
    ``seconds`` and resampled to the models' rate when they need one (as ``rtsep separate``
    does). Timings are in milliseconds per hop; ``rtf`` is compute time over audio time.
    """
    from ..core.engine import Engine
    from ..separate import processing_rate

    config = config or EngineConfig()
    if signal is not None:
        x = np.asarray(signal, dtype=np.float64)
    elif input_path is not None:
        from ..io.audio import read_audio

        x, sr = read_audio(input_path)
        rate = processing_rate(sr, config)
        if rate != sr:
            import librosa

            x, sr = librosa.resample(x, orig_sr=sr, target_sr=rate, res_type="soxr_hq"), rate
        x = _looped(x, int(seconds * sr))
    else:
        x = rendered_signal(sr, seconds, channels)
    engine = Engine(sr, x.shape[0], config)
    t_warm = time.perf_counter()
    engine.warmup()
    warmup_s = time.perf_counter() - t_warm
    hop = engine.hop
    n_hops = x.shape[1] // hop
    times = np.zeros((n_hops, len(STAGES)))
    t0 = time.perf_counter()
    for k in range(n_hops):
        engine.process_hop(x[:, k * hop : (k + 1) * hop])
        tm = engine.timings
        times[k] = (tm.stft, tm.primitives, tm.models, tm.confidence, tm.mix, tm.synthesis,
                    tm.total)
    wall = time.perf_counter() - t0
    audio_s = n_hops * hop / sr
    hop_ms = 1000.0 * hop / sr
    stats = {}
    for i, name in enumerate(STAGES):
        col = times[:, i] * 1000.0
        stats[name] = {
            "p50_ms": float(np.percentile(col, 50)),
            "p99_ms": float(np.percentile(col, 99)),
            "max_ms": float(col.max()),
            "mean_ms": float(col.mean()),
        }
    return {
        "preset": config.preset,
        "candidates": engine.candidate_names,
        "sr": sr,
        "channels": int(x.shape[0]),
        "hop": hop,
        "n_fft": engine.geometry.n_fft,
        "hop_ms": hop_ms,
        "latency_samples": engine.latency_samples,
        "latency_ms": engine.latency_ms,
        "audio_seconds": audio_s,
        "hops": n_hops,
        "warmup_seconds": warmup_s,
        "rtf": float(times[:, -1].sum() / audio_s),
        "rtf_wall": float(wall / audio_s),
        "stages": stats,
        "backends": engine.backends,
    }


def format_table(report: dict) -> str:
    """A plain-text table of a ``profile_engine`` report."""
    lines = [
        f"preset {report['preset']}: {report['sr']} Hz x {report['channels']} ch, "
        f"n_fft {report['n_fft']}, hop {report['hop']} ({report['hop_ms']:.2f} ms), "
        f"candidates {', '.join(report['candidates'])}",
        f"latency {report['latency_samples']} samples = {report['latency_ms']:.2f} ms;  "
        f"rtf {report['rtf']:.3f} (wall {report['rtf_wall']:.3f}) over "
        f"{report['audio_seconds']:.1f} s; warm-up {report['warmup_seconds']:.2f} s",
        f"{'stage':<12}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}",
    ]
    for name in STAGES:
        s = report["stages"][name]
        lines.append(f"{name:<12}{s['p50_ms']:>10.3f}{s['p99_ms']:>10.3f}{s['max_ms']:>10.3f}")
    from ..backends.auto import summary

    for model, choice in report.get("backends", {}).items():
        lines.append(f"backend of {model}: {summary(choice)}")
    return "\n".join(lines)
