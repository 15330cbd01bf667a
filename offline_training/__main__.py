"""``python -m offline_training SUBCOMMAND``: recipes that make corpora and models.

Each subcommand lives in its own module defining ``register(app)``; add one line to
``_COMMAND_MODULES`` to add one. Heavy imports stay inside the command functions.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Offline training recipes: render corpora, train, bootstrap and score-supervise models.")


@app.callback()
def _group() -> None:
    """Keeps subcommands named even while only one is registered."""


_COMMAND_MODULES = [
    "offline_training.cli_corpus",
    "offline_training.cli_supervised",
    "offline_training.cli_bootstrap",
    "offline_training.cli_score",
    "offline_training.cli_stems",
    "offline_training.cli_adversarial",
]

for _name in _COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    """A user's mistake is one line on stderr and exit status 2, as in the ``rtsep`` command."""
    from rtsep.cli.runner import run

    run(app, "offline_training")


if __name__ == "__main__":
    main()
