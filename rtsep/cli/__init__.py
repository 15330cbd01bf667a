"""Command line: parses options, calls the Python API, prints. No work happens here."""

from __future__ import annotations

import importlib

import typer

from .runner import run

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Real-time music source separation: remove or isolate the voice, live or from files.",
)

# Each module defines ``register(app)`` and adds its commands. One line per module.
_COMMAND_MODULES = [
    "rtsep.cli.separate",
    "rtsep.cli.profile",
    "rtsep.cli.models",
    "rtsep.cli.live",
    "rtsep.cli.eval",
    "rtsep.cli.train",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """Entry point: a user's mistake is one line on stderr and exit status 2, never a traceback."""
    run(app, "rtsep")

