"""The table file formats a dataset folder may hold (no polars here: the CLI's option types
are imported when `paretorec --help` starts, and must stay light)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FileFormat"]


class FileFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
