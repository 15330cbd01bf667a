"""numba kernels: plain functions over arrays the caller allocated, each with a numpy twin.

Importing this package first makes sure numba has somewhere writable to cache compiled code:
``cache=True`` writes beside the source file, which fails on a read-only install (librosa
#1156, #1758). When ``NUMBA_CACHE_DIR`` is unset and this directory is not writable, the cache
goes to ``user_cache_dir() / "numba"``.

``user_cache_dir`` is the one place anything in rtsep caches files (compiled kernels, ONNX
exports, rendered songs). It is defined here, in the lowest package, because the kernels need
it before anything else is imported; ``rtsep`` and ``models`` import it from here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def user_cache_dir() -> Path:
    """``$RTSEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/rtsep``, else ``~/.cache/rtsep``."""
    if os.environ.get("RTSEP_CACHE_DIR"):
        return Path(os.environ["RTSEP_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rtsep"


def _setup_numba_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    if os.access(Path(__file__).resolve().parent, os.W_OK):
        return
    target = user_cache_dir() / "numba"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        # Nowhere writable: numba then compiles every run, which is slow but still correct.
        return
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    # numba reads the variable once at import; if another library imported it already,
    # update its live configuration too.
    numba_config = sys.modules.get("numba.core.config")
    if numba_config is not None:
        numba_config.CACHE_DIR = str(target)


_setup_numba_cache()
