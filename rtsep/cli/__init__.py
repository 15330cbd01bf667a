"""Command line: parses options, calls the Python API, prints. No work happens here.

Shell completion: ``rtsep --install-completion`` (bash, zsh, fish, PowerShell); choices such as
``--preset`` and ``--backend`` complete to their values.
"""

from __future__ import annotations

import importlib

import typer

from .runner import run

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Real-time music source separation: remove or isolate the voice, live or from files.",
)

# Each module defines ``register(app)`` and adds its commands. One line per module.
_COMMAND_MODULES = [
    "rtsep.cli.separate",
    "rtsep.cli.demo",
    "rtsep.cli.live",
    "rtsep.cli.devices",
    "rtsep.cli.profile",
    "rtsep.cli.models",
    "rtsep.cli.eval",
    "rtsep.cli.train",
    "rtsep.cli.score",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"rtsep {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Real-time music source separation: remove or isolate the voice, live or from files."""


def main() -> None:
    """Entry point: a user's mistake is one line on stderr and exit status 2, never a traceback."""
    run(app, "rtsep")

