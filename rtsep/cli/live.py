"""`rtsep live`: separate a microphone (or a file played in real time) to the output device."""

from __future__ import annotations

import signal
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from ..errors import ConfigError
from .options import (
    AlphaOption,
    BackendOption,
    BetaOption,
    ModelOption,
    PresetOption,
    PrimitiveOption,
    PrimitivesOnlyOption,
    SwitchOption,
    WeightOption,
    WithPrimitivesOption,
    engine_config_from_options,
)
from .score import (
    MidiOption,
    ScoreChannelOption,
    ScoreOffsetOption,
    ScoreOption,
    describe,
    score_from_options,
)


class Out(str, Enum):
    karaoke = "karaoke"
    vocals = "vocals"
    both = "both"


def register(app: typer.Typer) -> None:
    @app.command()
    def live(
        source: str = typer.Option("mic", "--in", help="'mic' (the input device) or an audio file to play."),
        out: Out = typer.Option("karaoke", "--out", help="What to play: both puts vocals on outputs 1-2 and karaoke on 3-4."),
        device: Optional[str] = typer.Option(None, "--device", "-d", help="Device for both directions: index or part of its name (`rtsep devices`)."),
        in_device: Optional[str] = typer.Option(None, "--in-device", help="Input device (overrides --device)."),
        out_device: Optional[str] = typer.Option(None, "--out-device", help="Output device (overrides --device)."),
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
        in_channels: Optional[str] = typer.Option(None, "--in-channels", help="Input channels to separate, 1-based: 3-4, or 1 for mono (default: 1-2, with a note when there are more)."),
        blocksize: Optional[int] = typer.Option(None, help="Frames per device callback (default: the JACK period on JACK, else one hop)."),
        buffer_hops: Optional[int] = typer.Option(None, "--buffer-hops", help="Extra hops of output buffering against compute and scheduling jitter (default: 10 ms or more: 2 hops at the default preset, 4 at low-latency)."),
        seconds: Optional[float] = typer.Option(None, help="Stop after this many seconds (default: Ctrl-C or end of file)."),
        stats_json: Optional[Path] = typer.Option(None, "--stats-json", help="Also write the end-of-run summary as JSON."),
        jack_name: Optional[str] = typer.Option(None, "--jack-name", help="JACK client name for this process (ports NAME:in_0, NAME:out_0, ...)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No status line."),
        midi: MidiOption = None,
        score: ScoreOption = None,
        score_offset: ScoreOffsetOption = 0.0,
        score_channel: ScoreChannelOption = "auto",
    ) -> None:
        """Separate live: microphone (or a file played in real time) to the output device.

        Ctrl-C, SIGTERM or SIGHUP stop it: the summary is printed, --stats-json written, and the
        exit status is 130, 143 or 129.
        """
        from .. import interrupts
        from ..io.atomic import check_writable, write_json_atomic
        from ..live.build import build_session, check_blocksize
        from ..live.status import format_summary, status_line

        config = engine_config_from_options(
            preset, alpha, primitive, weight, beta, models=model, primitives_only=primitives_only,
            with_primitives=with_primitives, backend=backend, switch=switch,
            score=score is not None or midi is not None)
        if buffer_hops is not None and buffer_hops < 0:
            raise ConfigError(f"--buffer-hops must be 0 or more, got {buffer_hops}")
        check_writable(stats_json)  # a read-only folder is found now, not after the gig
        if jack_name:
            from ..live.devices import rescan

            rescan(jack_client_name=jack_name)
        followed = score_from_options(score, score_offset, score_channel, midi,
                                      client_name=f"{jack_name or 'rtsep'}-midi")
        try:
            session = build_session(source, out=out.value, device=device, in_device=in_device,
                                    out_device=out_device, config=config,
                                    in_channels=in_channels,
                                    blocksize=check_blocksize(blocksize),
                                    extra_buffer_hops=buffer_hops, score=followed)
            if hasattr(followed, "attach"):
                followed.attach(session)  # live events are stamped with the session's frames
            for note in session.notes:
                typer.echo(f"rtsep live: note: {note}", err=True)
            session.engine.warmup()  # compile now, while a Ctrl-C still simply stops
            printer = None if quiet else _StatusPrinter(status_line)
            typer.echo(f"rtsep live: {session.sr} Hz, {session.channels} ch, hop {session.hop}, "
                       f"blocksize {session.blocksize}, buffering {session.extra_buffer_hops} "
                       "hop(s); Ctrl-C to stop", err=True)
            if followed is not None:
                typer.echo(describe(followed), err=True)
            # From here a stop signal is held: the stream is closed, the summary printed and
            # the statistics written before the command ends with the signal's exit status.
            with interrupts.held():
                summary = session.run(seconds=seconds, status=printer)
                if printer is not None:
                    printer.close()
                typer.echo(format_summary(summary), err=True)
                if stats_json is not None:
                    write_json_atomic(stats_json, summary)
        finally:
            if hasattr(followed, "close"):
                followed.close()
        if summary["stopped_by"]:
            raise interrupts.Interrupted(getattr(signal, summary["stopped_by"]))


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
