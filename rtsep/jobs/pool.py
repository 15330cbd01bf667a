"""Many songs on this machine: in this process (``jobs=1``) or a pool of worker processes.

Each worker process starts once (``spawn``), builds and warms an engine for the settings in
its initializer, and keeps its engines for the following songs (``make_engine(cached=True)``):
numba and model loading are paid once per process, not per song. Songs are handed out one at a
time; each returns its row (``rtsep.jobs.worker``), so a bad file is reported and the others go
on. Progress comes back through a queue as ``on_event`` calls:

- ``("progress", i, done_seconds, total_seconds)`` now and then while song ``i`` runs;
- ``("done", i, row)`` when it ends (done, skipped or failed).

Interruption: the parent decides. Workers never see SIGINT (a terminal's Ctrl-C reaches the
whole process group): it is blocked while they are spawned, and a blocked signal stays blocked
across exec. At SIGTERM a worker inside a song unwinds (its temporaries are removed) and exits;
one between songs exits at once. On Ctrl-C or SIGTERM the parent sends SIGTERM to each worker
it started, waits for them, and re-raises. Songs already finished stay finished; a rerun skips
them.
"""

from __future__ import annotations

import os
import queue as queue_module
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..config import EngineConfig
from ..interrupts import deferred, on_signal
from .plan import Song
from .worker import SongOptions, separate_song

_events = None  # the worker's queue to the parent
_in_song = False  # a worker is inside a song: SIGTERM must unwind, not just exit
_WARM = (44100, 2)  # the engine a worker warms at start: the usual rate and layout


def _reporter(events, i: int, every_s: float = 0.2):
    """A ``progress(done, total)`` callback that sends at most five events a second."""
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s or done >= total:
            last[0] = now
            events(("progress", i, done, total))

    return progress


def run_songs(songs: list[Song], config: EngineConfig, options: SongOptions, jobs: int = 1,
              on_event=None) -> list[dict]:
    """Separate ``songs``; returns their rows in order. ``jobs`` worker processes (1: here)."""
    emit = on_event or (lambda event: None)
    if jobs <= 1 or len(songs) <= 1:
        rows = []
        for i, song in enumerate(songs):
            row = separate_song(song, config, options, progress=_reporter(emit, i))
            rows.append(row)
            emit(("done", i, row))
        return rows
    return _run_pool(songs, config, options, jobs, emit)


def _on_sigterm(signum, frame) -> None:
    if _in_song:  # unwind, removing temporaries; held while a set is created or cleaned up
        # One stop is enough: a second SIGTERM (the executor terminates the other workers
        # when one exits) must not cut the unwinding short and leave temporaries behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        on_signal(signum, frame)
        return
    os._exit(128 + signum)  # nothing of ours is open: no traceback, no cleanup needed


def _init_worker(events, config: EngineConfig) -> None:
    global _events
    from ..separate import make_engine

    _events = events
    signal.signal(signal.SIGTERM, _on_sigterm)
    events.put(("pid", os.getpid()))
    try:
        make_engine(*_WARM, config, cached=True)  # compile / load kernels and models now
    except Exception:
        pass  # a song will report the same problem in its row


def _work(i: int, song: Song, config: EngineConfig, options: SongOptions) -> dict:
    global _in_song
    try:
        _in_song = True
        return separate_song(song, config, options, progress=_reporter(_events.put, i))
    except KeyboardInterrupt:  # SIGTERM from the parent: temporaries are gone by now
        os._exit(143)
    finally:
        _in_song = False


@contextmanager
def _sigint_blocked():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a Ctrl-C meanwhile arrives now


def _run_pool(songs, config, options, jobs, emit) -> list[dict]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context("spawn")
    events = ctx.Queue()
    rows: list[dict | None] = [None] * len(songs)
    pids: set[int] = set()

    def drain() -> None:
        while True:
            try:
                event = events.get_nowait()
            except queue_module.Empty:
                return
            if event[0] == "pid":
                pids.add(event[1])
            else:
                emit(event)

    pool = ProcessPoolExecutor(max_workers=min(jobs, len(songs)), mp_context=ctx,
                               initializer=_init_worker, initargs=(events, config))
    try:
        with _sigint_blocked():  # the workers start (and stay) deaf to Ctrl-C
            futures = {pool.submit(_work, i, s, config, options): i
                       for i, s in enumerate(songs)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            drain()
            for f in done:
                i = futures[f]
                try:
                    rows[i] = f.result()
                except BrokenProcessPool:
                    _sweep([songs[i]])
                    rows[i] = {"song": songs[i].name, "input": songs[i].source,
                               "out": str(songs[i].out_dir), "status": "failed",
                               "seconds": 0.0, "compute_seconds": 0.0,
                               "error": "a worker process died (out of memory?); run again to "
                                        "retry"}
                emit(("done", i, rows[i]))
        drain()
        pool.shutdown(wait=True)
    except BaseException:
        # Ctrl-C, SIGTERM or a failure of our own: stop every worker we started, let each
        # remove its temporaries, then pass the interruption on.
        with deferred():  # a second Ctrl-C waits until the workers have cleaned up
            drain()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            pool.shutdown(wait=True, cancel_futures=True)
            _sweep(songs)
        raise
    return rows


def _sweep(songs) -> None:
    """Remove what a worker that died mid-song may have left: the temporaries of its set
    (``.vocals.*.tmp``, ``.karaoke.*.tmp``, ``.separation.json.*.tmp``) and the song folder if that leaves it empty. Finished sets are kept."""
    for song in songs:
        folder = Path(song.out_dir)
        if not folder.is_dir():
            continue
        for tmp in (t for pattern in (".vocals.*.tmp", ".karaoke.*.tmp", ".separation.json.*.tmp")
                    for t in folder.glob(pattern)):
            try:
                tmp.unlink()
            except OSError:
                pass
        try:
            folder.rmdir()  # only if empty
        except OSError:
            pass
