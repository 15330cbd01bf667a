"""Atomic JSON output."""

from __future__ import annotations

import json
from pathlib import Path

from .atomic import write_text_atomic


def write_json_atomic(path: str | Path, data) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    return write_text_atomic(path, json.dumps(data, indent=2, default=float) + "\n")
