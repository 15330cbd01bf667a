"""What makes a song "done": its summary, written with its outputs, names the input's content
hash and the settings; a rerun with the same file and settings skips it.

``OUT/SONG/separation.json`` is published in the same atomic set as the stems, so its presence
means the whole set is there. A song counts as done when that summary matches the input's
SHA-256 and the settings fingerprint and every output it lists still exists; a changed file,
other settings or a deleted stem mean it is separated again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import __version__
from ..config import EngineConfig

SUMMARY_NAME = "separation.json"


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks (constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                return h.hexdigest()
            h.update(data)


def settings_fingerprint(config: EngineConfig, stems, fmt: str,
                         models: dict[str, str] | None = None) -> str:
    """A short hash of everything that decides the outputs' content and names, the models'
    weights (``{name: sha256}``) included: a retrained model makes songs count as not done."""
    text = json.dumps({"config": repr(config), "stems": list(stems), "format": fmt,
                       "models": models or {}, "rtsep": __version__}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finished(out_dir: Path, digest: str, fingerprint: str) -> dict | None:
    """The summary of an earlier run of the same input and settings whose outputs are all
    still there, else None."""
    try:
        summary = json.loads((Path(out_dir) / SUMMARY_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(summary, dict):
        return None
    if summary.get("input_sha256") != digest or summary.get("settings") != fingerprint:
        return None
    stems, fmt = summary.get("stems"), summary.get("format")
    if not stems or not isinstance(fmt, str):
        return None
    if not all((Path(out_dir) / f"{stem}.{fmt}").is_file() for stem in stems):
        return None
    return summary
