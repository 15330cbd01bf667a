"""Methods an evaluation compares, named on the command line.

- ``mixture``: the mixture as the estimate of each source (the floor);
- ``oracle-irm``, ``oracle-ibm``: ideal ratio (power 2 unless ``power=``) / binary masks at
  the engine's geometry (the ceiling, ``rtsep.evaluation.oracle``);
- ``repet``, ``hpss``, ``pitch``: one primitive alone through the streaming engine;
- ``pcl``: primitive clustering of the default primitives through the streaming engine;
- a shipped model's name (``rtsep models list``): that model alone through the engine;
- ``NAME:key=value,key=value``: a named variant. ``base=`` picks what it varies (a name above;
  ``pcl`` if NAME is not one); other keys are ``EngineConfig`` fields (``preset``, ``alpha``,
  ``beta``, ``primitives=repet+hpss``, ``weights=1+0.5``, ``models=tiny.json``, ...) or, for
  oracles, ``power``. Examples: ``pcl-alpha:alpha=0.5``, ``low:preset=low-latency``.

A bare name that is none of these is an error that lists the known ones (a typo such as
``pcll`` must not quietly run ``pcl``).

A method may also be any callable ``(mixture (C, N), sr) -> (vocals, karaoke)``, wrapped in
``Method(name, separate=...)`` (the benchmark's librosa references use this).
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..config import DEFAULT_PRIMITIVES, EngineConfig, geometry_for
from ..errors import ConfigError

ORACLES = {"oracle-irm": "irm", "oracle-ibm": "ibm"}
PRIMITIVES = ("repet", "hpss", "pitch")
BASE_METHODS = ("mixture", *ORACLES, *PRIMITIVES, "pcl")
DEFAULT_METHODS = ("mixture", "oracle-irm", "pcl")

Separator = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]


@dataclass
class Method:
    """One row group of the results. Exactly one of ``config`` (streamed through the engine),
    ``oracle`` (``"irm"``/``"ibm"``), ``separate`` (a callable) is set, or none for the mixture."""

    name: str
    config: EngineConfig | None = None
    oracle: str | None = None
    oracle_options: dict = field(default_factory=dict)
    separate: Separator | None = None

    @property
    def kind(self) -> str:
        if self.config is not None:
            return "engine"
        if self.oracle is not None:
            return "oracle"
        return "callable" if self.separate is not None else "mixture"


def _config_fields() -> dict[str, type]:
    hints = typing.get_type_hints(EngineConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(EngineConfig) if f.name != "extra"}


def _convert(key: str, text: str, hint) -> object:
    """Turn ``text`` into the type of EngineConfig field ``key`` (tuples are ``a+b+c``)."""
    args = typing.get_args(hint)
    if type(None) in args:  # an optional field: "none" unsets it
        if text.lower() == "none":
            return None
        hint = next(a for a in args if a is not type(None))
    try:
        if hint is bool:
            if text.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError(text)
            return text.lower() in ("1", "true", "yes", "on")
        if typing.get_origin(hint) is tuple:
            item = typing.get_args(hint)[0]
            return tuple(item(t) for t in text.split("+") if t)
        return hint(text)
    except (TypeError, ValueError):
        raise ConfigError(f"option {key}={text!r} has the wrong type") from None


def parse_method(spec: str) -> Method:
    """A ``Method`` from its command-line spelling (see the module docstring)."""
    name, sep, options_text = spec.partition(":")
    name = name.strip()
    if not name:
        raise ConfigError(f"method {spec!r} has no name")
    options: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in options_text.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"method {spec!r}: option {item!r} is not key=value")
        options[key.strip()] = value.strip()
    models = shipped_model_names()
    known = name in BASE_METHODS or name in models
    if not sep and not known:  # a bare name must be a method: "pcll" is a typo, not pcl
        raise ConfigError(f"unknown method {name!r}{_did_you_mean(name, models)}; known: "
                          f"{', '.join(BASE_METHODS)}, shipped models "
                          f"({', '.join(models) or 'none'}), or NAME:key=value,... "
                          "(e.g. pcl-alpha:alpha=0.5)")
    base = options.pop("base", name if known else "pcl")
    if base not in BASE_METHODS and base not in models:
        raise ConfigError(f"method {spec!r}: unknown base {base!r}; choose one of "
                          f"{', '.join(BASE_METHODS)} or a shipped model")
    if base == "mixture":
        if options:
            raise ConfigError(f"method {spec!r}: the mixture takes no options")
        return Method(name)
    if base in ORACLES:
        power = options.pop("power", "2")
        preset = options.pop("preset", "default")
        if options:
            raise ConfigError(f"method {spec!r}: oracles take only power= and preset=, "
                              f"not {', '.join(options)}")
        try:
            power_value = float(power)
        except ValueError:
            raise ConfigError(f"method {spec!r}: power={power!r} is not a number") from None
        geometry_for(44100, preset)  # an unknown preset fails now, not after an hour of tracks
        return Method(name, oracle=ORACLES[base],
                      oracle_options={"power": power_value, "preset": preset})
    fields = _config_fields()
    primitives = (base,) if base in PRIMITIVES else DEFAULT_PRIMITIVES
    values: dict[str, object] = {"primitives": primitives}
    if base in models:  # a shipped model alone, as `rtsep separate --model NAME` runs it
        values.update(models=(base,), use_primitives=False)
    for key, text in options.items():
        if key not in fields:
            raise ConfigError(f"method {spec!r}: unknown option {key!r}; known: base, "
                              f"{', '.join(fields)}")
        values[key] = _convert(key, text, fields[key])
    config = EngineConfig(**values)
    config.validate()
    return Method(name, config=config)


def shipped_model_names() -> tuple[str, ...]:
    """Names of the model files shipped in ``models/weights`` (their JSON only is read)."""
    from models.catalog import model_stems

    return tuple(stem.name for stem in model_stems())


def _did_you_mean(name: str, models) -> str:
    import difflib

    close = difflib.get_close_matches(name, [*BASE_METHODS, *models], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def alpha_sweep(specs, alphas) -> list[str]:
    """Each engine method of ``specs`` again with the Deep Karaoke threshold at every alpha.

    ``pcl`` with alphas 0.5 and 0.7 adds ``pcl-a0.5:base=pcl,alpha=0.5`` and
    ``pcl-a0.7:...``; a variant ``NAME:opts`` adds ``NAME-a0.5:opts,alpha=0.5``. The mixture
    and the oracles are not swept (paper 003's trade-off is a property of a soft estimate).
    """
    out = []
    for spec in specs:
        name, _, options = str(spec).partition(":")
        if name in ("mixture", *ORACLES) or "alpha=" in options:
            continue
        for alpha in alphas:
            opts = options if options else f"base={name}"
            out.append(f"{name}-a{alpha:g}:{opts},alpha={alpha:g}")
    return out


def resolve_methods(methods) -> list[Method]:
    """Strings and ``Method``s -> ``Method``s, with unique names."""
    out = [m if isinstance(m, Method) else parse_method(str(m))
           for m in (methods or DEFAULT_METHODS)]
    names = [m.name for m in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"method name(s) given twice: {', '.join(dupes)}")
    return out
