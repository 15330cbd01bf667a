"""The one decorator every kernel uses, and the input checks of the public wrappers.

``nogil`` lets the audio I/O thread run while a kernel computes; ``cache`` avoids recompiling
on every start (the cache location is arranged in ``kernels/__init__``). Kernels are private
(``_name``) and never check bounds; each public ``name`` checks shapes and dtypes first, because
a wrong-sized array in nopython code reads or writes past its end instead of raising.
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


def check_array(name: str, a, shape: tuple, dtype=np.float64, contiguous: bool = False) -> None:
    """Raise ``ValueError`` unless ``a`` is an ndarray of ``dtype`` whose shape matches
    ``shape`` (``None`` entries match any length)."""
    if not isinstance(a, np.ndarray) or a.dtype != dtype:
        raise ValueError(f"{name} must be a {np.dtype(dtype).name} ndarray")
    if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape)):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {a.shape}")
    if contiguous and not a.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
