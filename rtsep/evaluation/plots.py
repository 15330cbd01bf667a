"""Pictures of an evaluation: per-track scores as box plots, and the SIR/SAR trade-off."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable

from ..io.atomic import atomic_write
from .runner import TARGETS, EvalResults


def plot_results(results: EvalResults, path: str | Path, metric: str = "sdr") -> Path:
    """Write a PNG (atomically) with one box per method, a panel for vocals and one for karaoke.

    Each box holds the per-track ``metric`` (dB, BSS Eval v4 median over windows); the orange
    line is the median over tracks that the summary table reports.
    """
    return atomic_write(path, results_writer(results, metric))


def plot_tradeoff(results: EvalResults, path: str | Path, target: str = "vocals") -> Path:
    """Write the SIR/SAR trade-off PNG (see :func:`tradeoff_writer`) atomically."""
    return atomic_write(path, tradeoff_writer(results, target))


def results_writer(results: EvalResults, metric: str = "sdr") -> Callable[[str], None]:
    """``write(tmp_path)`` that draws :func:`plot_results`' figure into a PNG, for
    ``atomic_write_set`` (so a set of outputs is published together)."""
    return lambda tmp: _save(_results_figure(results, metric), tmp)


def tradeoff_writer(results: EvalResults, target: str = "vocals") -> Callable[[str], None]:
    """``write(tmp_path)`` for the SIR/SAR trade-off PNG.

    SIR against SAR (median over tracks, dB) for each method: the Deep Karaoke trade-off.
    Methods named ``BASE-aALPHA`` (from ``alpha_sweep``) are joined by a line to ``BASE``
    (the soft mask) and labelled with their alpha, so raising alpha reads as a path of more
    interference rejection (SIR) for more artefacts (lower SAR), as in paper 003, Fig. 4.
    """
    return lambda tmp: _save(_tradeoff_figure(results, target), tmp)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, tmp: str) -> None:
    try:
        fig.savefig(tmp, dpi=90, format="png")
    finally:
        _pyplot().close(fig)


def _results_figure(results: EvalResults, metric: str):
    plt = _pyplot()
    width = max(6.0, 1.0 + 0.9 * len(results.methods))
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(2 * width, 4.5), sharey=True,
                             constrained_layout=True)
    for ax, target in zip(axes, TARGETS):
        data = []
        for method in results.methods:
            values = [r[metric] for r in results.rows
                      if r["method"] == method and r["target"] == target]
            data.append([v for v in values if v is not None and math.isfinite(v)])
        ax.boxplot(data, showfliers=True)
        ax.set_xticks(range(1, len(results.methods) + 1))
        ax.set_xticklabels(results.methods, rotation=30, ha="right")
        ax.set_title(f"{target} ({len(data[0]) if data else 0} track(s))")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel(f"{metric.upper()} (dB)")
    fig.suptitle(Path(results.dataset).name or results.dataset)
    return fig


def _tradeoff_figure(results: EvalResults, target: str):
    plt = _pyplot()
    points = {m: (results.lookup(m, target)["sar"], results.lookup(m, target)["sir"])
              for m in results.methods}
    fig, ax = plt.subplots(figsize=(6.5, 5), constrained_layout=True)
    bases = [m for m in results.methods if "-a" not in m]
    for base in bases:
        chain = [(0.0, base)] + sorted(
            (float(m.rsplit("-a", 1)[1]), m) for m in results.methods
            if m.startswith(base + "-a") and _is_number(m.rsplit("-a", 1)[1]))
        xs = [points[m][0] for _, m in chain]
        ys = [points[m][1] for _, m in chain]
        ax.plot(xs, ys, marker="o", label=base)
        for alpha, m in chain[1:]:
            ax.annotate(f"{alpha:g}", (points[m][0], points[m][1]), textcoords="offset points",
                        xytext=(4, 4), fontsize=8)
    ax.set_xlabel(f"{target} SAR (dB)")
    ax.set_ylabel(f"{target} SIR (dB)")
    ax.set_title("Deep Karaoke threshold: soft mask, then alpha (labels)")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
