"""From ``rtsep separate INPUT... --out OUT`` to a list of songs, each with its own folder.

Every song goes to ``OUT/NAME/``: a file given by name is ``NAME`` = its stem
(``song.flac`` -> ``OUT/song/``); a file found in a folder keeps its path below that folder
(``music/album/01.flac`` -> ``OUT/album/01/``), so a library's songs never meet in one folder;
standard input (``-``) is ``stdin``. Two inputs that would share a folder are an error before
any work starts, as is ``--out`` naming an existing file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, OutputError
from ..io.reader import AUDIO_EXTENSIONS, STDIN


@dataclass(frozen=True)
class Song:
    """One input: ``source`` is a path or ``"-"``; outputs go to ``out_dir``."""

    source: str
    name: str
    out_dir: Path

    @property
    def is_stdin(self) -> bool:
        return self.source == STDIN


def find_audio(folder: Path, skip: Path | None = None) -> list[Path]:
    """Audio files below ``folder`` (any depth, by extension), in a stable order. Hidden files
    and folders (rtsep's own temporaries among them) are skipped, and so is ``skip`` (the
    output folder, when it lies inside an input folder)."""
    found = []
    skip = skip.resolve() if skip is not None else None
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (skip is None or (Path(root) / d).resolve() != skip))
        for f in sorted(files):
            if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_EXTENSIONS:
                found.append(Path(root) / f)
    return found


def plan_songs(inputs: list[str], out: Path) -> list[Song]:
    """The songs of ``inputs`` (files, folders, ``-``) with their output folders under ``out``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is an existing file; name a folder (it is created if "
                          "missing)")
    if not inputs:
        raise ConfigError("nothing to separate: name at least one file, folder or -")
    songs: list[Song] = []
    for raw in inputs:
        raw = str(raw)
        if raw == STDIN:
            if any(s.is_stdin for s in songs):
                raise ConfigError("standard input (-) can be named only once")
            songs.append(Song(STDIN, "stdin", out / "stdin"))
            continue
        path = Path(raw)
        if path.is_dir():
            files = find_audio(path, skip=out)
            if not files:
                raise ConfigError(f"no audio files found in the folder {path}")
            for f in files:
                name = f.relative_to(path).with_suffix("").as_posix()
                songs.append(Song(str(f), name, out / name))
        else:  # a missing or unreadable file fails on its own, in the summary
            songs.append(Song(raw, path.stem or path.name, out / (path.stem or path.name)))
    by_dir: dict[Path, Song] = {}
    for s in songs:
        other = by_dir.setdefault(s.out_dir, s)
        if other is not s:
            raise ConfigError(f"{other.source} and {s.source} would both be written to "
                              f"{s.out_dir}; rename one or separate them into different --out "
                              "folders")
    return songs
