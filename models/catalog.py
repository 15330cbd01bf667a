"""Finding model files: the ones shipped in ``models/weights/`` and any in a user's folders.

Reads only the JSON descriptions (no torch), so listing stays quick.
"""

from __future__ import annotations

from pathlib import Path

from rtsep.errors import ModelFileError

from .io import read_meta

SHIPPED_DIR = Path(__file__).resolve().parent / "weights"


def model_stems(dirs=()) -> list[Path]:
    """Stems (path without suffix) of every ``*.json`` beside a model, shipped first."""
    stems = []
    for folder in (SHIPPED_DIR, *map(Path, dirs)):
        if not folder.is_dir():
            if folder != SHIPPED_DIR:
                raise ModelFileError(f"model folder {folder} does not exist")
            continue
        stems += sorted(p.with_suffix("") for p in folder.glob("*.json"))
    return stems


def list_models(dirs=()) -> list[dict]:
    """One summary per model file: name, path, architecture, rates, latency, method, or error."""
    rows = []
    for stem in model_stems(dirs):
        row = {"name": stem.name, "path": str(stem), "shipped": stem.parent == SHIPPED_DIR}
        try:
            doc = read_meta(stem)
        except ModelFileError as exc:
            row["error"] = str(exc)
        else:
            row.update(architecture=doc["architecture"], sample_rate=doc["sample_rate"],
                       n_fft=doc["stft"]["n_fft"], hop=doc["stft"]["hop"],
                       preset=doc["stft"].get("preset"),
                       lookahead_frames=doc["latency"]["lookahead_frames"],
                       method=(doc.get("training") or {}).get("method", "?"))
        rows.append(row)
    return rows


def resolve(name_or_path, dirs=()) -> Path:
    """A model's stem from a path (with or without suffix) or a name in the shipped/given dirs."""
    p = Path(name_or_path)
    stem = p.with_suffix("") if p.suffix in (".json", ".safetensors") else p
    if stem.with_suffix(".json").is_file():
        return stem
    for candidate in model_stems(dirs):
        if candidate.name == str(name_or_path):
            return candidate
    raise ModelFileError(f"no model {str(name_or_path)!r} (not a file, not in "
                         f"{', '.join(map(str, (SHIPPED_DIR, *dirs)))})")


def export_onnx(name_or_path, out, dirs=()) -> dict:
    """Load a model (all checks) and write its batch-1 step graph to ``out`` atomically."""
    from rtsep.io.atomic import atomic_write

    from .export import OPSET, export_step_onnx, io_names
    from .io import load_model

    model, doc = load_model(resolve(name_or_path, dirs))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda tmp: export_step_onnx(model, tmp))
    inputs, outputs = io_names(model)
    return {"path": str(out), "opset": OPSET, "inputs": inputs, "outputs": outputs,
            "model": doc["name"] if "name" in doc else str(name_or_path)}
