"""Interruptions as exceptions, and the short stretches of code they must not split.

A command that writes files turns SIGINT and SIGTERM into :class:`Interrupted` while it runs
(``interruptible()``), so ``with`` blocks and ``finally`` clauses remove temporaries on the way
out and nothing partial is left. A signal that arrives inside ``critical()`` (publishing a set
of files, removing temporaries) is held until the block ends: a set is renamed into place
whole or not at all, and a cleanup is not cut short. This module imports nothing of rtsep, so
the foundation (``rtsep.io.atomic``) can use it.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["Interrupted", "interruptible", "critical", "exit_status", "on_signal"]


class Interrupted(KeyboardInterrupt):
    """Raised for SIGINT or SIGTERM while ``interruptible()`` is active; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


_depth = 0  # nesting of critical() in the main thread
_pending: int | None = None


def on_signal(signum, frame) -> None:
    """The handler: raise :class:`Interrupted`, or hold it while inside ``critical()``."""
    global _pending
    if _depth:
        _pending = signum
        return
    raise Interrupted(signum)


def exit_status(exc: KeyboardInterrupt) -> int:
    """128 + the signal number: 130 for SIGINT (and a plain KeyboardInterrupt), 143 for SIGTERM."""
    return 128 + getattr(exc, "signum", signal.SIGINT)


@contextmanager
def interruptible(signals=(signal.SIGINT, signal.SIGTERM)):
    """Within the block, the given signals raise :class:`Interrupted` (main thread only;
    elsewhere, and when a signal is ignored, as a background job's SIGINT is, nothing
    changes). The previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for s in signals:
        old = signal.getsignal(s)
        if old is signal.SIG_IGN:
            continue
        previous[s] = old
        signal.signal(s, on_signal)
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


@contextmanager
def critical():
    """Hold an interruption that arrives during the block until the block has finished."""
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending is not None:
            signum, _pending = _pending, None
            raise Interrupted(signum)
