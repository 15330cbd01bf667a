"""What every benchmark script shares: a description of the machine and section replacement in
BENCHMARKS.md (each script owns one "## " section and rewrites only that one)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


def machine() -> str:
    """CPU model, core count and Python version, e.g. for a table's caption."""
    model = "unknown CPU"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
                break
    except (OSError, subprocess.SubprocessError):
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def replace_section(heading: str, text: str, path: Path = BENCHMARKS_MD) -> None:
    """Swap the section that starts with the line ``heading`` for ``text`` (atomically).

    The section runs to the next line starting with "## "; a missing section is appended.
    """
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = old.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    text = text.rstrip("\n") + "\n"
    if start is None:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        new = "".join(lines[:start]) + text + ("\n" if end < len(lines) else "") + \
            "".join(lines[end:])
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new)
    os.replace(tmp, path)
