"""Separating a whole library: ``rtsep separate INPUT... --out OUT [--jobs N | --ray ADDRESS]``.

- ``plan``: inputs (files, folders, ``-``) to songs, each with its own ``OUT/NAME/`` folder;
- ``worker``: one song start to finish, skipped when an earlier run finished it
  (``manifest``: content hash and settings), never raising for a bad song;
- ``pool``: the songs in this process or a pool of processes that warm up once each;
- ``cluster``: the same on a Ray cluster, through Ray's own scheduling.

``run`` ties them together and returns one row per song; ``totals`` sums the rows.
"""

from __future__ import annotations

from pathlib import Path

from ..config import EngineConfig
from .plan import Song, plan_songs
from .worker import SongOptions, separate_song

__all__ = ["Song", "SongOptions", "plan_songs", "separate_song", "run", "totals"]


def run(songs: list[Song], config: EngineConfig, options: SongOptions, *, jobs: int = 1,
        ray_address: str | None = None, on_event=None) -> list[dict]:
    """Separate every song (see ``rtsep.jobs.pool`` for ``on_event``); rows in song order."""
    if ray_address:
        from .cluster import run_on_ray

        return run_on_ray(songs, config, options, ray_address, on_event)
    from .pool import run_songs

    return run_songs(songs, config, options, jobs, on_event)


def totals(rows: list[dict], wall_seconds: float) -> dict:
    """Counts, audio and speed of a run: ``done``, ``skipped``, ``failed``, ``audio_minutes``
    (separated now), ``files_per_minute`` and ``audio_minutes_per_minute`` (of wall time)."""
    done = [r for r in rows if r["status"] == "done"]
    audio_min = sum(r.get("seconds", 0.0) for r in done) / 60.0
    wall_min = max(wall_seconds, 1e-9) / 60.0
    return {
        "songs": len(rows),
        "done": len(done),
        "skipped": sum(r["status"] == "skipped" for r in rows),
        "failed": sum(r["status"] == "failed" for r in rows),
        "audio_minutes": audio_min,
        "wall_seconds": wall_seconds,
        "files_per_minute": len(done) / wall_min,
        "audio_minutes_per_minute": audio_min / wall_min,
    }


def write_report(path: str | Path, rows: list[dict], summary: dict) -> Path:
    """The run's rows and totals as JSON, atomically."""
    from ..io.atomic import write_json_atomic

    return write_json_atomic(path, {"totals": summary, "songs": rows})
