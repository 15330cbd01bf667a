"""Separate whole signals and files by streaming them through the engine.

``rtsep separate`` is this module: the file is fed to ``Engine.process`` block by block, so
what is tested offline is exactly what runs live. Outputs are shifted back by the engine's
latency so that they line up with the input sample for sample.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np

from .config import EngineConfig
from .errors import ConfigError


def make_engine(sr: int, channels: int, config: EngineConfig | None = None, score=None):
    """An engine for ``config`` (following ``score``, a ``rtsep.score.ScoreInput``, if given);
    kept as one function so every caller builds it the same way."""
    from .core.engine import Engine

    return Engine(sr, channels, config, score)


def separate_array(
    x: np.ndarray,
    sr: int,
    config: EngineConfig | None = None,
    *,
    block: int | None = None,
    engine=None,
    progress: Callable[[int, int], None] | None = None,
    info: dict | None = None,
    score=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Vocals and karaoke of ``x`` ``(channels, samples)``, latency-compensated, same shape.

    ``block`` is the number of samples handed to the engine per call (default: one hop).
    ``progress(done, total)`` is called now and then with sample counts. When the configured
    models were trained at another sample rate, the signal is resampled to it and back; the
    karaoke is then the input minus the vocals, so the two still sum to the input. ``info``,
    if given, receives the engine's rate and latency. ``score`` (a ``rtsep.score.ScoreInput``,
    e.g. ``FileScore.from_file("song.mid")``) guides the separation; its time 0 is the first
    sample of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"expected audio shaped (channels, samples), got {x.shape}")
    if engine is None:
        rate = processing_rate(sr, config)
        if rate != sr:
            return _separate_resampled(x, sr, rate, config, block, progress, info, score)
        engine = make_engine(sr, x.shape[0], config, score)
    engine.reset()
    n = x.shape[1]
    latency = engine.latency_samples
    if info is not None:
        info.update(rate=engine.sr, latency_samples=latency, latency_ms=engine.latency_ms,
                    candidates=engine.candidate_names)
    block = int(block or engine.hop)
    if block < 1:
        raise ConfigError(f"block size must be at least 1 sample, got {block}")
    total = n + latency
    padded = np.zeros((x.shape[0], total))
    padded[:, :n] = x
    vocals = np.empty_like(padded)
    karaoke = np.empty_like(padded)
    report_every = max(block, total // 100)
    next_report = 0
    for start in range(0, total, block):
        stop = min(start + block, total)
        v, k = engine.process(padded[:, start:stop])
        vocals[:, start:stop] = v
        karaoke[:, start:stop] = k
        if progress is not None and start >= next_report:
            progress(start, total)
            next_report = start + report_every
    if progress is not None:
        progress(total, total)
    return vocals[:, latency:], karaoke[:, latency:]


def processing_rate(sr: int, config: EngineConfig | None) -> int:
    """The rate the engine must run at for input at ``sr`` Hz: the models' training rate, or
    ``sr`` itself when no model needs another."""
    if config is None or not config.models:
        return sr
    from .core.model_candidates import models_sample_rate

    return models_sample_rate(config) or sr


def _separate_resampled(x, sr, rate, config, block, progress, info, score=None):
    import librosa

    resampled = librosa.resample(x, orig_sr=sr, target_sr=rate, res_type="soxr_hq", axis=-1)
    vocals, _ = separate_array(resampled, rate, config, block=block, progress=progress, info=info,
                               score=score)
    vocals = librosa.resample(vocals, orig_sr=rate, target_sr=sr, res_type="soxr_hq", axis=-1)
    out = np.zeros_like(x)
    n = min(out.shape[1], vocals.shape[1])
    out[:, :n] = vocals[:, :n]
    if info is not None:
        info["resampled_from"] = sr
    return out, x - out


def separate_file(
    input_path: str | Path,
    out_dir: str | Path,
    config: EngineConfig | None = None,
    *,
    plot: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    score=None,
) -> dict:
    """Read ``input_path``, separate it, write ``out_dir/vocals.wav`` and ``karaoke.wav``.

    Both outputs have the input's sample rate, channel count and length. They are written
    together and atomically: either both appear complete, or neither does.
    """
    from .io.audio import is_silent, read_audio, write_outputs_atomically

    x, sr = read_audio(input_path)
    info: dict = {}
    t0 = time.perf_counter()
    vocals, karaoke = separate_array(x, sr, config, progress=progress, info=info, score=score)
    elapsed = time.perf_counter() - t0
    out_dir = Path(out_dir)
    paths = {"vocals": out_dir / "vocals.wav", "karaoke": out_dir / "karaoke.wav"}
    write_outputs_atomically(
        {"vocals": (paths["vocals"], vocals), "karaoke": (paths["karaoke"], karaoke)}, sr
    )
    result = {
        "input": str(input_path),
        "sr": sr,
        "channels": int(x.shape[0]),
        "seconds": x.shape[1] / sr,
        "latency_samples": info["latency_samples"],
        "latency_ms": info["latency_ms"],
        "engine_rate": info["rate"],
        "candidates": info["candidates"],
        "compute_seconds": elapsed,
        "rtf": elapsed / max(x.shape[1] / sr, 1e-9),
        "silent_input": bool(is_silent(x)),
        "outputs": {k: str(v) for k, v in paths.items()},
    }
    if plot is not None:
        from .evaluation.spectrograms import plot_separation

        plot_separation(x, vocals, karaoke, sr, plot)
        result["outputs"]["plot"] = str(plot)
    return result
