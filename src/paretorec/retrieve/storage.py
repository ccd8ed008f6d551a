"""Index folders: JSON for metadata, ``.npy`` for arrays, never pickle.

Each saved index writes a ``meta.json`` with its `kind` and `FORMAT_VERSION`; loading checks
both and each array's dtype and shape, and says which file is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "FORMAT_VERSION",
    "read_json",
    "read_meta",
    "read_npy",
    "write_json",
    "write_meta",
    "write_npy",
]

FORMAT_VERSION = 1


def write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")


def read_json(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: not a saved index folder?")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def write_npy(path: Path, array: NDArray[Any]) -> None:
    np.save(path, np.ascontiguousarray(array), allow_pickle=False)


def read_npy(path: Path, dtype: DTypeLike, shape: tuple[int | None, ...]) -> NDArray[Any]:
    """The array in `path`, which must have this dtype and shape (None: any length)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing")
    array = np.load(path, allow_pickle=False)
    if array.dtype != np.dtype(dtype):
        raise ValueError(f"{path} holds {array.dtype}, expected {np.dtype(dtype)}")
    if array.ndim != len(shape) or any(
        want is not None and have != want for have, want in zip(array.shape, shape, strict=True)
    ):
        raise ValueError(f"{path} has shape {array.shape}, expected {shape}")
    return np.array(array)


def write_meta(folder: Path, kind: str, meta: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "meta.json", {"kind": kind, "format": FORMAT_VERSION, **meta})


def read_meta(folder: Path, kind: str) -> dict[str, Any]:
    meta = read_json(Path(folder) / "meta.json")
    if not isinstance(meta, dict) or meta.get("kind") != kind:
        found = meta.get("kind") if isinstance(meta, dict) else None
        raise ValueError(f"{folder} holds a {found!r} index, not a {kind!r} one")
    if meta.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"{folder} was saved in format {meta.get('format')!r}; this version reads {FORMAT_VERSION}"
        )
    return meta
