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

``AtomicSet`` is the incremental form: it creates the temporaries up front (so a folder that
cannot be written fails before any work), lets the caller fill them over time (audio streamed
block by block), and ``commit()`` renames them all into place; leaving the block without
committing (an error, an interruption) removes them. ``atomic_write_set`` is ``AtomicSet``
with one writer per file. Publishing and cleaning up are ``rtsep.interrupts.deferred``: a
stop signal there waits until the set is whole (or gone).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from ..errors import OutputError
from ..interrupts import deferred

# Read once: os.umask can only be read by setting it, which is not safe across threads.
_UMASK = os.umask(0o022)
os.umask(_UMASK)

Writer = Callable[[str], None]


def readable_mode() -> int:
    """The mode a plain ``open`` would give a new file under this process's umask."""
    return 0o666 & ~_UMASK


def _reason(exc: OSError) -> str:
    return " ".join(str(exc.strerror or exc).split())


def _file_in_the_way(path: Path) -> Path | None:
    """The first of ``path``'s parents that exists but is not a folder, if any."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def _temporary_beside(path: Path, created: list | None = None) -> Path:
    """A new empty temporary in ``path``'s folder (made if missing; the folders made are
    appended to ``created``, outermost first)."""
    blocker = _file_in_the_way(path)
    if blocker is not None:
        raise OutputError(f"cannot write {path}: {blocker} is a file, not a folder")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: a folder of that name is in the way")
    missing = [p for p in reversed(path.parents) if not p.exists()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if created is not None:
            created.extend(missing)
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


class AtomicSet:
    """Files filled over time in temporaries beside their targets, published together.

    ::

        with AtomicSet([a, b]) as files:
            write_into(files.temp(a)); write_into(files.temp(b))
            files.commit()            # both appear; without it, neither does

    An ``OSError`` while creating, settling or renaming becomes an ``OutputError`` naming the
    file; the caller's own writers should raise ``OSError`` (or ``OutputError``) too.
    """

    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]
        if len(set(self.paths)) != len(self.paths):
            raise OutputError(f"the same output is named twice in {[str(p) for p in self.paths]}")
        self._temps: dict[Path, Path] = {}
        self._created: list[Path] = []  # folders made for the set, removed if it fails
        self.committed = False

    def __enter__(self) -> "AtomicSet":
        try:
            for path in self.paths:
                with deferred():  # a file made but not yet recorded could not be removed
                    self._temps[path] = _temporary_beside(path, self._created)
        except BaseException:
            self._cleanup()
            raise
        return self

    def temp(self, path) -> Path:
        """The temporary that becomes ``path`` on commit."""
        return self._temps[Path(path)]

    def commit(self) -> list[Path]:
        """Make every temporary durable, then rename them all into place."""
        current = None
        try:
            for path, tmp in self._temps.items():
                current = path
                _settle(tmp)
            with deferred():
                for path, tmp in self._temps.items():
                    current = path
                    os.replace(tmp, path)
                self.committed = True
        except OSError as exc:
            raise OutputError(f"cannot write {current}: {_reason(exc)}") from None
        return list(self.paths)

    def _cleanup(self) -> None:
        with deferred():
            for tmp in self._temps.values():
                try:
                    tmp.unlink(missing_ok=True)
                except OSError:
                    pass
            if not self.committed:  # leave no empty folder behind either
                for folder in reversed(self._created):
                    try:
                        folder.rmdir()
                    except OSError:
                        pass

    def __exit__(self, *exc) -> None:
        self._cleanup()


def atomic_write_set(writes: dict) -> list[Path]:
    """Write several files as a set: ``{path: write}``, ``write(tmp_path)`` fills one file.

    Every file is written to a temporary first; only when all succeeded are they renamed into
    place, so a failure never leaves some outputs new and others missing or stale.
    """
    with AtomicSet(writes) as files:
        current = None
        try:
            for path, write in writes.items():
                current = Path(path)
                write(str(files.temp(path)))
        except OSError as exc:
            raise OutputError(f"cannot write {current}: {_reason(exc)}") from None
        return files.commit()


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
