"""Primitives: causal per-frame vocal masks from auditory grouping cues (paper 000 §2).

One module per cue: ``repet`` (repetition), ``hpss`` (harmonic minus stable-harmonic),
``pitch`` (predominant f0), ``score`` (notes from MIDI). ``base`` holds the interface
(``step(mag (bins,)) -> mask (bins,)``), ``comb`` the harmonic comb shared by pitch and score.
"""

from __future__ import annotations

from typing import Sequence

from ..config import PRIMITIVE_NAMES, StftGeometry
from ..errors import ConfigError
from .hpss import Hpss
from .pitch import Pitch
from .repet import RepetSim
from .score import ScoreCue

__all__ = ["PRIMITIVE_NAMES", "RepetSim", "Hpss", "Pitch", "ScoreCue", "make_primitives"]

_REGISTRY = {"repet": RepetSim, "hpss": Hpss, "pitch": Pitch, "score": ScoreCue}
assert tuple(_REGISTRY) == PRIMITIVE_NAMES, "rtsep.config.PRIMITIVE_NAMES lists every primitive"


def make_primitives(names: Sequence[str], geometry: StftGeometry, **params) -> list:
    """Build primitives by name, in order. ``params`` maps a name to keyword arguments."""
    out = []
    for name in names:
        if name not in _REGISTRY:
            raise ConfigError(
                f"unknown primitive {name!r}; choose from {', '.join(PRIMITIVE_NAMES)}"
            )
        out.append(_REGISTRY[name](geometry, **params.get(name, {})))
    return out
