from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from paretorec.data.io import FileFormat, write_dataset
from paretorec.data.validate import (
    DataValidationError,
    load_dataset,
    validate_dataset,
    write_quarantine,
)
from paretorec.types import TableName

Folder = Callable[[dict[str, str]], Path]

ITEMS = "item_id,title,price,category,created_at\na,Drill,10.5,Tools>Power,2020-01-01\nb,Saw,3,Tools,1574553634\n"


def reasons(folder: Path) -> list[str]:
    return validate_dataset(folder).report.lines()


def test_clean_dataset_loads_typed(write_folder: Folder) -> None:
    folder = write_folder(
        {
            "items.csv": ITEMS,
            "events.csv": "user_id,item_id,event,position,propensity,value,timestamp\n"
            "u1,a,impression,1,0.5,,2020-01-01T10:00:00\nu1,a,Click,1,0.5,,2020-01-01T10:00:01\n"
            "u1,b,purchase,2,1,3.0,2020-01-01T10:05:00\n",
        }
    )
    dataset = load_dataset(folder)
    items = dataset.items.frame
    assert items.schema["price"] == pl.Float64
    assert items.schema["created_at"] == pl.Datetime("us", "UTC")
    assert items["created_at"][1].timestamp() == 1574553634
    events = dataset.events
    assert events is not None
    assert events.frame["event"].to_list() == ["impression", "click", "purchase"]  # normalized case
    assert events.frame.schema["position"] == pl.Int64
    assert events.frame["value"].to_list() == [None, None, 3.0]


def test_every_problem_is_reported_with_file_row_and_reason(write_folder: Folder) -> None:
    folder = write_folder(
        {
            "items.csv": "item_id,title,price,created_at\na,Drill,10.5,2020-01-01\nb,Saw,-3,\nb,Saw again,3,\nc,,abc,notadate\n",
            "events.csv": "user_id,item_id,event,position,propensity,timestamp\n"
            "u1,a,impression,1,0.5,2020-01-01\nu1,zz,click,0,1.5,\nu2,b,hover,2.5,0,x\n",
        }
    )
    assert reasons(folder) == [
        "items.csv row 2: negative price -3.0",
        "items.csv row 3: duplicate item_id 'b' (first at row 2)",
        "items.csv row 4: missing required value for title",
        "items.csv row 4: price 'abc' is not a number",
        "items.csv row 4: created_at 'notadate' is not a date-time (ISO 8601 or unix seconds)",
        "events.csv row 2: propensity 1.5 is outside (0, 1]",
        "events.csv row 2: position 0 is below 1 (positions are 1-based)",
        "events.csv row 2: item_id 'zz' is not in items",
        "events.csv row 3: timestamp 'x' is not a date-time (ISO 8601 or unix seconds)",
        "events.csv row 3: position '2.5' is not an integer",
        "events.csv row 3: unknown event 'hover' (expected one of: impression, click, cart, purchase)",
        "events.csv row 3: propensity 0.0 is outside (0, 1]",
        "events.csv row 3: item_id 'b' names a row of items that was rejected",
    ]


def test_good_rows_are_kept_and_bad_rows_quarantined(write_folder: Folder, tmp_path: Path) -> None:
    folder = write_folder(
        {
            "items.csv": ITEMS + "c,Hammer,-1,Tools,\n",
            "events.csv": "user_id,item_id,event\nu1,a,click\nu1,c,click\nu2,nope,cart\n",
        }
    )
    result = validate_dataset(folder)
    assert result.dataset is not None
    assert result.dataset.items.frame["item_id"].to_list() == ["a", "b"]
    assert result.dataset.events is not None
    assert result.dataset.events.frame["item_id"].to_list() == ["a"]
    assert result.report.rows_read == {TableName.ITEMS: 3, TableName.EVENTS: 3}
    assert result.report.rows_kept == {TableName.ITEMS: 2, TableName.EVENTS: 1}
    out = tmp_path / "quarantine.csv"
    assert write_quarantine(result, out) == 3
    rejected = pl.read_csv(out)
    assert rejected["table"].to_list() == ["items", "events", "events"]
    assert rejected["row"].to_list() == [3, 2, 3]
    assert rejected["reasons"][0] == "negative price -1.0"
    assert '"item_id":"nope"' in rejected["record"][2]
    # Nothing lost: kept + rejected = read, per table.
    for name, read in result.report.rows_read.items():
        assert (
            result.report.rows_kept[name] + rejected.filter(pl.col("table") == str(name)).height
            == read
        )


