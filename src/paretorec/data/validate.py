"""Reading a dataset folder and checking it against the data contract.

Every problem is reported at once, each naming file, row and reason: a missing required
column, a value of the wrong type, a negative price, a propensity outside (0, 1], an
unknown event type, a row naming an item (or query, or user) that is not in its table, a
duplicate id. The good rows are kept, typed; the bad rows are kept too, raw, with their
reasons (the quarantine), so nothing is dropped silently.

Row numbers count data rows from 1, as the file has them (line 2 of a CSV with a header
is row 1); rows of a Parquet file are numbered the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from paretorec.data.io import (
    FileFormat,
    TableUnreadableError,
    read_csv_rows,
    table_file,
    write_table,
)
from paretorec.data.parse import parse_column
from paretorec.data.schema import (
    EVENT_TYPES,
    PRIMARY_KEY,
    PROPENSITY_COLUMNS,
    SCHEMAS,
    SPLITS,
    Kind,
    contract_order,
)
from paretorec.types import (
    Catalog,
    Dataset,
    Events,
    Judgments,
    Queries,
    TableName,
    Users,
)

ROW = "__row"
PROBLEM_SCHEMA = {
    "table": pl.String,
    "file": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "reason": pl.String,
}
_SHOWN_VALUE_CHARS = 40

# Which tables a table's id columns must be found in: (column, table, its key column).
_REFERENCES: dict[TableName, tuple[tuple[str, TableName, str], ...]] = {
    TableName.JUDGMENTS: (
        ("item_id", TableName.ITEMS, "item_id"),
        ("query_id", TableName.QUERIES, "query_id"),
    ),
    TableName.EVENTS: (
        ("item_id", TableName.ITEMS, "item_id"),
        ("user_id", TableName.USERS, "user_id"),
        ("query_id", TableName.QUERIES, "query_id"),
    ),
}


class DataValidationError(ValueError):
    """A dataset broke the contract; `report` holds every problem found."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        first = report.lines(1)
        detail = f"; first: {first[0]}" if first else ""
        super().__init__(
            f"{report.summary().splitlines()[0]}{detail} (`paretorec data validate` lists all)"
        )


