"""Writing files atomically: a temporary file beside the target, then ``os.replace``.

The one writer for everything rtsep and its recipes write (audio, JSON, text, pictures, model
files, ONNX exports). A reader, or a crash, never sees half a file; a failed write leaves the
old file, if any, in place and no temporary behind. The data is fsynced before the rename, so a
power cut cannot leave an empty file under the final name. Results get the permissions a plain
``open`` would give (mkstemp's 0600 would hide outputs from other users). A stop signal
(``rtsep.interrupts``) during the renames waits for the last one, so a set is never half new.
Any ``OSError`` becomes a one-line :class:`~rtsep.errors.OutputError` naming the file.

Temporary names end in ``.tmp``, so writers that guess a format from the suffix (matplotlib,
soundfile) must be told the format.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import OutputError
from ..interrupts import deferred, held

# Read once: os.umask can only be read by setting it, which is not safe across threads.
_UMASK = os.umask(0o022)
os.umask(_UMASK)

Writer = Callable[[str], None]


def readable_mode() -> int:
    """The mode a plain ``open`` would give a new file under this process's umask."""
    return 0o666 & ~_UMASK


def _reason(exc: OSError) -> str:
    return " ".join(str(exc.strerror or exc).split())


def _temporary_beside(path: Path) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
    os.close(fd)
    return Path(tmp)


def _settle(tmp: Path) -> None:
    """Make the temporary's bytes durable and give it ordinary permissions."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, readable_mode())


def atomic_write_set(writes: dict) -> list[Path]:
    """Write several files as a set: ``{path: write}``, ``write(tmp_path)`` fills one file.

    Every file is written to a temporary first; only when all succeeded are they renamed into
    place, so a failure never leaves some outputs new and others missing or stale.
    """
    temps: list[tuple[Path, Path]] = []
    current = None
    try:
        for path, write in writes.items():
            current = Path(path)
            with deferred():  # a Ctrl-C must not come between creating a temporary and noting it
                temps.append((_temporary_beside(current), current))
            write(str(temps[-1][0]))
            _settle(temps[-1][0])
        with deferred():  # all renamed or none: a stop signal waits for the last rename
            for tmp, final in temps:
                current = final
                os.replace(tmp, final)
    except OSError as exc:
        raise OutputError(f"cannot write {current}: {_reason(exc)}") from None
    finally:
        with held():  # the clean-up runs to its end; a signal is raised by whoever holds it
            for tmp, _ in temps:
                tmp.unlink(missing_ok=True)
    return [final for _, final in temps]


def check_writable(*paths) -> None:
    """Fail now, with the ``OutputError`` a write would give, if a path cannot be written.

    For outputs written at the end of long work (an evaluation, a live session's statistics):
    a read-only folder is reported before the work, not after it. Creates missing parent
    folders, as the writer would; leaves no file behind.
    """
    for path in paths:
        if path is not None:
            with deferred():  # a probe file never outlives a Ctrl-C
                _temporary_beside(Path(path)).unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike, write: Writer) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path``; returns ``path``."""
    return atomic_write_set({Path(path): write})[0]


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            f.write(text)

    return atomic_write(path, write)


def write_json_atomic(path: str | os.PathLike, data) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(data, indent=2, default=float) + "\n")
