"""``rtsep train bootstrap|supervised|score-supervised|adversarial``: forwards to the recipes in
``offline_training``.

``offline_training`` is imported only inside the commands, so ``rtsep`` itself never loads
training code; every option after the subcommand is passed on unchanged.
"""

from __future__ import annotations

import typer

_FORWARD = {"allow_extra_args": True, "ignore_unknown_options": True}


def _forward(subcommand: str, args: list[str]) -> None:
    try:
        from offline_training.__main__ import app as training_app
    except ImportError:
        from ..errors import ConfigError

        raise ConfigError("training recipes are not installed (package offline_training)") from None
    training_app([subcommand, *args], standalone_mode=False, prog_name="rtsep train")


def register(app: typer.Typer) -> None:
    train = typer.Typer(no_args_is_help=True, add_completion=False,
                        help="Train models (recipes from offline_training).")
    app.add_typer(train, name="train")

    @train.command("bootstrap", context_settings=_FORWARD, add_help_option=False)
    def bootstrap(ctx: typer.Context) -> None:
        """Bootstrap from unlabelled music (paper 000); see --help for the options."""
        _forward("bootstrap", list(ctx.args))

    @train.command("supervised", context_settings=_FORWARD, add_help_option=False)
    def supervised(ctx: typer.Context) -> None:
        """Supervised baseline on labelled stems; see --help for the options."""
        _forward("train-supervised", list(ctx.args))

    @train.command("score-supervised", context_settings=_FORWARD, add_help_option=False)
    def score_supervised(ctx: typer.Context) -> None:
        """Learn from mixtures and vocal scores, a transcriptor as critic (paper 002)."""
        _forward("score-supervised", list(ctx.args))

    @train.command("adversarial", context_settings=_FORWARD, add_help_option=False)
    def adversarial(ctx: typer.Context) -> None:
        """Semi-supervised with solo recordings and critics (paper 001); see --help."""
        _forward("adversarial", list(ctx.args))
