"""rtsep: real-time music source separation.

The Python API a notebook calls; ``rtsep.cli`` only parses and prints::

    from rtsep import Engine, EngineConfig, separate_array, separate_file

README.md ("Where things are") maps the subpackages to the path of one hop.
"""

from .config import EngineConfig, StftGeometry, geometry_for
from .errors import RtsepError

__all__ = ["EngineConfig", "StftGeometry", "geometry_for", "RtsepError", "Engine",
           "separate_array", "separate_file", "__version__"]
__version__ = "0.1.0"


def __getattr__(name):
    # The engine pulls in numpy and the numba kernels; import them on first use, so that
    # `import rtsep` (the command line's entry point) is instant and a Ctrl-C while the rest
    # loads can be caught (rtsep/__main__.py).
    if name == "Engine":
        from .core.engine import Engine

        return Engine
    if name in ("separate_array", "separate_file"):
        from . import separate

        return getattr(separate, name)
    raise AttributeError(name)
