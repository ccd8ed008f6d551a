"""The built-in real datasets: names, dispatch, and facts checked by hand in the real files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from paretorec.data.datasets import (
    BuiltinDataset,
    load_amazon_games,
    load_builtin,
    load_homedepot,
    load_icecat,
    load_taobao,
    load_tmall,
)
from paretorec.data.io import FileFormat, write_dataset
from paretorec.data.schema import POLARS_TYPE, SCHEMAS
from paretorec.data.validate import validate_dataset
from paretorec.types import Dataset, EventType


def assert_conformed(dataset: Dataset) -> None:
    """Every contract column present in a table has the contract's type."""
    for table, frame in dataset.tables().items():
        for column in SCHEMAS[table]:
            if column.name in frame.columns:
                assert frame.schema[column.name] == POLARS_TYPE[column.kind], (table, column)


def test_builtin_names_are_the_ones_users_type() -> None:
    assert {d.value for d in BuiltinDataset} == {
        "obd-random-all",
        "obd-random-men",
        "obd-random-women",
        "obd-bts-all",
        "obd-bts-men",
        "obd-bts-women",
        "homedepot",
        "amazon-games",
        "taobao",
        "tmall",
        "icecat",
    }


@pytest.fixture(scope="module")
def homedepot(shared_data: Path) -> Dataset:
    return load_homedepot(shared_data / "homedepot")


@pytest.fixture(scope="module")
def games(shared_data: Path) -> Dataset:
    return load_amazon_games(shared_data / "amazon_games")


@pytest.fixture(scope="module")
def taobao(shared_data: Path) -> Dataset:
    return load_taobao(shared_data / "taobao")


@pytest.fixture(scope="module")
def tmall(shared_data: Path) -> Dataset:
    return load_tmall(shared_data / "taobao")


@pytest.fixture(scope="module")
def icecat(shared_data: Path) -> Dataset:
    return load_icecat(shared_data / "icecat")


def test_homedepot_counts_and_rows(homedepot: Dataset) -> None:
    assert homedepot.name == "homedepot"
    assert homedepot.queries is not None and homedepot.judgments is not None
    assert (len(homedepot.items), len(homedepot.queries), len(homedepot.judgments)) == (
        54_667,
        8_226,
        51_529,
    )
    assert_conformed(homedepot)
    items = homedepot.items.frame
    assert items.row(1) == (
        "100002",
        "BEHR Premium Textured DeckOver 1-gal. #SC-141 Tugboat Wood and Concrete Coating",
    )
    queries = homedepot.queries.frame
    assert queries.head(3).rows() == [
        ("q00001", "l bracket"),
        ("q00002", "deck over"),
        ("q00003", "rain shower head"),
    ]
    assert queries["query_id"].is_unique().all() and queries["text"].is_unique().all()
    judgments = homedepot.judgments.frame
    assert judgments.row(0) == ("q00001", "100001", 2.5, "3")
    assert judgments.row(2) == ("q00003", "100005", 2.33, "16")
    assert judgments["grade"].min() == 1.0 and judgments["grade"].max() == 3.0
    assert judgments["item_id"].is_in(items["item_id"].implode()).all()
    titles = dict(items.iter_rows())  # published as "Contractor&#39;s Choice ..."
    assert titles["106223"] == "Contractor's Choice Black 8 Port Push-In Wire Connector (40-Pack)"
    assert not items["title"].str.contains(r"&(#\d+|amp|quot);|\s\s").any()


def test_homedepot_query_ids_are_deterministic(shared_data: Path, homedepot: Dataset) -> None:
    again = load_homedepot(shared_data / "homedepot")
    assert again.queries is not None and homedepot.queries is not None
    assert again.queries.frame.equals(homedepot.queries.frame)


def test_amazon_games_counts_order_and_titles(games: Dataset) -> None:
    assert games.events is not None
    events = games.events.frame
    assert (len(games.items), len(events), events["user_id"].n_unique()) == (
        16_859,
        440_264,
        50_546,
    )
    assert_conformed(games)
    assert events["event"].unique().to_list() == [EventType.PURCHASE.value]
    # user 0: "0 1 2 ... 13" then last item 14, oldest first.
    user0 = events.filter(pl.col("user_id") == "0")
    assert user0["item_id"].to_list() == [str(i) for i in range(15)]
    assert user0["sequence_number"].to_list() == list(range(1, 16))
    assert events.head(15).equals(user0)  # written user by user
    titles = dict(games.items.frame.iter_rows())
    assert titles["0"] == "Fire Emblem: The Sacred Stones"
    assert titles["11"] == "Phantasy Star Online, Episode I & II"  # published as "&amp;"
    assert not games.items.frame["title"].str.contains("&amp;", literal=True).any()


