"""Score options (`--score`, `--score-offset`, `--score-channel`, `--midi`) and `rtsep midi-ports`.

Declared once here and listed by `separate` and `live`; ``score_from_options`` turns them into a
``rtsep.score.ScoreInput`` (a MIDI file played in step with the audio, or a live MIDI port).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import ConfigError

ScoreOption = Annotated[Optional[Path], typer.Option(
    "--score", help="MIDI file with the voice's melody, played in step with the audio: the "
    "separation follows its notes.")]
ScoreOffsetOption = Annotated[float, typer.Option(
    "--score-offset", help="Seconds to move the score by to line it up with the audio "
    "(positive: later).")]
ScoreChannelOption = Annotated[str, typer.Option(
    "--score-channel", help="The voice's part: a MIDI channel 1-16, a track name, or auto "
    "(a track named like voice/vocal/lead/melody, else the highest melodic part; with "
    "--midi: all channels).")]
MidiOption = Annotated[Optional[str], typer.Option(
    "--midi", help="Live MIDI input that plays the voice's melody: a port name or part of it "
    "(`rtsep midi-ports`), or 'virtual' for a port of our own.")]


def score_from_options(score: Optional[Path] = None, offset: float = 0.0,
                       channel: str = "auto", midi: Optional[str] = None,
                       client_name: str = "rtsep"):
    """The score input the options ask for, or None."""
    if score is not None and midi is not None:
        raise ConfigError("--score and --midi exclude each other: follow a file or a port")
    if score is None and midi is None:
        if offset != 0.0:
            raise ConfigError("--score-offset needs --score FILE.mid")
        return None
    if midi is not None:
        from ..live.midi import LiveMidiInput

        if offset != 0.0:
            raise ConfigError("--score-offset applies to --score files; live MIDI is stamped "
                              "as it arrives")
        return LiveMidiInput(midi, channels=_live_channels(channel), client_name=client_name)
    from ..score import FileScore

    return FileScore.from_file(score, channel=channel, offset_s=offset)


def _live_channels(spec: str):
    text = str(spec).strip().lower()
    if text == "auto":
        return None
    if text.isdigit() and 1 <= int(text) <= 16:
        return [int(text) - 1]
    raise ConfigError(f"--score-channel {spec!r}: with --midi give a channel 1-16 or auto")


def describe(score) -> str:
    """One line saying what is followed."""
    if score is None:
        return ""
    if score.kind == "file":
        tl = score.timeline
        shift = f", offset {score.offset_s:+.3f} s" if score.offset_s else ""
        return f"score: {tl.part}, {tl.n_notes} notes{shift}"
    return f"score: MIDI input {score.port_name!r}"


def register(app: typer.Typer) -> None:
    @app.command("midi-ports")
    def midi_ports(
        as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
    ) -> None:
        """List the MIDI inputs `rtsep live --midi` can follow (ALSA, JACK, CoreMIDI, ...)."""
        from ..live.midi import format_ports, list_ports

        ports = list_ports()
        if as_json:
            typer.echo(json.dumps([{k: p[k] for k in ("api", "index", "name")} for p in ports],
                                  indent=1))
        else:
            typer.echo(format_ports(ports))
