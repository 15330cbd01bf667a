"""An evaluation's files (JSON, CSV, box plots, trade-off plot), written as one set.

They are written only after the whole evaluation succeeded, and together: each goes to a
temporary beside its target, and only when every one is complete are they renamed into place,
so a read-only folder or a full disk for one of them leaves none of them new.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from ..io.atomic import atomic_write_set, check_writable
from .plots import results_writer, tradeoff_writer
from .runner import EvalResults, csv_text, json_text


def check_outputs(*paths) -> None:
    """Fail before an evaluation, not after it, when an output cannot be written."""
    chosen = [Path(p) for p in paths if p is not None]
    if len({p.resolve() for p in chosen}) < len(chosen):
        raise ConfigError("two outputs name the same file")
    check_writable(*chosen)


def write_outputs(results: EvalResults, *, json_path=None, csv_path=None, plot=None,
                  tradeoff_plot=None) -> list[Path]:
    """Write the chosen outputs as one set (``atomic_write_set``): all of them or none.

    Each is rendered to a temporary beside its target first; only when every one succeeded
    are they renamed into place, so a read-only folder or a full disk for the last one never
    leaves the first ones new. Returns the paths written.
    """
    def text(content: str):
        def write(tmp: str) -> None:
            with open(tmp, "w", newline="") as f:
                f.write(content)
        return write

    writes = {}
    if json_path is not None:
        writes[Path(json_path)] = text(json_text(results))
    if csv_path is not None:
        writes[Path(csv_path)] = text(csv_text(results))
    if plot is not None:
        writes[Path(plot)] = results_writer(results)
    if tradeoff_plot is not None:
        writes[Path(tradeoff_plot)] = tradeoff_writer(results)
    if len(writes) < len([p for p in (json_path, csv_path, plot, tradeoff_plot) if p]):
        raise ConfigError("two outputs name the same file")
    return atomic_write_set(writes) if writes else []
