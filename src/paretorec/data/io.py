"""Where a table lives in a dataset folder, reading a CSV row by row, and writing a dataset
in the contract's format."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from paretorec.data.formats import FileFormat
from paretorec.data.schema import conform
from paretorec.types import Dataset, TableName

__all__ = [
    "CsvRows",
    "FileFormat",
    "TableUnreadableError",
    "read_csv_rows",
    "table_file",
    "write_dataset",
    "write_table",
]

_NOT_UTF8 = re.compile("[\udc80-\udcff]")  # undecodable bytes, kept by surrogateescape


class TableUnreadableError(ValueError):
    """A table file that cannot be split into rows (or whose header is ambiguous);
    `rows` is how many data lines it holds, none of them read."""

    def __init__(self, reason: str, rows: int) -> None:
        super().__init__(reason)
        self.rows = rows


@dataclass(frozen=True)
class CsvRows:
    """A CSV's rows as text: `frame` holds the well-formed ones (column `row`: the data
    row number, from 1), `malformed` the others (row, reason, record as JSON)."""

    frame: pl.DataFrame
    malformed: pl.DataFrame


def _data_lines(text: str) -> int:
    lines = [line for line in text.splitlines() if line.strip()]
    return max(len(lines) - 1, 0)


def read_csv_rows(path: Path, *, row_column: str = "row") -> CsvRows:
    """Read a CSV (UTF-8, a BOM allowed) record by record, so that one bad row costs that
    row only: a row with more or fewer fields than the header, or with bytes that are not
    UTF-8, is set aside with its reason. Blank lines are skipped; empty fields are null.
    A header naming a column twice, or quoting that never closes, makes the whole file
    unreadable (`TableUnreadableError`, with its line count)."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    csv.field_size_limit((1 << 31) - 1)  # a huge field is a value to check, not a crash
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise TableUnreadableError("the file is empty (no header)", 0)
        twice = sorted({name for name in header if header.count(name) > 1})
        if twice:
            raise TableUnreadableError(
                f"the header names column(s) {', '.join(repr(n) for n in twice)} more than once",
                _data_lines(text),
            )
        if any(_NOT_UTF8.search(name) for name in header):
            raise TableUnreadableError("the header is not UTF-8 text", _data_lines(text))
        columns: list[list[str | None]] = [[] for _ in header]
        rows: list[int] = []
        bad: list[tuple[int, str, str]] = []
        number = 0
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip() and len(header) > 1):
                continue  # a blank line is no row
            number += 1
            reason = None
            if len(record) != len(header):
                reason = f"has {len(record)} field(s), the header has {len(header)}"
            elif any(_NOT_UTF8.search(value) for value in record):
                reason = "is not UTF-8 text"
            if reason is not None:
                shown = [_NOT_UTF8.sub("\ufffd", value) for value in record]
                bad.append((number, reason, json.dumps(shown, ensure_ascii=False)))
                continue
            rows.append(number)
            for column, value in zip(columns, record, strict=True):
                column.append(value if value != "" else None)
    except csv.Error as error:
        raise TableUnreadableError(
            f"line {reader.line_num}: {error} (a quote that never closes?)", _data_lines(text)
        ) from None
    frame = pl.DataFrame(
        {
            name: pl.Series(name, values, dtype=pl.String)
            for name, values in zip(header, columns, strict=True)
        }
    ).with_columns(pl.Series(row_column, rows, dtype=pl.UInt32))
    malformed = pl.DataFrame(
        {
            "row": [b[0] for b in bad],
            "reason": [b[1] for b in bad],
            "record": [b[2] for b in bad],
        },
        schema={"row": pl.Int64, "reason": pl.String, "record": pl.String},
    )
    return CsvRows(frame.select(row_column, *header), malformed)


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
