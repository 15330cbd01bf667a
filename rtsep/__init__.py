"""rtsep: real-time music source separation.

The Python API a notebook calls; ``rtsep.cli`` only parses and prints.
"""

from .config import EngineConfig, StftGeometry, geometry_for
from .errors import RtsepError

__all__ = ["EngineConfig", "StftGeometry", "geometry_for", "RtsepError", "Engine"]
__version__ = "0.1.0"


def __getattr__(name):
    # The engine pulls in numba kernels; import it on first use so `rtsep --help` stays quick.
    if name == "Engine":
        from .core.engine import Engine

        return Engine
    raise AttributeError(name)