@dataclass(frozen=True)
class ValidationReport:
    """All problems found in a dataset folder, one row each (`row` null for a whole file)."""

    folder: Path
    problems: pl.DataFrame
    rows_read: dict[TableName, int] = field(default_factory=dict)
    rows_kept: dict[TableName, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.problems.is_empty()

    def lines(self, limit: int | None = None) -> list[str]:
        """Problems as `file row N: reason` lines, in file and row order."""
        shown = self.problems if limit is None else self.problems.head(limit)
        return [
            f"{p['file']} row {p['row']}: {p['reason']}"
            if p["row"] is not None
            else f"{p['file']}: {p['reason']}"
            for p in shown.iter_rows(named=True)
        ]

    def summary(self, limit: int = 20) -> str:
        if self.ok:
            return f"{self.folder}: no problems"
        count = self.problems.height
        rows = self.problems.drop_nulls("row").select("table", "row").n_unique()
        head = f"{self.folder}: {count} problem(s)" + (f" in {rows} row(s)" if rows else "")
        shown = self.lines(limit)
        more = [f"... and {count - limit} more"] if count > limit else []
        return "\n".join([head, *shown, *more])


@dataclass(frozen=True)
class ValidationResult:
    """The good rows as a typed dataset (None when `items` itself is unusable), the
    problems, and the rejected rows with their reasons (the quarantine)."""

    dataset: Dataset | None
    report: ValidationReport
    rejected: pl.DataFrame  # table, file, row, reasons, record (the raw row as JSON)


@dataclass
class _TableState:
    name: TableName
    file: Path
    raw: pl.DataFrame  # as read, with ROW
    typed: pl.DataFrame | None  # contract columns parsed; None when unusable as a whole
    problems: list[pl.DataFrame] = field(default_factory=list)
    malformed: pl.DataFrame | None = None  # CSV rows not split as the header says

    def rows_read(self) -> int:
        return self.raw.height + (self.malformed.height if self.malformed is not None else 0)

    def add_malformed(self, malformed: pl.DataFrame) -> None:
        self.malformed = malformed
        if malformed.height:
            self.problems.append(
                malformed.select(
                    pl.lit(str(self.name)).alias("table"),
                    pl.lit(self.file.name).alias("file"),
                    pl.col("row"),
                    pl.lit(None, dtype=pl.String).alias("column"),
                    pl.format("row {}", pl.col("reason")).alias("reason"),
                )
            )

    def add(self, bad: pl.Series | pl.Expr, column: str | None, reason: pl.Expr) -> None:
        """Record `reason` for every row where `bad` is true (evaluated on the typed frame
        with the raw values next to it, under `raw:<column>`)."""
        assert self.typed is not None
        frame = self.typed.with_columns(self.raw.select(pl.all().name.prefix("raw:")))
        # Reasons are computed before filtering, so window expressions see every row.
        found = (
            frame.select(
                pl.lit(str(self.name)).alias("table"),
                pl.lit(self.file.name).alias("file"),
                pl.col(ROW).cast(pl.Int64).alias("row"),
                pl.lit(column, dtype=pl.String).alias("column"),
                pl.when(bad).then(reason.cast(pl.String)).alias("reason"),
                pl.lit(bad).alias("__bad") if isinstance(bad, pl.Series) else bad.alias("__bad"),
            )
            .filter(pl.col("__bad"))
            .drop("__bad")
        )
        if found.height:
            self.problems.append(found)

    def whole_file(self, reason: str) -> None:
        self.problems.append(
            pl.DataFrame(
                {
                    "table": [str(self.name)],
                    "file": [self.file.name],
                    "row": [None],
                    "column": [None],
                    "reason": [reason],
                },
                schema=PROBLEM_SCHEMA,
            )
        )

    def bad_rows(self) -> pl.Series:
        if self.typed is None:
            return self.raw[ROW]
        rows = [p["row"] for p in self.problems if p["row"].null_count() < p.height]
        return pl.concat(rows).drop_nulls().unique() if rows else pl.Series(ROW, [], dtype=pl.Int64)

    def kept(self) -> pl.DataFrame | None:
        if self.typed is None:
            return None
        return self.typed.filter(~pl.col(ROW).cast(pl.Int64).is_in(self.bad_rows().implode()))


def _shown(column: str) -> pl.Expr:
    """The raw value as the file has it, cut short, for a message."""
    raw = pl.col(f"raw:{column}").cast(pl.String)
    return (
        pl.when(raw.str.len_chars() > _SHOWN_VALUE_CHARS)
        .then(raw.str.slice(0, _SHOWN_VALUE_CHARS) + "…")
        .otherwise(raw)
    )


def read_raw(path: Path) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """A table file as read, before parsing: CSV as text columns (row by row: its
    malformed rows come second), Parquet as stored."""
    if path.suffix == f".{FileFormat.CSV}":
        rows = read_csv_rows(path, row_column=ROW)
        return rows.frame, rows.malformed
    return pl.read_parquet(path).with_row_index(ROW, offset=1), None


def _parse(state: _TableState) -> None:
    """Parse the contract's columns; flag missing required columns and values, wrong types."""
    specs = SCHEMAS[state.name]
    missing = [c.name for c in specs if c.required and c.name not in state.raw.columns]
    if missing:
        state.whole_file(
            f"missing required column(s): {', '.join(missing)}; found: {', '.join(state.raw.columns[1:])}"
        )
        state.typed = None
        return
    parsed = []
    for spec in specs:
        if spec.name not in state.raw.columns:
            continue
        column = parse_column(state.raw[spec.name], spec.kind)
        if spec.kind is Kind.STRING:  # blank text is missing text
            column = column.str.strip_chars()
            column = pl.select(
                pl.when(pl.lit(column) == "").then(None).otherwise(pl.lit(column))
            ).to_series()
            column = column.alias(spec.name)
        parsed.append(column)
    state.typed = state.raw.with_columns(parsed)
    raw = pl.col  # raw values sit under "raw:<name>" in the frame `add` evaluates on
    for spec, column in zip([s for s in specs if s.name in state.raw.columns], parsed, strict=True):
        # Parsing only ever turns a value into null, so equal null counts mean no bad value;
        # the row-wise checks below run only where something is missing or failed to parse.
        if column.null_count() == 0:
            continue
        blank = raw(f"raw:{spec.name}").is_null() | (
            raw(f"raw:{spec.name}").cast(pl.String).str.strip_chars() == ""
        )
        if spec.kind is not Kind.STRING and column.null_count() > state.raw[spec.name].null_count():
            state.add(
                ~blank & pl.col(spec.name).is_null(),
                spec.name,
                pl.format(f"{spec.name} '{{}}' is not {_KIND_WORDS[spec.kind]}", _shown(spec.name)),
            )
        if spec.required:
            state.add(blank, spec.name, pl.lit(f"missing required value for {spec.name}"))


_KIND_WORDS = {
    Kind.FLOAT: "a number",
    Kind.INT: "an integer",
    Kind.TIMESTAMP: "a date-time (ISO 8601 or unix seconds)",
}


def _check_values(state: _TableState) -> None:
    """The rules on values, table by table."""
    assert state.typed is not None
    columns = set(state.typed.columns)

    def at_least_zero(name: str) -> None:
        if name in columns:
            state.add(pl.col(name) < 0, name, pl.format(f"negative {name} {{}}", pl.col(name)))

    def finite(name: str) -> None:
        if name in columns and state.typed is not None and state.typed.schema[name] == pl.Float64:
            state.add(
                ~pl.col(name).is_finite(),
                name,
                pl.format(f"{name} {{}} is not finite", pl.col(name)),
            )

    def one_of(name: str, allowed: tuple[str, ...]) -> None:
        if name not in columns:
            return
        assert state.typed is not None
        state.typed = state.typed.with_columns(pl.col(name).str.to_lowercase())
        state.add(
            pl.col(name).is_not_null() & ~pl.col(name).is_in(allowed),
            name,
            pl.format(
                f"unknown {name} '{{}}' (expected one of: {', '.join(allowed)})", _shown(name)
            ),
        )

    if state.name is TableName.ITEMS:
        for name in ("price", "cost"):
            finite(name)
            at_least_zero(name)
        at_least_zero("stock")
    elif state.name is TableName.JUDGMENTS:
        finite("grade")
        one_of("split", SPLITS)
    elif state.name is TableName.EVENTS:
        one_of("event", EVENT_TYPES)
        one_of("split", SPLITS)
        finite("value")
        for name in PROPENSITY_COLUMNS:
            if name in columns:
                state.add(
                    ~((pl.col(name) > 0) & (pl.col(name) <= 1)),
                    name,
                    pl.format(f"{name} {{}} is outside (0, 1]", pl.col(name)),
                )
        if "position" in columns:
            state.add(
                pl.col("position") < 1,
                "position",
                pl.format("position {} is below 1 (positions are 1-based)", pl.col("position")),
            )


def _check_duplicates(state: _TableState) -> None:
    keys = PRIMARY_KEY.get(state.name)
    if keys is None or state.typed is None:
        return
    first_row = pl.col(ROW).min().over(list(keys))
    shown = pl.concat_str([pl.col(k) for k in keys], separator="', '")
    state.add(
        pl.all_horizontal([pl.col(k).is_not_null() for k in keys]) & (pl.col(ROW) != first_row),
        ",".join(keys),
        pl.format(f"duplicate {', '.join(keys)} '{{}}' (first at row {{}})", shown, first_row),
    )


def _check_references(state: _TableState, states: dict[TableName, _TableState]) -> None:
    if state.typed is None:
        return
    for column, target_name, key in _REFERENCES.get(state.name, ()):
        target = states.get(target_name)
        if column not in state.typed.columns or target is None:
            continue
        kept = target.kept()
        kept_ids = (
            kept[key].implode() if kept is not None else pl.Series([], dtype=pl.String).implode()
        )
        all_ids = (
            target.raw[key].cast(pl.String).str.strip_chars().implode()
            if key in target.raw.columns
            else kept_ids
        )
        value = pl.col(column)
        dangling = value.is_not_null() & ~value.is_in(kept_ids)
        state.add(
            dangling,
            column,
            pl.when(value.is_in(all_ids))
            .then(
                pl.format(
                    f"{column} '{{}}' names a row of {target_name} that was rejected",
                    _shown(column),
                )
            )
            .otherwise(pl.format(f"{column} '{{}}' is not in {target_name}", _shown(column))),
        )


def _dataset(kept: dict[TableName, pl.DataFrame], name: str) -> Dataset | None:
    if TableName.ITEMS not in kept:
        return None
    tables = {
        n: f.drop(ROW).select(contract_order([c for c in f.columns if c != ROW], n))
        for n, f in kept.items()
    }
    return Dataset(
        items=Catalog(tables[TableName.ITEMS]),
        users=Users(tables[TableName.USERS]) if TableName.USERS in tables else None,
        queries=Queries(tables[TableName.QUERIES]) if TableName.QUERIES in tables else None,
        judgments=Judgments(tables[TableName.JUDGMENTS]) if TableName.JUDGMENTS in tables else None,
        events=Events(tables[TableName.EVENTS]) if TableName.EVENTS in tables else None,
        name=name,
    )


def _rejected_rows(states: dict[TableName, _TableState], problems: pl.DataFrame) -> pl.DataFrame:
    """The bad rows as read, one line each with all their reasons joined."""
    parts = []
    for state in states.values():
        mine = problems.filter(pl.col("table") == str(state.name))
        if mine.is_empty():
            continue
        whole = mine.filter(pl.col("row").is_null())
        if whole.height:
            reasons = pl.DataFrame(
                {
                    ROW: state.raw[ROW].cast(pl.Int64),
                    "reasons": ["; ".join(whole["reason"])] * state.raw.height,
                },
                schema={ROW: pl.Int64, "reasons": pl.String},  # typed even with no rows
            )
        else:
            reasons = (
                mine.group_by("row", maintain_order=True)
                .agg(pl.col("reason").str.join("; ").alias("reasons"))
                .rename({"row": ROW})
            )
        records = state.raw.with_columns(pl.col(ROW).cast(pl.Int64)).join(
            reasons, on=ROW, how="inner"
        )
        raw_columns = [c for c in state.raw.columns if c != ROW]
        # a table read with no named column (a header of blanks) has an empty record
        record = (
            pl.struct([pl.col(c).cast(pl.String) for c in raw_columns]).struct.json_encode()
            if raw_columns
            else pl.lit("{}")
        )
        table = [
            records.select(
                pl.lit(str(state.name)).alias("table"),
                pl.lit(state.file.name).alias("file"),
                pl.col(ROW).alias("row"),
                pl.col("reasons").cast(pl.String),
                record.alias("record"),
            )
        ]
        if state.malformed is not None and state.malformed.height:
            # not split as the header says: the fields as read, in a JSON list
            also = "".join(f"; {reason}" for reason in whole["reason"])
            table.append(
                state.malformed.select(
                    pl.lit(str(state.name)).alias("table"),
                    pl.lit(state.file.name).alias("file"),
                    pl.col("row"),
                    (pl.format("row {}", pl.col("reason")) + pl.lit(also)).alias("reasons"),
                    pl.col("record"),
                )
            )
        parts.append(pl.concat(table).sort("row"))
    schema = {
        "table": pl.String,
        "file": pl.String,
        "row": pl.Int64,
        "reasons": pl.String,
        "record": pl.String,
    }
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)


