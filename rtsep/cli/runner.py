"""Running a typer app so that a user's mistake is one line and exit status 2, never a traceback.

Shared by ``rtsep`` and ``python -m offline_training``.
"""

from __future__ import annotations

import sys

import typer

from ..errors import ModelFileError, RtsepError

# exceptions whose message is meant for the user as it is
USER_ERRORS = (RtsepError, ModelFileError)


def run(app: typer.Typer, prog: str) -> None:
    try:
        app(standalone_mode=False)
    except USER_ERRORS as exc:
        typer.echo(f"{prog}: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # usage errors arrive here in standalone_mode=False
        # typer may vendor click, so its usage errors are matched by shape, not by import
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        raise