def test_missing_required_column_rejects_the_whole_file(write_folder: Folder) -> None:
    folder = write_folder({"items.csv": ITEMS, "judgments.csv": "query_id,item_id\nq1,a\n"})
    result = validate_dataset(folder)
    assert result.report.lines() == [
        "judgments.csv: missing required column(s): grade; found: query_id, item_id"
    ]
    assert result.dataset is not None and result.dataset.judgments is None
    assert result.rejected["reasons"].to_list() == [
        "missing required column(s): grade; found: query_id, item_id"
    ]


def test_items_table_is_required(write_folder: Folder) -> None:
    folder = write_folder({"events.csv": "user_id,item_id,event\nu,a,click\n"})
    result = validate_dataset(folder)
    assert result.dataset is None
    assert "the items table is required and was not found" in result.report.lines()[-1]
    with pytest.raises(DataValidationError, match="items table is required"):
        load_dataset(folder)


def test_references_to_queries_and_users_are_checked_when_those_tables_exist(
    write_folder: Folder,
) -> None:
    folder = write_folder(
        {
            "items.csv": ITEMS,
            "queries.csv": "query_id,text\nq1,drill\nq1,drill again\n",
            "users.csv": "user_id,age\nu1,30\n",
            "judgments.csv": "query_id,item_id,grade,split\nq1,a,3,train\nq2,a,1,test\nq1,a,2,TRAIN\nq1,b,x,holdout\n",
            "events.csv": "user_id,item_id,event,query_id\nu1,a,click,q1\nu9,a,click,q1\n",
        }
    )
    assert reasons(folder) == [
        "queries.csv row 2: duplicate query_id 'q1' (first at row 1)",
        "judgments.csv row 2: query_id 'q2' is not in queries",
        "judgments.csv row 3: duplicate query_id, item_id 'q1', 'a' (first at row 1)",
        "judgments.csv row 4: grade 'x' is not a number",
        "judgments.csv row 4: unknown split 'holdout' (expected one of: train, valid, test)",
        "events.csv row 2: user_id 'u9' is not in users",
    ]


def test_unreadable_file_is_a_problem_not_a_crash(write_folder: Folder, tmp_path: Path) -> None:
    folder = write_folder({"items.csv": ITEMS})
    (folder / "events.csv").write_bytes(b"user_id,item_id,event\nu1,\xff\xfe,click\n")
    assert reasons(folder) == ["events.csv row 1: row is not UTF-8 text"]  # that row only
    (folder / "events.csv").write_bytes(b'user_id,item_id,event\nu1,"i1,click\nu2,i2,click\n')
    lines = reasons(folder)
    assert len(lines) == 1 and lines[0].startswith("events.csv: cannot be read: line 3")


def test_two_formats_of_one_table_is_an_error(write_folder: Folder) -> None:
    folder = write_folder({"items.csv": ITEMS})
    pl.read_csv(folder / "items.csv").write_parquet(folder / "items.parquet")
    with pytest.raises(ValueError, match=r"both items\.csv and items\.parquet"):
        validate_dataset(folder)


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such dataset folder"):
        validate_dataset(tmp_path / "nope")


@pytest.mark.parametrize("fmt", list(FileFormat))
def test_round_trip_through_both_formats(
    write_folder: Folder, tmp_path: Path, fmt: FileFormat
) -> None:
    folder = write_folder(
        {
            "items.csv": ITEMS,
            "events.csv": "user_id,item_id,event,timestamp,position,propensity\nu1,a,click,2020-01-01,1,0.25\n",
        }
    )
    dataset = load_dataset(folder)
    out = tmp_path / f"out-{fmt}"
    write_dataset(dataset, out, fmt)
    again = load_dataset(out)
    for name, frame in dataset.tables().items():
        assert again.tables()[name].equals(frame), name


def test_parquet_with_wrong_types_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    pl.DataFrame({"item_id": [1, 2], "title": ["a", "b"], "price": ["1.5", "cheap"]}).write_parquet(
        folder / "items.parquet"
    )
    result = validate_dataset(folder)
    assert result.report.lines() == ["items.parquet row 2: price 'cheap' is not a number"]
    assert result.dataset is not None
    assert result.dataset.items.frame["item_id"].to_list() == ["1"]  # ids are text in the contract
