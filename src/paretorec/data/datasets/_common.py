"""Helpers the converters share: finding files, reading text tables, naming bad rows.

Every check is a vectorized Polars expression; only when a file cannot be parsed at all
does a plain scan look for the line to blame.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from paretorec.data.datasets.errors import DatasetFormatError, DatasetUnavailableError
from paretorec.data.locations import SHARED_DATA_ENV, shared_data_dir

_ROW = "__row"
_PARSED = "__parsed"


def dataset_folder(source: Path | None, name: str) -> Path:
    """`source` when given, else the data set's folder under the shared data folder."""
    return source if source is not None else shared_data_dir() / name


def require_file(path: Path, dataset: str) -> Path:
    """`path` if it is a file; else a `DatasetUnavailableError` that says where to put it."""
    if not path.is_file():
        raise DatasetUnavailableError(
            f"{path} not found: the {dataset} data set is read from {path.parent} "
            f"(pass source=<its folder>, or set ${SHARED_DATA_ENV} to the shared data folder)"
        )
    return path


def read_delimited(
    data: bytes,
    source: str,
    *,
    columns: Sequence[str],
    has_header: bool,
    separator: str = ",",
    quote_char: str | None = '"',
) -> pl.DataFrame:
    """A delimited text table with every column as a string, in file order.

    With a header it must name exactly `columns`; without one the rows must have that
    many fields.  Unreadable input raises `DatasetFormatError` naming the row at fault.
    """
    if not data.strip():
        raise DatasetFormatError(source, None, "the file is empty")
    try:
        frame = pl.read_csv(
            data,
            has_header=has_header,
            new_columns=None if has_header else list(columns),
            separator=separator,
            quote_char=quote_char,
            infer_schema=False,
            encoding="utf8",
        )
    except pl.exceptions.PolarsError as error:
        located = _locate_unreadable(data, source, len(columns), separator, quote_char)
        raise (located or DatasetFormatError(source, None, f"not readable: {error}")) from error
    if frame.columns != list(columns):
        expected = separator.join(columns)
        if has_header:
            found = separator.join(frame.columns)
            raise DatasetFormatError(source, "header", f"expected {expected!r}, found {found!r}")
        raise DatasetFormatError(
            source, "row 1", f"expected {len(columns)} fields ({expected}), found {frame.width}"
        )
    return frame


def _locate_unreadable(
    data: bytes, source: str, n_fields: int, separator: str, quote_char: str | None
) -> DatasetFormatError | None:
    """Find why Polars refused a file (bad UTF-8, a row of the wrong width); None if unknown."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return DatasetFormatError(source, f"line {line}", "not valid UTF-8")
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=separator,
        quotechar=quote_char or '"',
        quoting=csv.QUOTE_MINIMAL if quote_char else csv.QUOTE_NONE,
    )
    for index, fields in enumerate(reader):
        if fields and len(fields) != n_fields:
            return DatasetFormatError(
                source, f"line {index + 1}", f"expected {n_fields} fields, found {len(fields)}"
            )
    return None


def fail_where(
    frame: pl.DataFrame, bad: pl.Expr, source: str, reason: str, *, show: str | None = None
) -> None:
    """Raise `DatasetFormatError` for the first row where `bad` holds, with how many do.

    `frame` must be in file order, one row per data record; a null `bad` counts as fine.
    `show` names a column whose value in that row goes into the message.
    """
    hits = frame.with_row_index(_ROW).filter(bad.fill_null(False))
    if hits.height == 0:
        return
    first = hits.row(0, named=True)
    value = f" ({show}={first[show]!r})" if show is not None else ""
    more = f"; {hits.height} rows like this" if hits.height > 1 else ""
    raise DatasetFormatError(source, f"row {first[_ROW] + 1}", f"{reason}{value}{more}")


def require_values(frame: pl.DataFrame, columns: Sequence[str], source: str) -> None:
    """Every row has a non-blank value in each of `columns`."""
    for column in columns:
        blank = pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")
        fail_where(frame, blank, source, f"{column} is empty")


def clean_text(column: pl.Series) -> pl.Series:
    """Text as a shopper reads it: HTML character references decoded (``&#39;`` → ``'``,
    ``&amp;`` → ``&``, ``&nbsp;`` → a space), runs of whitespace (tabs, new lines,
    no-break spaces) collapsed to one space, ends trimmed; what is left empty is null.

    Only the values that hold an ``&`` go through `html.unescape` (in Python); the rest is
    vectorized.
    """
    column = column.cast(pl.String)
    escaped = column.str.contains("&", literal=True).fill_null(False).arg_true()
    if escaped.len():
        decoded = [html.unescape(text) for text in column.gather(escaped)]
        column = column.scatter(escaped, pl.Series(decoded, dtype=pl.String))
    collapsed = column.str.replace_all(r"\s+", " ").str.strip_chars()
    return collapsed.set(collapsed == "", None)


def parse_column(
    frame: pl.DataFrame, column: str, parsed: pl.Expr, source: str, what: str
) -> pl.DataFrame:
    """Replace string `column` by `parsed` (an expression of it that is null where the text
    does not parse); a value present in the file that does not parse is an error."""
    frame = frame.with_columns(parsed.alias(_PARSED))
    bad = pl.col(column).is_not_null() & pl.col(_PARSED).is_null()
    fail_where(frame, bad, source, f"{column} is not {what}", show=column)
    return frame.with_columns(pl.col(_PARSED).alias(column)).drop(_PARSED)


def as_int(column: str) -> pl.Expr:
    """Integer text as Int64, null where it is not one."""
    return pl.col(column).str.strip_chars().cast(pl.Int64, strict=False)


def as_float(column: str) -> pl.Expr:
    """Decimal text as Float64, null where it is not a finite number."""
    value = pl.col(column).str.strip_chars().cast(pl.Float64, strict=False)
    return pl.when(value.is_finite()).then(value)


def fail_duplicates(frame: pl.DataFrame, key: Sequence[str], source: str, what: str) -> None:
    """Raise for the first row whose `key` repeats an earlier row's (both rows named)."""
    indexed = frame.with_row_index(_ROW)
    repeats = indexed.filter(pl.struct(list(key)).is_first_distinct().not_())
    if repeats.height == 0:
        return
    second = repeats.row(0, named=True)
    match = pl.all_horizontal([pl.col(k) == second[k] for k in key])
    first = indexed.filter(match).row(0, named=True)
    shown = ", ".join(f"{k}={second[k]!r}" for k in key)
    more = f"; {repeats.height} repeated rows" if repeats.height > 1 else ""
    raise DatasetFormatError(
        source,
        f"row {second[_ROW] + 1}",
        f"duplicate {what} ({shown}), first at row {first[_ROW] + 1}{more}",
    )
