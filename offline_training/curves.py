"""Training curves of an adversarial run as one PNG: the critics' Wasserstein estimates, the
separator's losses and the validation SDR, each against the separator step."""

from __future__ import annotations

from pathlib import Path


def plot_curves(history: dict, path, title: str = "") -> Path:
    """Write ``path`` (PNG, atomically) from a ``train_loop`` history.

    Panels: (1) per critic, the mean of ``E[D(real)] - E[D(fake)]`` over its updates (the
    Wasserstein-1 estimate; it falls as the separator's outputs come closer to the solo
    recordings, or rises while the critic is still learning); (2) the supervised loss (negative
    spectral SDR, dB, plus the weighted deep-clustering term) and the adversarial term;
    (3) the validation SDR in dB (higher is better).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rtsep.io.atomic import atomic_write

    train, valid = history.get("train", []), history.get("valid", [])
    steps = [r["step"] for r in train]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    critics = sorted({k[2:] for r in train for k in r if k.startswith("w_")})
    for name in critics:
        pts = [(r["step"], r[f"w_{name}"]) for r in train if f"w_{name}" in r]
        axes[0].plot(*zip(*pts), label=f"{name} critic")
    if critics:
        axes[0].legend()
    else:
        axes[0].text(0.5, 0.5, "no critics (supervised only)", ha="center",
                     transform=axes[0].transAxes)
    axes[0].set_title("critic estimate of the Wasserstein distance")
    if train:
        axes[1].plot(steps, [r["sup"] for r in train], label="supervised loss")
        axes[1].plot(steps, [r["sdr"] for r in train], label="  of which -SDR (dB)", alpha=0.6)
        if any(r.get("adv") for r in train):
            axes[1].plot(steps, [r["adv"] for r in train], label="adversarial term (unweighted)")
        axes[1].legend()
    axes[1].set_title("separator losses (training batches)")
    if valid:
        axes[2].plot([v["step"] for v in valid], [v["sdr_db"] for v in valid], marker="o")
    axes[2].set_title("validation SDR (dB)")
    for ax in axes:
        ax.set_xlabel("separator step")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    path = Path(path)
    try:
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=80, format="png"))
    finally:
        plt.close(fig)
    return path
