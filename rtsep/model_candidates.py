"""Loading model files as engine candidates, and choosing the default shipped model.

Imports torch only when a model is actually loaded, so the primitives-only path never does.
"""

from __future__ import annotations

from .candidates import ModelCandidate
from .config import EngineConfig, StftGeometry

# Shipped models, best first; the engine uses the first one that matches its STFT by default.
DEFAULT_MODEL_ORDER = ("bootstrap", "supervised")


def load_model_candidates(names, geometry: StftGeometry, config: EngineConfig) -> list:
    """One ``ModelCandidate`` per model name or path, on ``config.backend``."""
    from models.catalog import resolve

    from .backends import load_backend

    candidates = []
    for name in names:
        stem = resolve(name)
        backend, meta = load_backend(stem, config.backend, expect_n_bins=geometry.n_bins)
        lookahead = int(meta.get("latency", {}).get("lookahead_frames", 0))
        candidates.append(ModelCandidate(
            name=stem.name, backend=backend, geometry=geometry, config=config,
            embedding_dims=backend.emb_dim, lookahead_frames=lookahead,
        ))
    return candidates


def default_model(geometry: StftGeometry) -> str | None:
    """Name of the best shipped model for this STFT geometry, or None if none fits.

    Reads JSON only. A model fits when its bins equal the engine's (the sample rate's STFT).
    """
    from models.catalog import list_models

    rows = [r for r in list_models() if r.get("shipped") and "error" not in r]
    fitting = [r for r in rows if r["n_fft"] // 2 + 1 == geometry.n_bins]
    for prefix in DEFAULT_MODEL_ORDER:
        for r in fitting:
            if r["name"].startswith(prefix):
                return r["name"]
    return fitting[0]["name"] if fitting else None
