"""What `rtsep separate` shows: a progress bar over songs and audio minutes, the one-line result
of one song or a table of many, the note after an interruption. The work is ``rtsep.jobs``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from ..errors import ConfigError, RtsepError

_state = {"rows": {}, "songs": 0}  # what the interruption note reports


def _songs(inputs, out: Path):
    from ..jobs import plan_songs

    songs = plan_songs(inputs, out)
    _state["songs"] = len(songs)
    _state["rows"] = {}
    return songs


def to_stdout(inputs, config, stems, plot, jobs, ray, json_path, score=None) -> int:
    """One song, one stem, streamed to standard output as WAV (following ``score``)."""
    from ..jobs import SongOptions, separate_song

    if len(stems) != 1:
        raise ConfigError("--out - writes one stem: add --stem vocals or --stem karaoke")
    if plot is not None or ray or jobs > 1:
        raise ConfigError("--out - takes one song, without --plot, --jobs or --ray")
    songs = _songs(inputs, Path("stdout"))
    if len(songs) != 1:
        raise ConfigError(f"--out - takes one song, got {len(songs)}")
    _describe_score(score)
    row = separate_song(songs[0], config, SongOptions(stems=tuple(stems), score=score),
                        stdout=sys.stdout.buffer)
    if row["status"] == "failed":
        raise RtsepError(row["error"])
    typer.echo(_one_song_line(row), err=True)
    _write_json(json_path, [row], time.perf_counter())
    return 0


def to_folder(inputs, out: Path, config, stems, fmt, plot, jobs, ray, force, json_path,
              quiet, score=None) -> int:
    from ..jobs import SongOptions, run, totals
    from ..jobs.worker import current_models

    songs = _songs(inputs, out)
    if plot is not None and len(songs) > 1:
        raise ConfigError(f"--plot draws one song; {len(songs)} were given")
    if score is not None and (len(songs) > 1 or ray):
        raise ConfigError(f"--score follows one song; {len(songs)} were given"
                          if len(songs) > 1 else "--score runs here, not with --ray")
    if any(s.is_stdin for s in songs) and (jobs > 1 or ray):
        raise ConfigError("standard input (-) cannot go to --jobs workers or --ray")
    options = SongOptions(stems=tuple(stems), fmt=fmt, force=force,
                          plot=str(plot) if plot is not None else None,
                          models=current_models(config), score=score)
    _describe_score(score)
    t0 = time.perf_counter()
    with _Progress(songs, enabled=not quiet and sys.stderr.isatty()) as bar:
        rows = run(songs, config, options, jobs=jobs, ray_address=ray, on_event=bar.event)
    wall = time.perf_counter() - t0
    summary = totals(rows, wall)
    _write_json(json_path, rows, t0, summary)
    if len(rows) == 1:
        row = rows[0]
        if row["status"] == "failed":
            raise RtsepError(row["error"])
        if row["status"] == "skipped":
            typer.echo(f"{row['song']}: already separated into {row['out']} (same content and "
                       "settings; --force to redo)")
            return 0
        if row.get("silent_input"):
            typer.echo("note: the input is silent; the outputs are silent too", err=True)
        typer.echo(_one_song_line(row))
        for name, path in row["outputs"].items():
            typer.echo(f"  {name:8s} {path}")
        return 0
    _table(rows, summary)
    if summary["failed"]:
        first = next(r for r in rows if r["status"] == "failed")
        raise RtsepError(f"{summary['failed']} of {len(rows)} songs failed (the first, "
                         f"{first['song']}: {first['error']})")
    return 0


def _one_song_line(row: dict) -> str:
    return (f"{row['seconds']:.1f} s at {row['sr']} Hz x {row['channels']} ch in "
            f"{row['compute_seconds']:.1f} s ({1 / max(row['rtf'], 1e-9):.1f}x real time), "
            f"latency {row['latency_ms']:.1f} ms, using {' + '.join(row['candidates'])}")


def _write_json(path, rows, t0, summary=None) -> None:
    if path is None:
        return
    from ..jobs import totals, write_report

    write_report(path, rows, summary or totals(rows, time.perf_counter() - t0))


def _table(rows: list[dict], summary: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=None, show_edge=False)
    for col, justify in (("song", "left"), ("status", "left"), ("audio", "right"),
                         ("x real time", "right"), ("output or error", "left")):
        table.add_column(col, justify=justify, overflow="fold")
    for r in rows:
        audio = f"{r.get('seconds', 0.0) / 60:.1f} min" if r.get("seconds") else "-"
        speed = f"{1 / max(r['rtf'], 1e-9):.0f}x" if r["status"] == "done" else "-"
        where = r.get("error") if r["status"] == "failed" else r["out"]
        table.add_row(r["song"], r["status"], audio, speed, where)
    console = Console(width=max(100, Console().width))
    console.print(table)
    console.print(
        f"{summary['done']} separated, {summary['skipped']} skipped (done before), "
        f"{summary['failed']} failed; {summary['audio_minutes']:.1f} audio minutes in "
        f"{summary['wall_seconds']:.1f} s ({summary['audio_minutes_per_minute']:.1f} audio "
        f"minutes per minute, {summary['files_per_minute']:.1f} songs per minute)",
        highlight=False)


def _describe_score(score) -> None:
    """Which part of the score is followed: said once the inputs are known to be fine."""
    if score is not None:
        from .score import describe

        typer.echo(describe(score), err=True)


def kept_note() -> str:
    """What an interruption kept, for the one line that reports it."""
    finished = sum(1 for r in _state["rows"].values() if r["status"] in ("done", "skipped"))
    total = _state["songs"]
    if total > 1:
        return (f"{finished} of {total} songs were finished and kept; the same command goes on "
                "from there")
    return "no output was written"


class _Progress:
    """Two rich progress bars on stderr, songs and minutes of audio (none when not a TTY)."""

    def __init__(self, songs, enabled: bool):
        self.songs = songs
        self.enabled = enabled
        self.minutes = [_minutes(s.source) if enabled else 0.0 for s in songs]
        self.fraction = [0.0] * len(songs)

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.progress = Progress(
                TextColumn("{task.description:>5}"), BarColumn(),
                TextColumn("{task.fields[count]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True)
            self.progress.__enter__()
            self.files = self.progress.add_task("songs", total=len(self.songs), count="")
            self.audio = self.progress.add_task("audio", total=1.0, count="")
            self._redraw()
        return self

    def event(self, event) -> None:
        kind, i = event[0], event[1]
        if kind == "progress" and event[3]:
            self.fraction[i] = event[2] / event[3]
        elif kind == "done":
            row = event[2]
            _state["rows"][i] = row
            self.fraction[i] = 1.0
            if not self.minutes[i] and row.get("seconds"):
                self.minutes[i] = row["seconds"] / 60.0
        if self.enabled:
            self._redraw()

    def _redraw(self) -> None:
        total = sum(self.minutes)
        done = sum(m * f for m, f in zip(self.minutes, self.fraction))
        finished = len(_state["rows"])
        self.progress.update(self.files, completed=finished,
                             count=f"{finished}/{len(self.songs)} songs")
        self.progress.update(self.audio, completed=done, total=max(total, 1e-9),
                             count=f"{done:.1f}/{total:.1f} min of audio")

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.progress.__exit__(*exc)


def _minutes(source: str) -> float:
    """The song's length in minutes from its header, 0 when unknown until decoded."""
    if source == "-" or not Path(source).is_file():  # a pipe must not be read twice
        return 0.0
    try:
        import soundfile as sf

        info = sf.info(source)
        return info.frames / info.samplerate / 60.0
    except Exception:
        return 0.0
