"""Running a typer app so that a user's mistake is one line and exit status 2, never a traceback.

Shared by ``rtsep`` and ``python -m offline_training``.
"""

from __future__ import annotations

import sys

import typer

from ..errors import RtsepError


def run(app: typer.Typer, prog: str) -> None:
    try:
        # Outside standalone mode typer *returns* an exit code instead of exiting: Ctrl-C
        # comes back as 130 (and a command's ``typer.Exit(n)`` as n). Dropping it made an
        # interrupted `rtsep separate` exit 0, as if it had succeeded.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            if code == 130:
                typer.echo(f"{prog}: interrupted", err=True)
            sys.exit(code)
    except RtsepError as exc:  # its message is meant for the user as it is
        typer.echo(f"{prog}: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # usage errors arrive here in standalone_mode=False
        # typer may vendor click, so its exceptions are matched by shape, not by import
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare command group: its help
            exc.show()
            sys.exit(exc.exit_code)
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            typer.echo(f"{prog}: error: {_usage_line(exc, prog)}", err=True)
            sys.exit(2)
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        raise


def _usage_line(exc, prog: str) -> str:
    """A usage error (unknown option, bad choice, missing argument) as one line."""
    message = " ".join(exc.format_message().split()).replace("Value error, ", "")
    ctx = getattr(exc, "ctx", None)
    command = ctx.command_path if ctx is not None else prog
    return f"{message} (see '{command} --help')"
