"""A model file from a ``train-stems`` run that was stopped before its last step.

    python -m offline_training export-stems-run RUN_DIR --out models/weights/NAME [--last]

The run folder holds everything the finished recipe would have written: ``options.json``,
``split.json``, the stem bank's cache and ``checkpoints/model.*`` (the weights last
checkpointed, the best validated ones and the loss history). The model file gets the same
JSON as a finished run (``train_stems.model_meta``), plus the step the run reached, so a
stopped run is shipped through the project's own writer with its data and licences.
"""

from __future__ import annotations

import json
from pathlib import Path


def export_stems_run(run_dir, out, which: str = "best") -> dict:
    """Write ``out.json``/``out.safetensors`` from ``run_dir``'s checkpoint; ``which``:
    ``"best"`` (the validated weights the recipe's ``select`` rule keeps) or ``"last"``."""
    import numpy as np
    from safetensors.torch import load_file

    from models.io import save_model
    from rtsep.config import geometry_for
    from rtsep.errors import ConfigError

    from .remixer import RemixSettings
    from .stem_bank import SR, StemBank
    from .train_stems import StemTrainOptions, _folder_licence, build_model, model_meta

    run = Path(run_dir)
    stem = run / "checkpoints" / "model"
    weights = Path(f"{stem}.best.safetensors" if which == "best" else f"{stem}.safetensors")
    for need in (run / "options.json", run / "split.json", weights,
                 Path(f"{stem}.history.json")):
        if not need.is_file():
            raise ConfigError(f"{need} is missing: not a train-stems run with a checkpoint")
    raw = json.loads((run / "options.json").read_text())
    raw["remix"] = RemixSettings(**raw.get("remix", {}))
    raw["primitives"] = tuple(raw.get("primitives", ()))
    raw["vocal_variants"] = tuple(raw.get("vocal_variants", ()))
    opts = StemTrainOptions(**raw)
    split = json.loads((run / "split.json").read_text())
    history = json.loads(Path(f"{stem}.history.json").read_text())

    licences = {str(Path(k)): v for k, v in opts.licences.items()}
    for d in opts.data:
        licences.setdefault(str(Path(d)), _folder_licence(Path(d)))
    tracks = split["train"] + split["valid"]
    bank = StemBank.build(tracks, opts.cache_dir or run / "stems", licences)
    n_train = len(split["train"])
    geometry = geometry_for(SR, "default")
    model = build_model(opts, geometry)
    model.load_state_dict(load_file(str(weights)))
    model.eval()

    valid = history.get("valid", [])
    reached = max([h["step"] for h in history.get("train", []) + valid] or [0])
    if which == "best" and valid:
        key = opts.select if opts.select != "loss" else "loss"
        sign = -1.0 if key == "loss" else 1.0
        best = max(valid[1:] or valid, key=lambda h: sign * h[key])
        history["best_valid_score"] = {"select": opts.select, "value": best[key],
                                       "step": best["step"]}
    meta = model_meta(opts, geometry, bank, n_train, len(split["valid"]),
                      len(split["forbidden"]), np.arange(n_train, len(tracks)), history)
    meta["training"]["stopped"] = {
        "steps_planned": opts.steps, "steps_reached": reached,
        "weights": f"checkpoint {which!r}" + (
            f" (step {history['best_valid_score']['step']}, chosen by validation "
            f"{opts.select})" if which == "best" and valid else f" (step {reached})")}
    return save_model(model, out, meta)
