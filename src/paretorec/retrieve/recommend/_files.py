"""Model folders: ``config.json`` (kind, format, hyperparameters) and ``arrays.safetensors``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file, save_file

FORMAT = 1
CONFIG = "config.json"
ARRAYS = "arrays.safetensors"


def write_model(
    folder: str | Path, kind: str, config: dict[str, Any], arrays: dict[str, NDArray[Any]]
) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({name: np.ascontiguousarray(a) for name, a in arrays.items()}, folder / ARRAYS)
    meta = {"kind": kind, "format": FORMAT, **config}
    (folder / CONFIG).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def read_model(folder: str | Path, kind: str) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    folder = Path(folder)
    path = folder / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (not a saved {kind} model)")
    config: dict[str, Any] = json.loads(path.read_text())
    if config.get("kind") != kind:
        raise ValueError(f"{path}: holds a {config.get('kind')!r} model, expected {kind!r}")
    if config.get("format") != FORMAT:
        raise ValueError(f"{path}: format {config.get('format')!r}, expected {FORMAT}")
    return config, load_file(folder / ARRAYS)
