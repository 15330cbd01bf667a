"""Options shared by several commands, declared once, and turned into the Python API's objects.

``separate``, ``live`` and ``profile`` take the same separation options, so each is declared
here as an annotated type and every command lists them the same way. Options with a fixed set
of values are enums, so ``--help`` lists the choices and shell completion offers them.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from ..backends import BACKENDS
from ..config import (
    DEFAULT_MODEL,
    DEFAULT_PRIMITIVES,
    PRESET_HOPS,
    SCORE_PRIMITIVES,
    SWITCH_MODES,
    EngineConfig,
)
from ..errors import ConfigError

Preset = Enum("Preset", {name.replace("-", "_"): name for name in PRESET_HOPS}, type=str)
Backend = Enum("Backend", {name.replace("-", "_"): name for name in BACKENDS}, type=str)
Switch = Enum("Switch", {name: name for name in SWITCH_MODES}, type=str)

PresetOption = Annotated[Preset, typer.Option(
    help="default: hop 256 at 44.1 kHz, 11.6 ms; low-latency: hop 128, 5.8 ms.")]
AlphaOption = Annotated[Optional[float], typer.Option(
    help="Deep Karaoke threshold: binary mask where the vocal posterior > alpha.")]
PrimitiveOption = Annotated[Optional[List[str]], typer.Option(
    "--primitive", "-p", help="Primitive to cluster (repeatable): repet, hpss, pitch, score. "
    "Default: the first three, and score when a score is followed.")]
WeightOption = Annotated[Optional[List[float]], typer.Option(
    "--weight", "-w", help="Clustering weight per --primitive, in the same order.")]
BetaOption = Annotated[float, typer.Option(help="Hardness of primitive clustering (paper 000).")]
PrimitivesOnlyOption = Annotated[bool, typer.Option(
    "--primitives-only", help="Primitive clustering only: no model.")]
ModelOption = Annotated[Optional[List[str]], typer.Option(
    "--model", "-m", help="Model name or file (repeatable; `rtsep models list`). Default: the "
    "first shipped model of the default order that fits the rate and preset (refiner-local: "
    "44.1 kHz, default preset; research and non-commercial weights), else primitive "
    "clustering.")]
WithPrimitivesOption = Annotated[bool, typer.Option(
    "--with-primitives", help="Also run primitive clustering as a candidate beside the models.")]
BackendOption = Annotated[Backend, typer.Option(help="Where models run.")]
SwitchOption = Annotated[Switch, typer.Option(
    help="Between candidates: off (the first only) or confidence (paper 004).")]
InputFileOption = Annotated[Optional[Path], typer.Option(
    "--input", "-i", help="Audio file to run on instead of the built-in rendered song.")]


def engine_config_from_options(preset: str = "default", alpha: Optional[float] = None,
                               primitives: Optional[List[str]] = None,
                               weights: Optional[List[float]] = None, beta: float = 5.0, *,
                               models: Optional[List[str]] = None, primitives_only: bool = True,
                               with_primitives: bool = False, backend: str = "auto",
                               switch: str = "confidence", score: bool = False) -> EngineConfig:
    """One place that turns the shared command-line options into an ``EngineConfig``.

    With no ``--model`` and no ``--primitives-only`` the engine takes the first shipped model of
    the default order that fits the rate (primitive clustering when none does).
    ``--with-primitives`` adds primitive clustering as a candidate beside the models, for
    switching by confidence. ``score``: a score is followed (``--score``/``--midi``), so the
    score primitive joins the default ones. Enum members are accepted wherever strings are.
    """
    if primitives_only and models:
        raise ConfigError("--primitives-only and --model exclude each other")
    if primitives_only:
        chosen, use_primitives = (), True
    else:
        chosen = tuple(models) if models else (DEFAULT_MODEL,)
        use_primitives = with_primitives
    names = tuple(primitives) if primitives else (SCORE_PRIMITIVES if score else DEFAULT_PRIMITIVES)
    config = EngineConfig(
        preset=_value(preset),
        primitives=names,
        weights=tuple(weights) if weights else None,
        beta=beta,
        alpha=alpha,
        models=chosen,
        use_primitives=use_primitives,
        backend=_value(backend),
        switch=_value(switch),
    )
    config.validate(score=score)
    return config


def _value(choice) -> str:
    return choice.value if isinstance(choice, Enum) else str(choice)
