"""Model files: ``NAME.safetensors`` (weights) + ``NAME.json`` (everything else). Never pickle.

The JSON holds::

    format, format_version          "rtsep-model", 1
    name                            NAME
    architecture, arguments         registry name and constructor arguments
    sample_rate                     Hz the model was trained at
    stft                            {"n_fft", "hop", "preset"}
    latency                         {"lookahead_frames"}: the engine adds lookahead * hop samples
    training                        {"method", ...} free-form description of the recipe
    provenance                      [{"source", "licence", ...}, ...] the data the model saw
    metrics                         {name: value}
    weights                         {"file": "NAME.safetensors", "sha256": hex digest}

``load_model`` checks everything it can before building the model and raises ``ModelFileError``
with a one-line message naming the file on any mismatch.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from rtsep.errors import ModelFileError
from rtsep.io.atomic import atomic_write

FORMAT = "rtsep-model"
FORMAT_VERSION = 1
REQUIRED_FIELDS = ("format_version", "architecture", "arguments", "sample_rate", "stft",
                   "latency", "weights")


def _stem(path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".json", ".safetensors") else p


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_model(model, path_stem, meta: dict) -> dict:
    """Write ``path_stem.safetensors`` and ``path_stem.json``; return the JSON written.

    ``meta`` must give ``sample_rate`` and ``stft`` ({"n_fft", "hop", "preset"}); it may give
    ``training``, ``provenance`` and ``metrics``. Architecture, arguments, latency and the hash
    come from the model and the written file.
    """
    from safetensors.torch import save_file

    stem = _stem(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    for key in ("sample_rate", "stft"):
        if key not in meta:
            raise ValueError(f"meta needs {key!r}")
    config = model.config
    n_fft = int(meta["stft"]["n_fft"])
    if n_fft // 2 + 1 != config["n_bins"]:
        raise ValueError(f"model has {config['n_bins']} bins but n_fft {n_fft} gives "
                         f"{n_fft // 2 + 1}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights_path = stem.with_suffix(".safetensors")
    atomic_write(weights_path, lambda tmp: save_file(tensors, tmp))
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": stem.name,
        "architecture": model.arch_name,
        "arguments": config,
        "sample_rate": int(meta["sample_rate"]),
        "stft": {"n_fft": n_fft, "hop": int(meta["stft"]["hop"]),
                 "preset": meta["stft"].get("preset")},
        "latency": {"lookahead_frames": int(config.get("lookahead_frames", 0))},
        "training": dict(meta.get("training", {"method": "untrained"})),
        "provenance": list(meta.get("provenance", [])),
        "metrics": dict(meta.get("metrics", {})),
        "weights": {"file": weights_path.name, "sha256": sha256_file(weights_path)},
    }
    text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    atomic_write(stem.with_suffix(".json"), lambda tmp: Path(tmp).write_text(text))
    return doc


def read_meta(path) -> dict:
    """The checked JSON of a model (no weights read); ModelFileError when it is unusable."""
    json_path = _stem(path).with_suffix(".json")
    if not json_path.is_file():
        raise ModelFileError(f"model description {json_path} is missing")
    try:
        doc = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{json_path} is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(doc, dict):
        raise ModelFileError(f"{json_path} does not describe a model")
    missing = [k for k in REQUIRED_FIELDS if k not in doc]
    if missing:
        raise ModelFileError(f"{json_path} lacks field(s): {', '.join(missing)}")
    if doc["format_version"] != FORMAT_VERSION:
        raise ModelFileError(f"{json_path} has format version {doc['format_version']!r}; "
                             f"this rtsep reads version {FORMAT_VERSION}")
    try:
        n_fft = int(doc["stft"]["n_fft"])
        int(doc["stft"]["hop"])
        sha = str(doc["weights"]["sha256"])
        n_bins = int(doc["arguments"]["n_bins"])
        int(doc["latency"]["lookahead_frames"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{json_path} has a malformed field ({exc})") from None
    if n_bins != n_fft // 2 + 1:
        raise ModelFileError(f"{json_path}: the model has {n_bins} bins but its STFT "
                             f"(n_fft {n_fft}) has {n_fft // 2 + 1}")
    if len(sha) != 64:
        raise ModelFileError(f"{json_path}: weights.sha256 is not a sha256 digest")
    return doc


def load_model(path, *, expect_n_bins: int | None = None):
    """Load a model pair from ``NAME``, ``NAME.json`` or ``NAME.safetensors``.

    Returns (model in eval mode on the CPU, meta dict). ``expect_n_bins`` (the engine's STFT)
    is checked against the model when given.
    """
    from .registry import build

    doc = read_meta(path)
    stem = _stem(path)
    weights_path = stem.parent / doc["weights"].get("file", stem.name + ".safetensors")
    if not weights_path.is_file():
        raise ModelFileError(f"model weights {weights_path} are missing")
    # One read: the bytes that are hashed are the bytes that are loaded, and the tensors are
    # copies, not views of a memory map (a file replaced or truncated in place while mapped
    # would kill the process with SIGBUS, e.g. a model updated during a live run).
    try:
        data = weights_path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"cannot read {weights_path}: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != doc["weights"]["sha256"]:
        raise ModelFileError(f"{weights_path} does not match the sha256 in its JSON "
                             "(damaged or replaced)")
    n_bins = int(doc["arguments"]["n_bins"])
    if expect_n_bins is not None and n_bins != int(expect_n_bins):
        raise ModelFileError(f"{stem.name} works on {n_bins} STFT bins but the engine uses "
                             f"{expect_n_bins} (sample rate or preset differs)")
    tensors = _read_tensors(data, weights_path)
    model = build(doc["architecture"], doc["arguments"])
    _load_state(model, tensors, weights_path)
    return model.eval(), doc


def _read_tensors(data: bytes, weights_path: Path) -> dict:
    from safetensors.torch import load

    try:
        return load(data)
    except Exception as exc:  # safetensors raises its own error types for damaged headers
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelFileError(
            f"{weights_path} is not a readable safetensors file ({first})") from None


def _load_state(model, tensors: dict, weights_path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ModelFileError(f"{weights_path} does not fit {model.arch_name}: "
                             f"missing {missing[:3]}, unexpected {unexpected[:3]}")
    for key, value in expected.items():
        if tuple(tensors[key].shape) != tuple(value.shape):
            raise ModelFileError(f"{weights_path}: tensor {key} has shape "
                                 f"{tuple(tensors[key].shape)}, the architecture needs "
                                 f"{tuple(value.shape)}")
    model.load_state_dict(tensors, strict=True)
