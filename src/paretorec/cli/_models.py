"""`paretorec models list|show|promote|rollback`: the versioned model registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from paretorec.cli._shared import app, console, fails_cleanly
from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir

models_app = typer.Typer(
    help="List, inspect, promote and roll back model versions.", no_args_is_help=True
)
app.add_typer(models_app, name="models")

ModelsDir = Annotated[
    Path | None,
    typer.Option("--models", help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
]


def _registry(models: Path | None) -> ModelRegistry:
    return ModelRegistry(models if models is not None else default_models_dir())


@models_app.command("list")
@fails_cleanly
def models_list(
    kind: Annotated[ModelKind | None, typer.Argument(help="Only this kind.")] = None,
    models: ModelsDir = None,
) -> None:
    """Every version, oldest first, with its creation time, data and metrics."""
    registry = _registry(models)
    table = Table(title=f"models in {registry.root}", title_justify="left")
    for column in ("kind", "version", "promoted", "created", "data", "metrics"):
        table.add_column(column)
    for manifest in registry.manifests(kind):
        promoted = registry.promoted(manifest.kind) == manifest.version
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in list(manifest.metrics.items())[:4])
        table.add_row(
            manifest.kind.value,
            manifest.version,
            "*" if promoted else "",
            manifest.created_at,
            manifest.data or "",
            metrics,
        )
    console.print(table)


@models_app.command("show")
@fails_cleanly
def models_show(
    kind: Annotated[ModelKind, typer.Argument(help="Model kind.")],
    version: Annotated[
        str | None, typer.Argument(help="Version (default: promoted, else latest).")
    ] = None,
    models: ModelsDir = None,
) -> None:
    """The full manifest of one version, after verifying its files."""
    _, manifest = _registry(models).load(kind, version)
    console.print_json(json.dumps(json.loads(manifest.to_json())))


@models_app.command("promote")
@fails_cleanly
def models_promote(
    kind: Annotated[ModelKind, typer.Argument(help="Model kind.")],
    version: Annotated[str, typer.Argument(help="Version to serve by default.")],
    models: ModelsDir = None,
) -> None:
    """Serve VERSION by default from now on."""
    _registry(models).promote(kind, version)
    console.print(f"{kind.value} {version} promoted")


@models_app.command("rollback")
@fails_cleanly
def models_rollback(
    kind: Annotated[ModelKind, typer.Argument(help="Model kind.")],
    models: ModelsDir = None,
) -> None:
    """Serve the previously promoted version again."""
    version = _registry(models).rollback(kind)
    console.print(f"{kind.value} rolled back to {version}")
