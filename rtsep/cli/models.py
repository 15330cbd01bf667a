"""`rtsep models list|show|export-onnx`: what model files there are, and their step graphs."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

models_app = typer.Typer(no_args_is_help=True, help="List, inspect and export separator models.")

_DIR_HELP = "Extra folder of model files (NAME.safetensors + NAME.json); repeatable."


@models_app.command("list")
def list_cmd(dir: Optional[List[Path]] = typer.Option(None, "--dir", help=_DIR_HELP)) -> None:
    """List shipped models and those in --dir folders."""
    from models.catalog import SHIPPED_DIR, list_models

    from ..core.model_candidates import default_model

    rows = list_models(dir or ())
    default = default_model()
    if not rows:
        typer.echo(f"no models (shipped folder: {SHIPPED_DIR})")
        return
    typer.echo(f"{'name':24} {'architecture':20} {'sr':>6} {'n_fft/hop':>10} {'look':>4}  "
               f"{'training':14} where")
    for r in rows:
        where = "shipped" if r["shipped"] else r["path"]
        if r["shipped"] and r["name"] == default:
            where += " (default at its rate and preset)"
        if "error" in r:
            typer.echo(f"{r['name']:24} unreadable: {r['error']}")
            continue
        typer.echo(f"{r['name']:24} {r['architecture']:20} {r['sample_rate']:>6} "
                   f"{str(r['n_fft']) + '/' + str(r['hop']):>10} {r['lookahead_frames']:>4}  "
                   f"{str(r['method']):14} {where}")


@models_app.command("show")
def show_cmd(
    model: str = typer.Argument(..., help="Model name or path (NAME, NAME.json)."),
    dir: Optional[List[Path]] = typer.Option(None, "--dir", help=_DIR_HELP),
    check: bool = typer.Option(False, "--check", help="Also verify the hash and load weights."),
) -> None:
    """Print a model's JSON description."""
    import json

    from models.catalog import resolve
    from models.io import read_meta

    stem = resolve(model, dir or ())
    doc = read_meta(stem)
    typer.echo(json.dumps(doc, indent=2))
    if check:
        from models.io import load_model

        net, _ = load_model(stem)
        n = sum(p.numel() for p in net.parameters())
        typer.echo(f"check: ok ({n} parameters, sha256 verified)")


@models_app.command("export-onnx")
def export_cmd(
    model: str = typer.Argument(..., help="Model name or path (NAME, NAME.json)."),
    out: Path = typer.Option(..., "--out", "-o", help="ONNX file to write."),
    dir: Optional[List[Path]] = typer.Option(None, "--dir", help=_DIR_HELP),
) -> None:
    """Write the model's per-frame step graph: (mag_frame, *state) -> (mask, embedding, *state)."""
    from models.catalog import export_onnx

    info = export_onnx(model, out, dir or ())
    typer.echo(f"wrote {info['path']} (opset {info['opset']}; inputs "
               f"{', '.join(info['inputs'])}; outputs {', '.join(info['outputs'])})")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