def validate_dataset(folder: Path) -> ValidationResult:
    """Read and check every table in `folder`; never raises for bad data, only reports it."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such dataset folder")
    states: dict[TableName, _TableState] = {}
    file_problems: list[pl.DataFrame] = []
    unread_rows: dict[TableName, int] = {}  # tables that could not be split into rows
    for name in TableName:
        path = table_file(folder, name)
        if path is None:
            continue
        try:
            raw, malformed = read_raw(path)
        except (pl.exceptions.PolarsError, OSError, ValueError) as error:
            reason = (
                str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            )
            state = _TableState(name, path, pl.DataFrame({ROW: []}, schema={ROW: pl.UInt32}), None)
            lines = error.rows if isinstance(error, TableUnreadableError) else None
            unread = f" ({lines:,} data line(s) not read)" if lines else ""
            state.whole_file(f"cannot be read: {reason}{unread}")
            file_problems.extend(state.problems)
            if lines is not None:
                unread_rows[name] = lines
            continue
        states[name] = state = _TableState(name, path, raw, None)
        if malformed is not None:
            state.add_malformed(malformed)
        _parse(state)
        if state.typed is not None:
            _check_values(state)
            _check_duplicates(state)
    if TableName.ITEMS not in states and not any(
        (p["table"] == str(TableName.ITEMS)).any() for p in file_problems
    ):
        file_problems.append(
            pl.DataFrame(
                {
                    "table": ["items"],
                    "file": ["items.csv|items.parquet"],
                    "row": [None],
                    "column": [None],
                    "reason": ["the items table is required and was not found"],
                },
                schema=PROBLEM_SCHEMA,
            )
        )
    for state in states.values():  # after every table's own checks, so rejected targets are known
        _check_references(state, states)

    all_problems = [p for s in states.values() for p in s.problems] + file_problems
    order = {str(n): i for i, n in enumerate(TableName)}
    problems = (
        pl.concat(all_problems)
        .with_columns(pl.col("table").replace_strict(order, return_dtype=pl.Int64).alias("__order"))
        .sort("__order", "row", nulls_last=False)
        .drop("__order")
        if all_problems
        else pl.DataFrame(schema=PROBLEM_SCHEMA)
    )
    kept = {n: k for n, s in states.items() if (k := s.kept()) is not None}
    report = ValidationReport(
        folder=folder,
        problems=problems,
        rows_read={n: s.rows_read() for n, s in states.items()} | unread_rows,
        rows_kept={n: f.height for n, f in kept.items()} | dict.fromkeys(unread_rows, 0),
    )
    return ValidationResult(_dataset(kept, folder.name), report, _rejected_rows(states, problems))


def load_dataset(folder: Path) -> Dataset:
    """The dataset in `folder`, typed; raises `DataValidationError` listing every problem."""
    result = validate_dataset(folder)
    if not result.report.ok or result.dataset is None:
        raise DataValidationError(result.report)
    return result.dataset


def write_quarantine(result: ValidationResult, path: Path) -> int:
    """Write the rejected rows with their reasons to `path` (CSV or Parquet); returns how many."""
    write_table(result.rejected, Path(path))
    return result.rejected.height
