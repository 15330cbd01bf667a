"""rtsep: real-time music source separation.

The Python API a notebook calls; ``rtsep.cli`` only parses and prints::

    from rtsep import Engine, EngineConfig, separate_array, separate_file

README.md ("Where things are") maps the subpackages to the path of one hop.
"""

__all__ = ["EngineConfig", "StftGeometry", "geometry_for", "RtsepError", "Engine",
           "separate_array", "separate_file", "__version__"]
__version__ = "0.1.0"

# Each name is imported on first use: the engine pulls in the numba kernels, and the command
# line must be able to install its signal handlers before anything heavy is imported.
_LAZY = {
    "EngineConfig": "config", "StftGeometry": "config", "geometry_for": "config",
    "RtsepError": "errors", "Engine": "core.engine",
    "separate_array": "separate", "separate_file": "separate",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rtsep' has no attribute {name!r}")
