"""`rtsep profile`: latency, real-time factor and per-stage timings of the engine, or the
measured round trip through a looped-back device."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import (
    AlphaOption,
    BackendOption,
    BetaOption,
    InputFileOption,
    ModelOption,
    PresetOption,
    PrimitiveOption,
    PrimitivesOnlyOption,
    SwitchOption,
    WeightOption,
    WithPrimitivesOption,
    engine_config_from_options,
)


def register(app: typer.Typer) -> None:
    @app.command()
    def profile(
        preset: PresetOption = "default",
        alpha: AlphaOption = None,
        primitive: PrimitiveOption = None,
        weight: WeightOption = None,
        beta: BetaOption = 5.0,
        primitives_only: PrimitivesOnlyOption = False,
        model: ModelOption = None,
        with_primitives: WithPrimitivesOption = False,
        backend: BackendOption = "auto",
        switch: SwitchOption = "confidence",
        input: InputFileOption = None,
        seconds: float = typer.Option(10.0, help="Seconds of audio to process (the input is "
                                      "looped or cut to this length)."),
        sr: int = typer.Option(44100, help="Sample rate of the rendered song (not with --input)."),
        channels: int = typer.Option(2, help="Channel count of the rendered song (not with --input)."),
        json_path: Optional[Path] = typer.Option(None, "--json", help="Also write the report as JSON."),
        one_core: bool = typer.Option(True, "--one-core/--all-cores", help="Pin to one CPU core."),
        loopback: bool = typer.Option(
            False, help="Measure the round trip through --device with its outputs 1-2 wired to "
            "its inputs 1-2 (JACK ports are wired automatically)."),
        device: Optional[str] = typer.Option(None, "--device", "-d", help="Audio device for --loopback."),
        buffer_hops: int = typer.Option(2, "--buffer-hops", help="Extra hops of output buffering (--loopback)."),
    ) -> None:
        """Run the engine hop by hop and report latency, real-time factor and per-stage timings.

        With --model, the report ends with each model's backend and, for --backend auto, the
        step time of every backend it tried and why the one in use was chosen.
        """
        config = engine_config_from_options(
            preset, alpha, primitive, weight, beta, models=model, primitives_only=primitives_only,
            with_primitives=with_primitives, backend=backend, switch=switch)
        if loopback:
            from ..live.loopback import format_loopback, measure_loopback

            report = measure_loopback(device=device, preset=config.preset, seconds=seconds,
                                      extra_buffer_hops=buffer_hops)
            typer.echo(format_loopback(report))
        else:
            from ..evaluation.profile import (
                format_table,
                pin_to_one_core,
                profile_engine,
            )

            if one_core:
                pin_to_one_core()
            report = profile_engine(config, seconds=seconds, sr=sr, channels=channels,
                                    input_path=input)
            typer.echo(format_table(report))
        if json_path is not None:
            from ..io.atomic import write_json_atomic

            typer.echo(f"wrote {write_json_atomic(json_path, report)}")
