"""The one decorator every kernel uses: nopython, cached on disk, releases the GIL.

``nogil`` lets the audio I/O thread run while a kernel computes; ``cache`` avoids recompiling
on every start (the cache location is arranged in ``kernels/__init__``).
"""

from __future__ import annotations

import numba

jit = numba.njit(cache=True, nogil=True)
