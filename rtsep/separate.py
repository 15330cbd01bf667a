"""Separate whole signals and files by streaming them through the engine.

``rtsep separate`` is this module (one song; ``rtsep.jobs`` runs many): the audio is read in
blocks, fed to the streaming engine whole batches of hops at a time
(``rtsep.core.aligned.AlignedSeparator``), and the stems are written block by block into
temporaries that appear under their names only when everything succeeded. Memory stays flat
whatever the length, and what is tested offline is exactly what runs live. Outputs are shifted
back by the engine's latency so that they line up with the input sample for sample.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np

from .config import EngineConfig
from .errors import ConfigError

STEMS = ("vocals", "karaoke")
READ_BLOCK = 1 << 16  # samples per read: 1.5 s at 44.1 kHz, a few MB for any channel count
PLOT_SECONDS = 30.0  # the picture shows the beginning; only that much is kept in memory

_ENGINES: dict = {}  # this process's engines, so a batch of songs compiles and warms once


def make_engine(sr: int, channels: int, config: EngineConfig | None = None, *,
                cached: bool = False, score=None):
    """An engine for ``config``; kept as one function so every caller builds it the same way.

    Files need no streaming confidence unless it picks between candidates, so it is only
    computed then (the output is the same either way; ``tests/test_batched.py``).
    ``cached=True`` keeps the engine (warmed up) for the next song of the same rate, channel
    count and settings in this process; its state is reset before each use. ``score`` (a
    ``rtsep.score.ScoreInput``) is followed; an engine with a score is never cached.
    """
    from .core.engine import Engine

    if not cached or score is not None:
        return Engine(sr, channels, config, track_confidence=False, score=score)
    key = (int(sr), int(channels), repr(config or EngineConfig()))
    if key not in _ENGINES:
        _ENGINES[key] = Engine(sr, channels, config, track_confidence=False).warmup()
    return _ENGINES[key]


def processing_rate(sr: int, config: EngineConfig | None) -> int:
    """The rate the engine must run at for input at ``sr`` Hz: the models' training rate, or
    ``sr`` itself when no model needs another."""
    if config is None or not config.models:
        return sr
    from .core.model_candidates import models_sample_rate

    return models_sample_rate(config) or sr


def _aligned(sr: int, channels: int, config, engine, cached: bool = False, score=None):
    from .core.aligned import AlignedSeparator

    if engine is None:
        engine = make_engine(processing_rate(sr, config), channels, config, cached=cached,
                             score=score)
    return AlignedSeparator(engine, sr)


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

    ``block`` is the number of samples handed to the engine per call (default ``READ_BLOCK``;
    the output does not depend on it). ``progress(done, total)`` is called now and then with
    sample counts. When the engine runs at another rate (``engine.sr``, or the rate the
    configured models were trained at), the signal is resampled to it and back; the karaoke is
    then the input minus the vocals, so the two still sum to the input. ``info``, if given,
    receives the engine's rate and latency. ``score`` (a ``rtsep.score.ScoreInput``, e.g.
    ``FileScore.from_file("song.mid")``) guides the separation; its time 0 is the first sample
    of ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ConfigError(f"expected audio shaped (channels, samples), got {x.shape}")
    block = int(block or READ_BLOCK)
    if block < 1:
        raise ConfigError(f"block size must be at least 1 sample, got {block}")
    stream = _aligned(sr, x.shape[0], config, engine, score=score)
    _describe(stream, sr, info)
    n = x.shape[1]
    vocals = np.empty_like(x)
    karaoke = np.empty_like(x)
    report_every = max(block, n // 100)
    next_report = 0
    for start in range(0, n, block):
        _put(stream.push(x[:, start : start + block]), vocals, karaoke, stream)
        if progress is not None and start >= next_report:
            progress(start, n)
            next_report = start + report_every
    _put(stream.finish(), vocals, karaoke, stream)
    if progress is not None:
        progress(n, n)
    return vocals, karaoke


def _put(pair, vocals: np.ndarray, karaoke: np.ndarray, stream) -> None:
    v, k = pair
    end = stream.samples_out
    vocals[:, end - v.shape[1] : end] = v
    karaoke[:, end - k.shape[1] : end] = k


def _describe(stream, sr: int, info: dict | None) -> None:
    if info is None:
        return
    e = stream.engine
    info.update(rate=e.sr, latency_samples=e.latency_samples, latency_ms=e.latency_ms,
                candidates=e.candidate_names)
    if stream.resampled:
        info["resampled_from"] = sr


def separate_file(
    input_path: str | Path,
    out_dir: str | Path | None,
    config: EngineConfig | None = None,
    *,
    plot: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    stems: tuple[str, ...] = STEMS,
    fmt: str = "wav",
    stdout=None,
    summary: str | Path | None = None,
    summary_extra=None,
    cached_engine: bool = False,
    expect_models: dict | None = None,
    score=None,
) -> dict:
    """Read ``input_path`` (``"-"``: standard input), separate it, write ``out_dir/STEM.EXT``.

    ``stems`` are any of ``vocals`` and ``karaoke``, ``fmt`` one of ``wav`` (32-bit float),
    ``flac`` (24-bit) and ``ogg`` (Vorbis). Outputs have the input's sample rate, channel count
    and length. Every file of the set (the stems, the ``plot`` picture, the ``summary`` JSON)
    is written into a temporary and published only when all of them are complete: either the
    whole set appears, or nothing does. With ``stdout`` (a binary stream) the one stem named in
    ``stems`` is streamed there as a WAV instead and ``out_dir`` is unused.
    ``cached_engine`` reuses this process's engine for the rate and settings (batches).
    ``expect_models`` ``{name: sha256}``: refuse (``ModelFileError``) if a loaded model's
    weights are not these, e.g. because the file was replaced while a batch was running.
    ``score`` (a ``rtsep.score.ScoreInput``) guides the separation from the first sample on.
    Returns a summary dict (also what ``summary`` holds, plus ``summary_extra``: a dict, or a
    function returning one, called when the summary is written).
    """
    from .io.outputs import AudioOutputs, StdoutWav, output_extension
    from .io.reader import AudioReader

    bad = [s for s in stems if s not in STEMS]
    if bad or not stems:
        raise ConfigError(f"unknown stem {bad[0] if bad else ''!r}; choose from vocals, karaoke")
    t_start = time.perf_counter()
    with AudioReader(input_path) as reader:
        sr, channels, frames = reader.sr, reader.channels, reader.frames
        stream = _aligned(sr, channels, config, None, cached=cached_engine, score=score)
        models = _check_models(stream.engine, expect_models)
        info: dict = {}
        _describe(stream, sr, info)
        paths: dict[str, Path] = {}
        extra = []
        if stdout is not None:
            if len(stems) != 1:
                raise ConfigError("standard output takes one stem: choose --stem vocals or "
                                  "--stem karaoke")
            sink = _StdoutSink(StdoutWav(stdout, sr, channels, frames), stems[0])
        else:
            out_dir = Path(out_dir)
            ext = output_extension(fmt)
            paths = {s: out_dir / f"{s}.{ext}" for s in stems}
            extra = [Path(p) for p in (plot, summary) if p is not None]
            sink = AudioOutputs(paths, sr, channels, fmt, extra=extra)
        keep = _Beginning(channels, int(PLOT_SECONDS * sr)) if plot is not None else None
        peak = 0.0
        with sink:
            t0 = time.perf_counter()
            hops_from = None  # wall-clock time when everything before the first hop was done
            for block in reader.blocks(READ_BLOCK):
                peak = max(peak, float(np.max(np.abs(block))))
                if hops_from is None:
                    hops_from = time.time()
                v, k = stream.push(block)
                _emit(sink, stems, v, k)
                if keep is not None:
                    keep.add(block, v, k, stream)
                if progress is not None:
                    progress(reader.position, frames)
            v, k = stream.finish()
            _emit(sink, stems, v, k)
            if keep is not None:
                keep.add(None, v, k, stream)
            elapsed = time.perf_counter() - t0
            seconds = stream.samples_in / sr
            result = {
                "input": "-" if str(input_path) == "-" else str(input_path),
                "sr": sr,
                "channels": channels,
                "seconds": seconds,
                "latency_samples": info["latency_samples"],
                "latency_ms": info["latency_ms"],
                "engine_rate": info["rate"],
                "candidates": info["candidates"],
                "models": models,
                "compute_seconds": elapsed,
                "rtf": elapsed / max(seconds, 1e-9),
                "setup_seconds": t0 - t_start,  # open, decode, build (and warm) the engine
                "first_hop_at": hops_from,  # time.time() when hops began
                "silent_input": peak <= 1e-6,
                "stems": list(stems),
                "format": "wav" if stdout is not None else fmt,
                "outputs": {k: str(p) for k, p in paths.items()},
            }
            if plot is not None:
                from .evaluation.spectrograms import plot_separation

                with _writing(plot):
                    plot_separation(*keep.arrays(), sr, plot, max_seconds=PLOT_SECONDS,
                                    into=sink.temp(plot))
                result["outputs"]["plot"] = str(plot)
            if summary is not None:
                more = summary_extra() if callable(summary_extra) else (summary_extra or {})
                text = json.dumps({**result, **more}, indent=2, default=float)
                with _writing(summary):
                    sink.temp(summary).write_text(text + "\n")
            sink.commit()
        if progress is not None:
            progress(frames, frames)
    return result


@contextmanager
def _writing(path):
    """An ``OSError`` while filling ``path``'s temporary (a full disk) as one ``OutputError``."""
    from .errors import OutputError

    try:
        yield
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {' '.join(str(exc.strerror or exc).split())}"
                          ) from None


