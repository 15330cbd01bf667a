"""Many songs on a Ray cluster (``rtsep separate ... --ray ADDRESS``; ``pip install
'rtsep[ray]'``).

Ray schedules: each song is one task (one CPU) that runs ``rtsep.jobs.worker.separate_song``
and returns its row; there is no scheduler of ours. Ray keeps its worker processes between
tasks, so each warms its engine once (the engine cache of ``rtsep.separate``). Inputs and the
output folder must be paths every node can reach (a shared file system); they are passed as
absolute paths. Rows come back as tasks finish: ``on_event(("done", i, row))``.
"""

from __future__ import annotations

from pathlib import Path

from ..config import EngineConfig
from ..errors import ConfigError
from ..interrupts import deferred
from .plan import Song
from .worker import SongOptions, separate_song


def _task(song: Song, config: EngineConfig, options: SongOptions) -> dict:
    return separate_song(song, config, options)


def _absolute(song: Song) -> Song:
    return Song(str(Path(song.source).resolve()), song.name, Path(song.out_dir).resolve())


def _reachable(address: str, timeout_s: float = 5.0) -> None:
    """A quick TCP check of a ``HOST:PORT`` address: Ray itself retries a dead address for
    minutes before giving up. Other forms (``auto``, ``ray://...``) are left to Ray."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in address:
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)),
                                 timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: "
                          f"{' '.join(str(exc.strerror or exc).split())}") from None


def run_on_ray(songs: list[Song], config: EngineConfig, options: SongOptions, address: str,
               on_event=None) -> list[dict]:
    """Separate ``songs`` on the Ray cluster at ``address``; returns their rows in order."""
    emit = on_event or (lambda event: None)
    if any(s.is_stdin for s in songs):
        raise ConfigError("--ray cannot read standard input: name files every node can reach")
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray needs Ray: pip install 'rtsep[ray]'") from None
    _reachable(address)
    try:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    except Exception as exc:  # Ray raises ConnectionError, ValueError, RuntimeError, ...
        raise ConfigError(f"cannot reach the Ray cluster at {address}: "
                          f"{' '.join(str(exc).split())[:300]}") from None
    remote = ray.remote(num_cpus=1, max_retries=0)(_task)
    rows: list[dict | None] = [None] * len(songs)
    refs = {}
    try:
        config_ref = ray.put(config)
        refs = {remote.remote(_absolute(s), config_ref, options): i for i, s in enumerate(songs)}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=0.5)
            for ref in ready:
                i = refs[ref]
                try:
                    rows[i] = ray.get(ref)
                except Exception as exc:  # the task's process died, or Ray lost it
                    rows[i] = {"song": songs[i].name, "input": songs[i].source,
                               "out": str(songs[i].out_dir), "status": "failed",
                               "seconds": 0.0, "compute_seconds": 0.0,
                               "error": f"the Ray task failed ({type(exc).__name__}); run again "
                                        "to retry"}
                emit(("done", i, rows[i]))
    except BaseException:
        with deferred():
            for ref, i in refs.items():
                if rows[i] is None:
                    try:
                        ray.cancel(ref)  # the task's process gets KeyboardInterrupt and cleans up
                    except Exception:
                        pass
        raise
    finally:
        ray.shutdown()
    return rows
