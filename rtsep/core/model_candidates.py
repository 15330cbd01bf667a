"""Loading model files as engine candidates, and choosing the default shipped model.

Imports torch only when a model is actually loaded, so the primitives-only path never does.
"""

from __future__ import annotations

from ..config import DEFAULT_MODEL, EngineConfig, StftGeometry
from .candidates import ModelCandidate

# Shipped models that may be the default, best first (each beats primitive clustering on dev
# and on the validation split, and is real time on one core: BENCHMARKS.md, "Quality" and
# "Speed of the refiners").
DEFAULT_MODEL_ORDER: tuple[str, ...] = ("refiner-local",)


def load_model_candidates(names, geometry: StftGeometry, config: EngineConfig,
                          score=None) -> list:
    """One ``ModelCandidate`` per model name or path, on ``config.backend``; each is handed
    the engine's score input (None without one)."""
    from models.catalog import resolve

    from ..backends import load_backend

    candidates = []
    for name in names:
        stem = resolve(name)
        backend, meta = load_backend(stem, config.backend, expect_n_bins=geometry.n_bins)
        lookahead = int(meta.get("latency", {}).get("lookahead_frames", 0))
        candidate = ModelCandidate(
            name=stem.name, backend=backend, geometry=geometry, config=config,
            embedding_dims=backend.emb_dim, lookahead_frames=lookahead, score=score,
            inputs=_model_inputs(meta, geometry),
        )
        # the weights' digest, checked against the file when it was loaded: a run that loads
        # the model again later (another worker) can tell whether the file changed meanwhile
        candidate.sha256 = str(meta["weights"]["sha256"])
        candidates.append(candidate)
    return candidates


def model_digests(config: EngineConfig) -> dict[str, str]:
    """``{model name: sha256 of its weights}`` as the model files say now (JSON only)."""
    from models.catalog import resolve
    from models.io import read_meta

    config = resolve_default(config)
    return {resolve(name).name: str(read_meta(resolve(name))["weights"]["sha256"])
            for name in config.models}


def _model_inputs(meta: dict, geometry: StftGeometry):
    """The primitive-mask inputs a model file asks for (``input_primitives``), or None."""
    arguments = meta.get("arguments", {})
    names = tuple(arguments.get("input_primitives") or ())
    if not names:
        return None
    from .model_inputs import PrimitiveInputs

    return PrimitiveInputs(names, int(arguments["primitive_bins"]), geometry)


def default_model(sr: int | None = None, preset: str | None = None) -> str | None:
    """Name of the best shipped model, or None when none is shipped (reads JSON only).

    Only models named in ``DEFAULT_MODEL_ORDER`` qualify: a shipped model becomes the default
    only once its dev-set figures beat primitive clustering (BENCHMARKS.md). With ``sr`` (an
    engine that cannot resample, such as a live stream at the device's rate) and ``preset``,
    only a model trained at that rate and preset qualifies.
    """
    from models.catalog import list_models

    shipped = {r["name"]: r for r in list_models() if r.get("shipped") and "error" not in r}
    for name in DEFAULT_MODEL_ORDER:
        row = shipped.get(name)
        if row is None:
            continue
        if sr is not None and int(row["sample_rate"]) != int(sr):
            continue
        if preset is not None and row.get("preset") not in (None, preset):
            continue
        return name
    return None


def resolve_default(config: EngineConfig, sr: int | None = None) -> EngineConfig:
    """Replace the ``default`` model sentinel by the best shipped model, or by primitives.

    ``sr``: the rate the engine runs at when it cannot be changed (live audio); a default
    model trained at another rate then gives way to primitive clustering. Files are
    resampled to the model's rate instead (``rtsep.separate``), so they pass no ``sr``.
    """
    from dataclasses import replace

    if tuple(config.models) != (DEFAULT_MODEL,):
        return config
    best = default_model(sr, config.preset)
    if best is None:
        return replace(config, models=(), use_primitives=True)
    return replace(config, models=(best,))


def models_sample_rate(config: EngineConfig) -> int | None:
    """The sample rate the configured models were trained at (None without models)."""
    from models.catalog import resolve
    from models.io import read_meta

    from ..errors import ConfigError

    config = resolve_default(config)
    rates = {int(read_meta(resolve(name))["sample_rate"]) for name in config.models}
    if len(rates) > 1:
        raise ConfigError(f"the models run at different sample rates ({sorted(rates)}); "
                          "choose models of one rate")
    return rates.pop() if rates else None
