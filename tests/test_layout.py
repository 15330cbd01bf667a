"""The package layout's rules, checked on the source: no import cycles, and each package imports
only what README.md's "Where things are" table allows.

Imports are read with ``ast``. An import at module level runs when the module is imported; one
inside a function runs only when that function is called (a deliberate lazy edge, e.g. torch
only when a model is loaded), so the rules below say which of the two they mean.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rtsep", "kernels", "models", "offline_training")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports() -> dict[str, list[tuple[str, bool]]]:
    """Module -> [(imported module, at module level?)] for every module of our packages."""
    graph = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = _module_name(path)
            tree = ast.parse(path.read_text(), filename=str(path))
            top_level = {id(n) for n in tree.body}
            # imports inside `if TYPE_CHECKING:` or try/except at module level still run
            for n in tree.body:
                if isinstance(n, (ast.If, ast.Try)):
                    top_level |= {id(c) for c in ast.walk(n)}
            found = []
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found += [(a.name, id(node) in top_level) for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    target = _resolve(module, path.name == "__init__.py", node)
                    found.append((target, id(node) in top_level))
                    # "from package import submodule" imports the submodule too
                    found += [(f"{target}.{a.name}", id(node) in top_level) for a in node.names]
            graph[module] = found
    return graph


GRAPH = _imports()
OURS = set(GRAPH)


def _ours(name: str) -> str | None:
    """The longest module of ours that ``name`` is or lies inside, or None."""
    while name:
        if name in OURS:
            return name
        name = name.rpartition(".")[0]
    return None


def _find_cycle(edges: dict[str, list[str]]) -> None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in edges.get(m, []):
            if state.get(n) == 1:
                cycle = path[path.index(n):] + [n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)


def test_no_import_cycles_at_module_level():
    _find_cycle({m: sorted({t for name, top in deps if top and (t := _ours(name)) and t != m})
                 for m, deps in GRAPH.items()})


def test_no_cycles_in_rtsep_even_through_lazy_imports():
    """A module that imports another inside a function still depends on it; in rtsep those
    dependencies flow one way too. (``models.registry`` and the architectures it loads on
    first use refer to each other by design: a class registers itself with a decorator.)"""
    _find_cycle({m: sorted({t for name, _ in deps if (t := _ours(name)) and t != m
                            and t.startswith("rtsep")})
                 for m, deps in GRAPH.items() if m.startswith("rtsep")})


def _importers(prefix: str) -> dict[str, bool]:
    """Module -> True if it imports ``prefix`` (or a submodule) at module level, False if only
    inside functions."""
    out: dict[str, bool] = {}
    for m, deps in GRAPH.items():
        for name, top in deps:
            if name == prefix or name.startswith(prefix + "."):
                out[m] = out.get(m, False) or top
    return out


def test_kernels_import_nothing_of_ours_but_kernels():
    for m, deps in GRAPH.items():
        if m.startswith("kernels"):
            bad = {n for n, _ in deps if _ours(n) and not n.startswith("kernels")}
            assert not bad, f"{m} imports {bad}"


def test_models_use_only_kernels_and_the_foundation_of_rtsep():
    allowed = ("kernels", "models", "rtsep.errors", "rtsep.io.atomic")
    for m, deps in GRAPH.items():
        if m.startswith("models"):
            bad = {n for n, _ in deps if _ours(n) and not n.startswith(allowed)}
            assert not bad, f"{m} imports {bad}"


def test_rtsep_never_imports_offline_training_except_to_forward_rtsep_train():
    importers = {m: top for m, top in _importers("offline_training").items()
                 if m.startswith("rtsep")}
    assert importers == {"rtsep.cli.train": False}, importers


def test_songs_are_imported_only_where_songs_are_rendered():
    importers = {m for m in _importers("rtsep.songs") if m.startswith("rtsep")
                 and not m.startswith("rtsep.songs")}
    rendering = {"rtsep.cli.demo", "rtsep.evaluation.profile", "rtsep.evaluation.soak"}
    assert importers <= rendering, importers
    assert not any(top for m, top in _importers("rtsep.songs").items()
                   if m.startswith("rtsep") and not m.startswith("rtsep.songs"))


def test_torch_is_imported_only_inside_functions_outside_models_and_backends():
    for m, top in _importers("torch").items():
        if m.startswith("rtsep") and not m.startswith("rtsep.backends."):
            assert not top, f"{m} imports torch at module level"


@pytest.mark.parametrize("code", [
    "import rtsep, rtsep.cli",
    # the model-free path end to end: no model, no torch, no FluidSynth code
    "import numpy as np; from rtsep import EngineConfig; from rtsep.separate import separate_array;"
    "separate_array(np.zeros((2, 4410)), 44100, EngineConfig())",
])
def test_the_engine_runs_without_torch_training_or_song_code(code):
    check = ("import sys; bad = [m for m in ('torch', 'offline_training', 'rtsep.songs') "
             "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", f"{code}\n{check}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
