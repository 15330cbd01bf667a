"""Running a typer app so that every command ends in one of three ways.

- success: exit status 0;
- a user's mistake or a failed input/output/device: one line ``PROG: error: ...`` on stderr,
  exit status 2, never a traceback;
- an interruption: SIGINT (Ctrl-C), SIGTERM or SIGHUP (see ``rtsep.interrupts``): one line
  ``PROG: interrupted by SIGTERM``, exit status ``128 + signal`` (130, 143, 129). Outputs are
  written atomically and only once complete, so an interruption leaves nothing half-written.

Shared by ``rtsep`` and ``python -m offline_training``.
"""

from __future__ import annotations

import signal
import sys

import typer

from ..errors import RtsepError
from ..interrupts import (
    exiting,
    install_handlers,
    interrupted_exit,
    last_raised,
    raise_pending,
    signal_of,
)


def run(app: typer.Typer, prog: str) -> None:
    try:
        install_handlers()  # again, for entry points that did not install them first
        try:
            status = app(standalone_mode=False)
            raise_pending()  # a signal held by a step that could not be cut short
        finally:
            sys.stderr.flush()
        # Typer turns KeyboardInterrupt into a returned 130; the signal is known here.
        signum = last_raised() or (signal.SIGINT if status == 130 else None)
        if signum is not None:
            _interrupted(prog, signum)
        # Outside standalone mode typer *returns* a command's ``typer.Exit(n)`` as n.
        if isinstance(status, int) and status:
            sys.exit(status)
    except RtsepError as exc:  # its message is meant for the user as it is
        typer.echo(f"{prog}: error: {exc}", err=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except BaseException as exc:  # usage errors arrive here in standalone_mode=False
        if isinstance(exc, SystemExit) and exiting():  # the interruption's note is written
            raise
        signum = signal_of(exc)
        if signum is not None:  # click may turn KeyboardInterrupt into Abort; both land here
            _interrupted(prog, signum)
        if isinstance(exc, (SystemExit, GeneratorExit)):
            raise
        # typer may vendor click, so its exceptions are matched by shape, not by import
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare command group: its help
            exc.show()
            sys.exit(exc.exit_code)
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            typer.echo(f"{prog}: error: {_usage_line(exc, prog)}", err=True)
            sys.exit(2)
        if type(exc).__name__ == "Abort":  # click's own abort (e.g. an unanswered prompt)
            sys.exit(130)
        raise


def _interrupted(prog: str, signum: int) -> None:
    interrupted_exit(prog, signum)


def _usage_line(exc, prog: str) -> str:
    """A usage error (unknown option, bad choice, missing argument) as one line."""
    message = " ".join(exc.format_message().split()).replace("Value error, ", "")
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else prog
    return f"{message} (see '{command} --help')"
