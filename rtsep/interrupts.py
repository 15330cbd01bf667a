"""Signals that stop a command: SIGINT (Ctrl-C), SIGTERM and SIGHUP, all handled alike.

The command line installs :func:`install_handlers` before it imports anything heavy. From then
on each of the three signals raises :class:`Interrupted` in the main thread, a
``KeyboardInterrupt`` that remembers its signal, so code that already stops cleanly on Ctrl-C
(a live session prints its summary) stops the same way on SIGTERM or SIGHUP. The command then
ends with exit status ``128 + signal`` (130, 143, 129) and a one-line note.

A few steps must not be cut in half, such as renaming a set of finished outputs into place or
writing a live session's statistics: they run inside :func:`deferred`, which holds a signal
until the step is done and raises it then, or :func:`held`, inside which code polls
:func:`pending` (a live session stops its stream, then reports). This module imports nothing of rtsep, so the
foundation (``rtsep.io.atomic``) and the live session can use it.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

# The signals that stop a command. SIGHUP (the terminal closed) is absent on Windows.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))

_depth = 0  # nesting of deferred() in the main thread
_pending: int | None = None  # the first signal that arrived while deferred
_last_raised: int | None = None  # the signal of the last Interrupted made


class Interrupted(KeyboardInterrupt):
    """The command was stopped by signal ``signum``; it should exit with ``exit_code``."""

    def __init__(self, signum: int = signal.SIGINT):
        global _last_raised
        super().__init__(signal_name(signum))
        self.signum = int(signum)
        _last_raised = self.signum

    @property
    def name(self) -> str:
        return signal_name(self.signum)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def last_raised() -> int | None:
    """The signal of the last :class:`Interrupted` raised in this process, or None.

    Typer turns a ``KeyboardInterrupt`` into a plain exit status (130) on its way out; the
    command line asks here which signal it really was.
    """
    return _last_raised


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def signal_of(exc: BaseException | None) -> int | None:
    """The signal behind ``exc``: an ``Interrupted``, a bare ``KeyboardInterrupt`` (SIGINT), or
    an exception raised because of one (click turns Ctrl-C into ``Abort``); None otherwise."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, Interrupted):
            return exc.signum
        if isinstance(exc, KeyboardInterrupt):
            return int(signal.SIGINT)
        exc = exc.__cause__ or exc.__context__
    return None


def on_signal(signum, frame) -> None:
    """The handler: raise :class:`Interrupted`, or hold the signal inside ``held``/``deferred``."""
    global _pending
    if _depth > 0:
        if _pending is None:
            _pending = signum
        return
    raise Interrupted(signum)


_exiting = False  # interrupted_exit has written its note; SystemExit is on its way out


def interrupted_exit(prog: str, signum: int | None, detail: str | None = None) -> None:
    """End the process after a stop signal: one line on stderr, exit status 128 + signal.

    ``detail`` ends the line (what was kept). Further stop signals are ignored from here on, so
    the note is never cut short, and a caller further out does not write a second one
    (:func:`exiting`).
    """
    import sys

    global _exiting
    _exiting = True
    signum = int(signum or signal.SIGINT)
    for sig in STOP_SIGNALS:
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError):
            pass
    try:
        sys.stderr.write(f"{prog}: interrupted by {signal_name(signum)}"
                         + (f"; {detail}" if detail else "") + "\n")
        sys.stderr.flush()
    except OSError:
        pass
    sys.exit(128 + signum)


def exiting() -> bool:
    """Whether :func:`interrupted_exit` already wrote its note and is exiting."""
    return _exiting


def install_handlers() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in STOP_SIGNALS:
        try:
            signal.signal(sig, on_signal)
        except (OSError, ValueError):  # a signal this platform does not let us catch
            pass


@contextmanager
def held():
    """Record stop signals instead of raising them while the body runs.

    Code inside polls :func:`pending` (a live session's loop does) or leaves the signal to the
    enclosing :func:`deferred` block or :func:`raise_pending`. Nests.
    """
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only ever handled in the main thread
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


@contextmanager
def deferred():
    """Hold stop signals while the body runs; raise the first one (as ``Interrupted``) after.

    If the body fails on its own, its exception wins and the held signal is raised by the
    next ``deferred`` block that ends cleanly or by :func:`raise_pending`.
    """
    with held():
        yield
    if _depth == 0:
        raise_pending()


def pending() -> int | None:
    """The stop signal held since the last :func:`take_pending`, or None."""
    return _pending


def take_pending() -> int | None:
    """The held stop signal, which is then no longer pending (its taker acts on it)."""
    global _pending
    signum, _pending = _pending, None
    return signum


def raise_pending() -> None:
    """Raise the signal held by :func:`held` or :func:`deferred`, if one arrived."""
    signum = take_pending()
    if signum is not None:
        raise Interrupted(signum)
