"""Where a table lives in a dataset folder, and writing a dataset in the contract's format."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from paretorec.data.formats import FileFormat
from paretorec.data.schema import conform
from paretorec.types import Dataset, TableName

__all__ = ["FileFormat", "table_file", "write_dataset", "write_table"]


def table_file(folder: Path, table: TableName) -> Path | None:
    """The file that holds `table` in `folder`, or None; two formats at once is an error."""
    found = [
        folder / f"{table}.{fmt}" for fmt in FileFormat if (folder / f"{table}.{fmt}").is_file()
    ]
    if len(found) > 1:
        names = " and ".join(p.name for p in found)
        raise ValueError(f"{folder}: both {names} exist; keep one so it is clear which is read")
    return found[0] if found else None


def write_table(frame: pl.DataFrame, path: Path) -> None:
    """Write one table; the format follows the file's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.write_parquet(path)
    elif path.suffix == ".csv":
        frame.write_csv(path)
    else:
        raise ValueError(f"{path}: unknown table format (use .csv or .parquet)")


def write_dataset(
    dataset: Dataset, folder: Path, fmt: FileFormat = FileFormat.PARQUET
) -> list[Path]:
    """Write every table of `dataset` into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in dataset.tables().items():
        for other in FileFormat:  # a stale file in the other format would shadow this one
            (folder / f"{name}.{other}").unlink(missing_ok=True)
        path = folder / f"{name}.{fmt}"
        write_table(conform(frame, name), path)
        written.append(path)
    return written
