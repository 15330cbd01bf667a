"""`rtsep separate`: songs through the streaming engine, one or a whole library at a time."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

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
from .score import ScoreChannelOption, ScoreOffsetOption, ScoreOption, score_from_options


class Stem(str, Enum):
    both = "both"
    vocals = "vocals"
    karaoke = "karaoke"


class Format(str, Enum):
    wav = "wav"
    flac = "flac"
    ogg = "ogg"


def register(app: typer.Typer) -> None:
    @app.command()
    def separate(
        inputs: List[str] = typer.Argument(
            ..., metavar="INPUT...", help="Audio files (wav, flac, ogg, mp3, m4a, ...), folders "
            "(searched for audio files) or - for standard input."),
        out: str = typer.Option(
            ..., "--out", "-o", help="Folder: each song goes to OUT/SONG/ (a song found in a "
            "folder keeps its path below it). - writes the one --stem to standard output as WAV."),
        stem: Stem = typer.Option(Stem.both, help="Which stems to write."),
        format: Format = typer.Option(Format.wav, "--format", "-f",
                                      help="wav (32-bit float), flac (24-bit) or ogg (Vorbis)."),
        jobs: int = typer.Option(1, "--jobs", "-j", min=1,
                                 help="Songs separated at once, one process each."),
        ray: Optional[str] = typer.Option(
            None, "--ray", metavar="ADDRESS", help="Run on this Ray cluster (e.g. auto or "
            "HOST:6379; pip install 'rtsep[ray]'); paths must be reachable from every node."),
        force: bool = typer.Option(False, "--force",
                                   help="Separate again songs an earlier run finished."),
        json_path: Optional[Path] = typer.Option(None, "--json",
                                                 help="Also write the summary as JSON."),
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
        plot: Optional[Path] = typer.Option(
            None, help="Also write a spectrogram picture (PNG; one song only)."),
        score: ScoreOption = None,
        score_offset: ScoreOffsetOption = 0.0,
        score_channel: ScoreChannelOption = "auto",
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    ) -> None:
        """Separate songs into vocals and karaoke, aligned sample for sample with the input.

        Rerunning the same command skips the songs already finished (same content, same
        settings); a song that fails is reported and the others go on.
        """
        from ..interrupts import interrupted_exit, signal_of
        from . import separate_report as report

        config = engine_config_from_options(
            preset, alpha, primitive, weight, beta, models=model,
            primitives_only=primitives_only, with_primitives=with_primitives,
            backend=backend, switch=switch, score=score is not None)
        stems = ("vocals", "karaoke") if stem is Stem.both else (stem.value,)
        followed = score_from_options(score, score_offset, score_channel)
        try:
            if out == "-":
                code = report.to_stdout(inputs, config, stems, plot, jobs, ray, json_path,
                                        score=followed)
            else:
                code = report.to_folder(inputs, Path(out), config, stems, format.value,
                                        plot, jobs, ray, force, json_path, quiet,
                                        score=followed)
        except KeyboardInterrupt as exc:
            interrupted_exit("rtsep", signal_of(exc), report.kept_note())
        if code:
            sys.exit(code)
