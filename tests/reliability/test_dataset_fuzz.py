"""Fuzzed dataset folders through `paretorec data validate --quarantine`: a clear message,
never a traceback, and every row accounted for (read = kept + rejected, or the table
named as unreadable with its line count)."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.data.validate import validate_dataset
from paretorec.types import TableName

HEADER = ["item_id", "title", "price", "stock", "created_at"]
VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", "1e400", "-1", "9" * 30, "3.5", "NaN", "inf", "2024-13-40", "x" * 5000]
    ),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)
ROWS = st.lists(st.lists(VALUES, min_size=3, max_size=7), min_size=0, max_size=12)


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """An items CSV: maybe a BOM, maybe a duplicate column, ragged rows, odd values, and
    then maybe a few raw bytes (bad UTF-8, a stray quote) spliced in."""
    header = list(HEADER)
    if draw(st.booleans()):
        header.append(draw(st.sampled_from(["title", "price", "extra"])))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
    writer.writerow(header)
    for row in draw(ROWS):
        writer.writerow(row)
    data = buffer.getvalue().encode("utf-8", errors="surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if data and draw(st.booleans()):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        data = (
            data[:at] + draw(st.sampled_from([b"\xff", b'"', b"\xc3", b"\r", b"\x00"])) + data[at:]
        )
    return data


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=csv_bytes())
def test_every_row_is_kept_rejected_or_the_table_named_unreadable(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        (folder / "items.csv").write_bytes(data)
        result = validate_dataset(folder)  # never raises for bad data
        report = result.report
        read = report.rows_read.get(TableName.ITEMS, 0)
        kept = report.rows_kept.get(TableName.ITEMS, 0)
        rejected = result.rejected.filter(pl.col("table") == "items")
        unreadable = report.problems.filter(
            pl.col("row").is_null() & pl.col("reason").str.starts_with("cannot be read")
        )
        if unreadable.height:
            assert kept == 0
        elif report.problems.filter(pl.col("row").is_null()).height == 0:
            assert read == kept + rejected.height
            assert rejected["reasons"].null_count() == 0
            assert rejected["row"].n_unique() == rejected.height
        if result.dataset is not None:
            assert result.dataset.items.frame.height == kept


def test_the_cli_never_shows_a_traceback(tmp_path: Path) -> None:
    cases = {
        "bom-and-crlf": b"\xef\xbb\xbfitem_id,title\r\n1,a\r\n2,b\r\n",
        "duplicate-column": b"item_id,title,title\n1,a,b\n",
        "ragged": b"item_id,title,price\n1,a\n2,b,3,4\n3,c,5\n",
        "bad-utf8": b"item_id,title\n1,\xff\n2,b\n",
        "unclosed-quote": b'item_id,title\n1,"a\n2,b\n',
        "overflow": b"item_id,title,stock,price\n1,a,99999999999999999999999,1e400\n2,b,3,4\n",
        "huge-field": b"item_id,title\n1," + b"y" * 300_000 + b"\n",
        "empty": b"",
    }
    runner = CliRunner()
    expected_read = {"bom-and-crlf": 2, "duplicate-column": 1, "ragged": 3, "bad-utf8": 2,
                     "unclosed-quote": 2, "overflow": 2, "huge-field": 1}  # fmt: skip
    for name, data in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "items.csv").write_bytes(data)
        quarantine = tmp_path / f"{name}-quarantine.csv"
        result = runner.invoke(
            app, ["data", "validate", str(folder), "--quarantine", str(quarantine)]
        )
        assert "Traceback" not in result.output, (name, result.output)
        assert not isinstance(result.exception, Exception), (name, result.exception)
        assert result.exit_code in (0, 1), (name, result.output)
        report = validate_dataset(folder).report
        if name in expected_read:
            assert report.rows_read[TableName.ITEMS] == expected_read[name], name
    ragged = validate_dataset(tmp_path / "ragged")
    assert ragged.report.lines() == [
        "items.csv row 1: row has 2 field(s), the header has 3",
        "items.csv row 2: row has 4 field(s), the header has 3",
    ]
    assert ragged.dataset is not None and ragged.dataset.items.frame["item_id"].to_list() == ["3"]
    overflow = validate_dataset(tmp_path / "overflow")
    assert overflow.report.rows_kept[TableName.ITEMS] == 1
    assert any("stock" in line for line in overflow.report.lines())
