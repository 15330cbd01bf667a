"""Command line: parses options, calls the Python API, prints. No work happens here."""

from __future__ import annotations

import importlib
import sys

import typer

from .errors import RtsepError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Real-time music source separation: remove or isolate the voice, live or from files.",
)

# Each module defines ``register(app)`` and adds its commands. One line per module.
_COMMAND_MODULES = [
    "rtsep.cli_separate",
    "rtsep.cli_profile",
    "rtsep.cli_models",
    "rtsep.cli_live",
    "rtsep.cli_eval",
    "rtsep.cli_train",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def _user_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [RtsepError]
    try:
        from models.errors import ModelFileError

        errors.append(ModelFileError)
    except ImportError:
        pass
    return tuple(errors)


def main() -> None:
    """Entry point: a user's mistake is one line on stderr and exit status 2, never a traceback."""
    try:
        app(standalone_mode=False)
    except _user_errors() as exc:
        typer.echo(f"rtsep: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click's usage errors arrive here in standalone_mode=False
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            sys.exit(130)
        raise


if __name__ == "__main__":
    main()
