"""Name -> class registry of separator architectures.

Model files name their architecture (``"CausalGRUSeparator"``); ``models.io.load_model`` looks the
class up here, so adding an architecture means decorating its class with ``@register``.
"""

from __future__ import annotations

from rtsep.errors import ModelFileError

_ARCHITECTURES: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by its class name."""
    name = cls.__name__
    if name in _ARCHITECTURES and _ARCHITECTURES[name] is not cls:
        raise ValueError(f"architecture {name!r} is registered twice")
    _ARCHITECTURES[name] = cls
    return cls


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators.
    from . import gru, refiner, tcn  # noqa: F401


def architecture_names() -> list[str]:
    """Names of all registered architectures, sorted."""
    _load_builtin()
    return sorted(_ARCHITECTURES)


def get_architecture(name: str) -> type:
    """The class registered as ``name``; ModelFileError when there is none."""
    _load_builtin()
    try:
        return _ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(_ARCHITECTURES)) or "none"
        raise ModelFileError(f"unknown architecture {name!r} (known: {known})") from None


def build(name: str, arguments: dict):
    """Construct architecture ``name`` with its constructor ``arguments``."""
    cls = get_architecture(name)
    try:
        return cls(**arguments)
    except (TypeError, ValueError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(f"cannot build {name} from its arguments: {msg}") from None
