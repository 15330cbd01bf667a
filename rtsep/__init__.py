"""rtsep: real-time music source separation.

The Python API a notebook calls; ``rtsep.cli`` only parses and prints::

    from rtsep import Engine, EngineConfig, separate_array, separate_file

README.md ("Where things are") maps the subpackages to the path of one hop.
"""

from .config import EngineConfig, StftGeometry, geometry_for
from .errors import RtsepError
from .separate import separate_array, separate_file

__all__ = ["EngineConfig", "StftGeometry", "geometry_for", "RtsepError", "Engine",
           "separate_array", "separate_file", "__version__"]
__version__ = "0.1.0"


def __getattr__(name):
    # The engine pulls in the numba kernels; import it on first use so `rtsep --help` stays quick.
    if name == "Engine":
        from .core.engine import Engine

        return Engine
    raise AttributeError(name)
