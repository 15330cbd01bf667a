"""Writing files atomically: a temporary file in the same folder, then ``os.replace``.

A reader (or a crash) never sees half a file, and a failed write leaves the old file, if any,
in place. The result gets the permissions a plain ``open`` would give (mkstemp's 0600 would
hide outputs from other users). Audio has its own writer with fsync (``rtsep.io.audio``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def readable_mode() -> int:
    """The mode a plain ``open`` would give under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result onto ``path``; returns ``path``.

    The temporary name ends in ``.tmp``, so writers that guess a format from the suffix
    (matplotlib) must be told it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, readable_mode())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as f:
            f.write(text)

    return atomic_write(path, write)
