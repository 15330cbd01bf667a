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
        soak: Optional[float] = typer.Option(
            None, "--soak", metavar="MINUTES", help="Run a live session on --device for MINUTES, "
            "playing --input (default: the rendered song) in a loop, and record xruns, cheap "
            "hops, compute p99 and memory over time."),
        interval: float = typer.Option(10.0, help="Seconds between the rows of a --soak timeline."),
        device: Optional[str] = typer.Option(None, "--device", "-d", help="Audio device for --loopback and --soak."),
        buffer_hops: Optional[int] = typer.Option(None, "--buffer-hops", help="Extra hops of output buffering (--loopback, --soak; default as `rtsep live`)."),
    ) -> None:
        """Run the engine hop by hop and report latency, real-time factor and per-stage timings.

        With --model, the report ends with each model's backend and, for --backend auto, the
        step time of every backend it tried and why the one in use was chosen.
        """
        from ..errors import ConfigError
        from ..io.atomic import check_writable

        config = engine_config_from_options(
            preset, alpha, primitive, weight, beta, models=model, primitives_only=primitives_only,
            with_primitives=with_primitives, backend=backend, switch=switch)
        if loopback and soak is not None:
            raise ConfigError("--loopback and --soak exclude each other")
        if soak is not None and not (soak > 0 and interval > 0):
            raise ConfigError("--soak MINUTES and --interval must be positive")
        check_writable(json_path)  # before the work, not after it
        if soak is not None:
            _soak(config, soak, device, input, buffer_hops, interval, json_path)
            return
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


def _soak(config, minutes, device, input_path, buffer_hops, interval, json_path) -> None:
    """``--soak``: the report is printed and written even when a stop signal ends it early;
    the command then exits with the signal's status."""
    import signal

    from .. import interrupts
    from ..evaluation.soak import format_soak, prepare_soak, run_soak
    from ..io.atomic import write_json_atomic

    session = prepare_soak(device=device, config=config, input_path=input_path,
                           buffer_hops=buffer_hops)
    for note in session.notes:
        typer.echo(f"rtsep profile: note: {note}", err=True)
    echo = lambda line: typer.echo(line, err=True)  # noqa: E731
    with interrupts.held():  # a stop signal ends the soak; the report is still made and written
        report = run_soak(session, minutes, interval_s=interval, echo=echo)
        typer.echo(format_soak(report))
        if json_path is not None:
            typer.echo(f"wrote {write_json_atomic(json_path, report)}")
    if report["stopped_by"]:
        raise interrupts.Interrupted(getattr(signal, report["stopped_by"]))