def test_taobao_counts_mapping_and_times(taobao: Dataset) -> None:
    assert taobao.events is not None
    events = taobao.events.frame
    assert (len(taobao.items), len(events), events["user_id"].n_unique()) == (7_623, 10_000, 114)
    assert_conformed(taobao)
    counts = dict(events.group_by("behavior", "event").len().select("behavior", "len").iter_rows())
    assert counts == {"pv": 9_046, "cart": 536, "fav": 212, "buy": 206}
    assert events.filter(pl.col("behavior") == "fav")["event"].unique().to_list() == ["cart"]
    # first line: 999477,2200475,3607361,pv,1511848894
    assert events.row(0) == (
        "999477",
        "2200475",
        "click",
        datetime(2017, 11, 28, 6, 1, 34, tzinfo=UTC),
        "pv",
    )
    assert taobao.items.frame.row(0) == (
        "2200475",
        "Taobao item 2200475 (category 3607361)",
        "3607361",
    )


def test_tmall_counts_mapping_and_china_time(tmall: Dataset) -> None:
    assert tmall.events is not None
    events = tmall.events.frame
    # 1,999 data rows (the README's "1,998" miscounts by one); 104 exact repeats are kept.
    assert (len(tmall.items), len(events), events["user_id"].n_unique()) == (1_689, 1_999, 34)
    assert len(events) - events.unique().height == 104
    assert_conformed(tmall)
    counts = dict(events.group_by("behavior").len().iter_rows())
    assert counts == {"browse": 1_876, "collect": 18, "cart": 70, "buy": 35}
    # first line: 98047837,232431562,1,,4245,2014-12-06 02 (China time, UTC+8)
    assert events.row(0) == (
        "98047837",
        "232431562",
        "click",
        datetime(2014, 12, 5, 18, tzinfo=UTC),
        "browse",
        None,
    )
    assert events["user_geohash"].null_count() == 1_414


def test_icecat_counts_and_first_product(icecat: Dataset) -> None:
    items = icecat.items.frame
    assert len(items) == 19_406
    assert items["item_id"].is_unique().all()
    assert_conformed(icecat)
    first = items.row(0, named=True)
    assert first["item_id"] == "3920564"
    assert first["title"] == "Xerox 006R90321 toner cartridge Original Black 6 pc(s)"
    assert first["description"] == "Toner (6 Per Box) for CopyCentre C65 Digital Copier"
    assert first["brand"] == "Xerox"
    assert first["price"] == 49.95  # 4995 cents
    assert first["created_at"] == datetime(2009, 12, 10, tzinfo=UTC)
    assert first["product_code"] == "006R90321"
    assert json.loads(first["attributes"]) == {
        "attr_t_type": "Original",
        "attr_t_printing_colours": "Black",
        "attr_t_print_technology": "Laser printing",
        "attr_t_compatibility": "CopyCentre C65",
        "attr_n_quantity_per_pack": 6.0,
        "attr_n_black_toner_page_yield": 23000.0,
    }
    assert items["description"].null_count() == 721
    assert items["price"].min() == 0.95 and items["price"].null_count() == 0


def test_load_builtin_dispatches_to_the_converter(shared_data: Path, tmall: Dataset) -> None:
    loaded = load_builtin(BuiltinDataset.TMALL, source=shared_data / "taobao")
    assert loaded.name == "tmall"
    assert loaded.events is not None and tmall.events is not None
    assert loaded.events.frame.equals(tmall.events.frame)


@pytest.mark.parametrize("name", ["homedepot", "amazon_games", "taobao", "tmall", "icecat"])
def test_converted_dataset_passes_validation(
    name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    dataset: Dataset = request.getfixturevalue("games" if name == "amazon_games" else name)
    write_dataset(dataset, tmp_path, FileFormat.PARQUET)
    result = validate_dataset(tmp_path)
    assert result.report.ok, result.report.summary()
