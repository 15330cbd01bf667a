"""One song, start to finish, as every worker (this process, a pool process, a Ray task) runs
it: skip it if it is done, else separate it; never raise for a bad song, return its row.

A row is a dict: ``song``, ``input``, ``out``, ``status`` (``done``, ``skipped`` or
``failed``), ``seconds`` (audio), ``compute_seconds``, ``error`` (one line, when failed) and,
for a separated song, what ``rtsep.separate.separate_file`` reports.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import EngineConfig
from ..errors import RtsepError
from .manifest import SUMMARY_NAME, content_hash, finished, settings_fingerprint
from .plan import Song


@dataclass(frozen=True)
class SongOptions:
    """What every song of a run shares besides the engine settings."""

    stems: tuple[str, ...] = ("vocals", "karaoke")
    fmt: str = "wav"
    force: bool = False  # separate again even when an earlier run finished the song
    plot: str | None = None  # a picture (one song only)
    # {model name: sha256 of its weights} when the run began; every worker checks the model
    # it loads against it, so all songs of a run use the same weights (None: read them now)
    models: dict | None = None
    # a score to follow (``rtsep.score.ScoreInput``; one song only, in this process)
    score: object | None = None


def current_models(config: EngineConfig) -> dict:
    """``{model name: sha256}`` of the configured models' files now (reads their JSON)."""
    if not config.models:
        return {}
    from ..core.model_candidates import model_digests

    return model_digests(config)


def separate_song(song: Song, config: EngineConfig, options: SongOptions, progress=None,
                  stdout=None) -> dict:
    """Separate ``song`` into ``song.out_dir`` unless an earlier run did; never raises for a
    bad input or a failed write (the row says what went wrong). ``progress(done, total)`` in
    samples; ``stdout``: stream the one stem there instead of writing files."""
    from ..separate import separate_file

    row = {"song": song.name, "input": song.source, "out": str(song.out_dir), "seconds": 0.0,
           "compute_seconds": 0.0}
    t0 = time.perf_counter()
    hashing = None
    try:
        models = options.models if options.models is not None else current_models(config)
        fingerprint = settings_fingerprint(config, options.stems, options.fmt, models)
        digest = None
        readable = not song.is_stdin and Path(song.source).is_file()
        earlier = stdout is None and (song.out_dir / SUMMARY_NAME).is_file()
        # a run with a score is never skipped: the fingerprint does not cover the score's notes
        if readable and earlier and not options.force and options.score is None:
            try:
                digest = content_hash(song.source)
            except OSError:
                digest = None  # the reader reports why it cannot read the file
            done = finished(song.out_dir, digest, fingerprint) if digest else None
            if done is not None:
                return {**row, "status": "skipped", "seconds": float(done.get("seconds", 0.0)),
                        "note": "finished earlier (same content and settings)"}
        elif readable and stdout is None:
            # nothing to skip: hash while separating, so the first hop does not wait for it
            hashing = _Hashing(song.source)
        result = separate_file(
            song.source, None if stdout is not None else song.out_dir, config,
            plot=options.plot, progress=progress, stems=options.stems, fmt=options.fmt,
            stdout=stdout, score=options.score,
            summary=None if stdout is not None else song.out_dir / SUMMARY_NAME,
            summary_extra=lambda: {"song": song.name, "settings": fingerprint,
                                   "input_sha256": digest if hashing is None
                                   else hashing.result()},
            cached_engine=True, expect_models=models,
        )
        return {**row, **result, "input": song.source, "status": "done",
                "wall_seconds": time.perf_counter() - t0}
    except RtsepError as exc:
        return {**row, "status": "failed", "error": str(exc)}
    except Exception as exc:  # a bug must not stop the other songs; say what it was
        return {**row, "status": "failed",
                "error": f"internal error ({type(exc).__name__}: {' '.join(str(exc).split())})"}
    finally:
        if hashing is not None:
            hashing.join()


class _Hashing(threading.Thread):
    """The input's SHA-256, computed beside the separation (hashlib releases the GIL)."""

    def __init__(self, path: str):
        super().__init__(daemon=True)
        self.path, self.digest = path, None
        self.start()

    def run(self) -> None:
        try:
            self.digest = content_hash(self.path)
        except OSError:
            self.digest = None

    def result(self) -> str | None:
        self.join()
        return self.digest
