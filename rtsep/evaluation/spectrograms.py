"""A picture of one separation: spectrograms of the mixture, vocals and karaoke."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write


def plot_separation(mixture: np.ndarray, vocals: np.ndarray, karaoke: np.ndarray, sr: int,
                    path: str | Path, max_seconds: float = 30.0, into: str | Path | None = None
                    ) -> Path:
    """Write a PNG with three log-frequency spectrograms (first ``max_seconds``), atomically.

    Shapes: each signal is ``(channels, samples)``; channels are averaged for the picture.
    ``into``: a temporary of the caller's atomic set to fill instead (it publishes it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import stft

    path = Path(path)
    n = min(mixture.shape[1], int(max_seconds * sr))
    fig, axes = plt.subplots(3, 1, figsize=(10, 8), sharex=True, constrained_layout=True)
    ref = None
    for ax, (title, sig) in zip(axes, (("mixture", mixture), ("vocals", vocals),
                                       ("karaoke (mixture minus vocals)", karaoke))):
        f, t, z = stft(sig[:, :n].mean(axis=0), fs=sr, nperseg=2048, noverlap=1536)
        db = 20 * np.log10(np.abs(z) + 1e-9)
        ref = db.max() if ref is None else ref
        ax.pcolormesh(t, np.maximum(f, 20.0), db, vmin=ref - 80, vmax=ref, shading="auto",
                      cmap="magma")
        ax.set_yscale("log")
        ax.set_ylim(40, sr / 2)
        ax.set_ylabel("Hz")
        ax.set_title(title)
    axes[-1].set_xlabel("seconds")
    try:
        if into is not None:
            fig.savefig(str(into), dpi=90, format="png")
        else:
            atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    finally:
        plt.close(fig)
    return path