def _check_models(engine, expect: dict | None) -> dict:
    """``{name: sha256}`` of the engine's models, checked against ``expect`` if given."""
    from .errors import ModelFileError

    loaded = {c.name: c.sha256 for c in engine.candidates if hasattr(c, "sha256")}
    for name, digest in (expect or {}).items():
        if loaded.get(name) != digest:
            raise ModelFileError(f"the model {name} changed since this run began (its weights "
                                 f"are not the ones it started with); run again to use the "
                                 "new ones everywhere")
    return loaded


def _emit(sink, stems, v: np.ndarray, k: np.ndarray) -> None:
    for name in stems:
        sink.write(name, v if name == "vocals" else k)


class _StdoutSink:
    """One stem to a WAV stream, with the interface of ``AudioOutputs``."""

    def __init__(self, wav, stem: str):
        self.wav, self.stem = wav, stem

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def write(self, name: str, block: np.ndarray) -> None:
        if name == self.stem:
            self.wav.write(block)

    def temp(self, path) -> Path:  # pragma: no cover - no plot or summary with stdout
        raise ConfigError("standard output cannot take a picture or a summary")

    def commit(self) -> list:
        self.wav.close()
        return []


class _Beginning:
    """The first ``n`` samples of the mixture and both stems, for the picture."""

    def __init__(self, channels: int, n: int):
        self.n = n
        self.x = np.zeros((channels, n))
        self.v = np.zeros((channels, n))
        self.k = np.zeros((channels, n))
        self.x_len = 0

    def add(self, block, v: np.ndarray, k: np.ndarray, stream) -> None:
        if block is not None and self.x_len < self.n:
            take = min(self.n - self.x_len, block.shape[1])
            self.x[:, self.x_len : self.x_len + take] = block[:, :take]
            self.x_len += take
        end = stream.samples_out
        start = end - v.shape[1]
        if start < self.n:
            take = min(self.n, end) - start
            self.v[:, start : start + take] = v[:, :take]
            self.k[:, start : start + take] = k[:, :take]

    def arrays(self):
        n = self.x_len
        return self.x[:, :n], self.v[:, :n], self.k[:, :n]
