"""`rtsep devices`, `rtsep live` and `rtsep profile-loopback`: options and printing only."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def devices(
        as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
    ) -> None:
        """List the audio devices PortAudio sees (index, name, host API, channels, rate)."""
        from ..live.devices import format_table, list_devices

        found = list_devices()
        typer.echo(json.dumps(found, indent=1) if as_json else format_table(found))

    @app.command()
    def live(
        source: str = typer.Option("mic", "--in", help="'mic' (the input device) or an audio file to play."),
        out: str = typer.Option("karaoke", "--out", help="karaoke, vocals, or both (vocals on 1-2, karaoke on 3-4)."),
        device: Optional[str] = typer.Option(None, "--device", "-d", help="Device for both directions: index or part of its name."),
        in_device: Optional[str] = typer.Option(None, "--in-device", help="Input device (overrides --device)."),
        out_device: Optional[str] = typer.Option(None, "--out-device", help="Output device (overrides --device)."),
        preset: str = typer.Option("default", help="default (hop 256 at 44.1 kHz) or low-latency (hop 128)."),
        alpha: Optional[float] = typer.Option(None, help="Deep Karaoke threshold: binary mask where the vocal posterior > alpha."),
        blocksize: Optional[int] = typer.Option(None, help="Frames per device callback (default: one hop)."),
        buffer_hops: int = typer.Option(2, "--buffer-hops", help="Extra hops of output buffering against compute and scheduling jitter."),
        seconds: Optional[float] = typer.Option(None, help="Stop after this many seconds (default: Ctrl-C or end of file)."),
        primitives_only: bool = typer.Option(False, "--primitives-only", help="Primitive clustering only: no model."),
        model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Model name or file (repeatable; `rtsep models list`). Default: the best shipped model for the rate."),
        backend: str = typer.Option("auto", help="auto, torch, onnx, cuda-graph or tensorrt."),
        with_primitives: bool = typer.Option(False, "--with-primitives", help="Also run primitive clustering as a candidate."),
        switch: str = typer.Option("confidence", help="Between candidates: off or confidence."),
        stats_json: Optional[Path] = typer.Option(None, "--stats-json", help="Also write the end-of-run summary as JSON."),
        jack_name: Optional[str] = typer.Option(None, "--jack-name", help="JACK client name for this process (ports NAME:in_0, NAME:out_0, ...)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No status line."),
    ) -> None:
        """Separate live: microphone (or a file played in real time) to the output device."""
        from .separate import engine_config_from_options
        from ..io.jsonio import write_json_atomic
        from ..live.stream import build_session, check_blocksize, format_summary, status_line

        if out not in ("karaoke", "vocals", "both"):
            from ..errors import ConfigError

            raise ConfigError(f"--out must be karaoke, vocals or both, got {out!r}")
        config = engine_config_from_options(preset, alpha, None, None, 5.0, models=model,
                                            primitives_only=primitives_only, backend=backend,
                                            with_primitives=with_primitives, switch=switch)
        if jack_name:
            from ..live.devices import rescan

            rescan(jack_client_name=jack_name)
        session = build_session(source, out=out, device=device, in_device=in_device,
                                out_device=out_device, config=config,
                                blocksize=check_blocksize(blocksize), extra_buffer_hops=buffer_hops)
        printer = None if quiet else _StatusPrinter(status_line)
        typer.echo(f"rtsep live: {session.sr} Hz, {session.channels} ch, hop {session.hop}, "
                   f"blocksize {session.blocksize}; Ctrl-C to stop", err=True)
        summary = session.run(seconds=seconds, status=printer)
        if printer is not None:
            printer.close()
        typer.echo(format_summary(summary), err=True)
        if stats_json is not None:
            write_json_atomic(stats_json, summary)

    @app.command("profile-loopback")
    def profile_loopback(
        device: Optional[str] = typer.Option(None, "--device", "-d", help="Device whose output 1-2 is looped back to its input 1-2."),
        preset: str = typer.Option("default", help="default or low-latency."),
        seconds: float = typer.Option(10.0, help="How long to run."),
        buffer_hops: int = typer.Option(2, "--buffer-hops", help="Extra hops of output buffering against compute and scheduling jitter."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Measure the round-trip latency through the engine on a looped-back device."""
        from ..live.loopback import format_loopback, measure_loopback

        # On JACK the loop out_N -> in_N is wired with jack_connect; elsewhere it is a cable.
        result = measure_loopback(device, preset, seconds, extra_buffer_hops=buffer_hops)
        typer.echo(json.dumps(result, indent=1) if as_json else format_loopback(result))


class _StatusPrinter:
    """Refreshes one status line on stderr (a new line each second when not a terminal)."""

    def __init__(self, make_line):
        self.make_line = make_line
        self.tty = sys.stderr.isatty()
        self.calls = 0

    def __call__(self, session) -> None:
        self.calls += 1
        if self.tty:
            sys.stderr.write("\r" + self.make_line(session) + "\033[K")
            sys.stderr.flush()
        elif self.calls % 4 == 0:
            sys.stderr.write(self.make_line(session) + "\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
