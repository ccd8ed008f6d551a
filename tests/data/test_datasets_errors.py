"""Bad inputs to the built-in converters: a missing or broken file is a clear error that
names the file, the row and the reason; nothing is dropped silently."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from paretorec.data.datasets import (
    BuiltinDataset,
    DatasetFormatError,
    DatasetUnavailableError,
    load_amazon_games,
    load_builtin,
    load_homedepot,
    load_icecat,
    load_taobao,
    load_tmall,
)

Folder = Callable[[dict[str, str]], Path]

PRODUCTS = "product_uid,product_title\n100001,Angle bracket\n100002,Deck coating\n"
JUDGMENTS_HEADER = "id,product_uid,search_term,relevance\n"
GAMES_ITEMS = "item_id:token\ttitle:token_seq\n0\tZelda &amp; Link\n1\tMario\n2\tTetris\n"
GAMES_HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
TMALL_HEADER = "user_id,item_id,behavior_type,user_geohash,item_category,time\n"


def raises_format(*fragments: str) -> pytest.RaisesExc[DatasetFormatError]:
    """Expect a DatasetFormatError whose message holds every fragment, in order."""
    return pytest.raises(DatasetFormatError, match=".*".join(re.escape(f) for f in fragments))


# --- missing files -----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", [d for d in BuiltinDataset if not d.value.startswith("obd-")], ids=str
)
def test_missing_shared_files_say_where_to_put_them(name: BuiltinDataset, tmp_path: Path) -> None:
    with pytest.raises(DatasetUnavailableError, match=re.escape(str(tmp_path / "nowhere"))):
        load_builtin(name, source=tmp_path / "nowhere")


def test_missing_judgments_file_is_named(write_folder: Folder) -> None:
    folder = write_folder({"products.csv": PRODUCTS})
    with pytest.raises(DatasetUnavailableError, match=re.escape("judgments_dev.csv not found")):
        load_homedepot(folder)


# --- Home Depot --------------------------------------------------------------------


def test_homedepot_small_folder_converts(write_folder: Folder) -> None:
    folder = write_folder(
        {
            "products.csv": PRODUCTS,
            "judgments_dev.csv": JUDGMENTS_HEADER
            + "1,100002,deck,3\n2,100001,bracket,1.5\n3,100001,deck,2\n",
        }
    )
    dataset = load_homedepot(folder)
    assert dataset.queries is not None and dataset.judgments is not None
    assert dataset.queries.frame.rows() == [("q00001", "deck"), ("q00002", "bracket")]
    assert dataset.judgments.frame.rows() == [
        ("q00001", "100002", 3.0, "1"),
        ("q00002", "100001", 1.5, "2"),
        ("q00001", "100001", 2.0, "3"),
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("1,100001,a,2\n2,999999,b,2\n", ("row 2", "product_uid is not in products.csv", "999999")),
        (
            "1,100001,a,2\n2,100002,a,2\n3,100001,a,3\n",
            ("row 3", "duplicate judgment", "first at row 1"),
        ),
        ("1,100001,a,2\n2,100002,b,high\n", ("row 2", "relevance is not a number", "high")),
        ("1,100001,a,2\n2,100002,b,4\n", ("row 2", "relevance is outside 1.0–3.0")),
        ("1,100001,a,2\n2,100002,,2\n", ("row 2", "search_term is empty")),
        ("1,100001,a,2\n2,100002,b,2,extra\n", ("line 3", "expected 4 fields, found 5")),
    ],
    ids=["unknown product", "duplicate pair", "bad grade", "grade out of range", "empty", "ragged"],
)
def test_homedepot_bad_judgment_rows(
    write_folder: Folder, rows: str, expected: tuple[str, ...]
) -> None:
    folder = write_folder({"products.csv": PRODUCTS, "judgments_dev.csv": JUDGMENTS_HEADER + rows})
    with raises_format("judgments_dev.csv", *expected):
        load_homedepot(folder)


def test_homedepot_wrong_header_and_duplicate_product(write_folder: Folder) -> None:
    folder = write_folder(
        {"products.csv": "uid,title\n1,a\n", "judgments_dev.csv": JUDGMENTS_HEADER}
    )
    with raises_format("products.csv", "header", "expected 'product_uid,product_title'"):
        load_homedepot(folder)
    folder = write_folder({"products.csv": PRODUCTS + "100001,Again\n"})
    with raises_format("products.csv", "row 3", "duplicate product_uid", "first at row 1"):
        load_homedepot(folder)


def test_homedepot_empty_and_non_utf8_files(write_folder: Folder) -> None:
    folder = write_folder({"products.csv": "", "judgments_dev.csv": JUDGMENTS_HEADER})
    with raises_format("products.csv", "the file is empty"):
        load_homedepot(folder)
    (folder / "products.csv").write_bytes(b"product_uid,product_title\n1,ok\n2,caf\xe9\n")
    with raises_format("products.csv", "line 3", "not valid UTF-8"):
        load_homedepot(folder)


# --- Amazon Video Games ------------------------------------------------------------


def test_amazon_games_small_folder_converts(write_folder: Folder) -> None:
    folder = write_folder(
        {"Games.item": GAMES_ITEMS, "Games.test.inter": GAMES_HEADER + "7\t2 0\t1\n3\t\t2\n"}
    )
    dataset = load_amazon_games(folder)
    assert dataset.events is not None
    assert dataset.events.frame.select("user_id", "item_id", "sequence_number").rows() == [
        ("7", "2", 1),
        ("7", "0", 2),
        ("7", "1", 3),
        ("3", "2", 1),
    ]
    assert dataset.items.frame["title"].to_list() == ["Zelda & Link", "Mario", "Tetris"]


@pytest.mark.parametrize(
    ("inter", "expected"),
    [
        ("7\t0 1\t2\n8\t0 9\t1\n", ("row 2", "user 8 has an item missing from Games.item", "'9'")),
        ("7\t0  1\t2\n", ("row 1", "an empty item id")),
        ("7\t0\t1\n7\t1\t2\n", ("row 2", "duplicate user_id", "first at row 1")),
        ("7\t0\t\n", ("row 1", "item_id:token is empty")),
    ],
    ids=["unknown item", "empty token", "user twice", "no last item"],
)
def test_amazon_games_bad_interactions(
    write_folder: Folder, inter: str, expected: tuple[str, ...]
) -> None:
    folder = write_folder({"Games.item": GAMES_ITEMS, "Games.test.inter": GAMES_HEADER + inter})
    with raises_format("Games.test.inter", *expected):
        load_amazon_games(folder)


def test_amazon_games_header_must_be_the_atomic_format(write_folder: Folder) -> None:
    folder = write_folder(
        {"Games.item": "item_id\ttitle\n0\tMario\n", "Games.test.inter": GAMES_HEADER}
    )
    with raises_format("Games.item", "header", "item_id:token"):
        load_amazon_games(folder)


# --- Taobao and Tmall --------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("1,10,100,pv,1511848894\n1,11,100,like,1511848895\n", ("row 2", "behavior", "'like'")),
        ("1,10,100,pv,yesterday\n", ("row 1", "timestamp is not unix seconds", "yesterday")),
        (
            "1,10,100,pv,1511848894\n2,10,200,buy,1511848899\n",
            ("row 1", "item_id appears under more than one category", "'10'"),
        ),
        ("1,10,100,pv\n", ("line 1", "expected 5 fields, found 4")),
        ("1,10,100,pv,1511848894\n1,10,100,pv\n", ("row 2", "timestamp is empty")),
    ],
    ids=["unknown behaviour", "bad time", "two categories", "short first row", "short row"],
)
def test_taobao_bad_rows(write_folder: Folder, rows: str, expected: tuple[str, ...]) -> None:
    folder = write_folder({"UserBehavior_10k.csv": rows})
    with raises_format("UserBehavior_10k.csv", *expected):
        load_taobao(folder)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("1,10,1,,5,2014-12-06 02\n1,10,5,,5,2014-12-06 02\n", ("row 2", "behavior_type", "'5'")),
        ("1,10,1,,5,2014-12-06\n", ("row 1", "time is not a 'YYYY-MM-DD HH' hour", "2014-12-06")),
        ("1,10,1,,,2014-12-06 02\n", ("row 1", "item_category is empty")),
    ],
    ids=["unknown behaviour", "bad hour", "no category"],
)
def test_tmall_bad_rows(write_folder: Folder, rows: str, expected: tuple[str, ...]) -> None:
    folder = write_folder({"tmall_mobile_sample.csv": TMALL_HEADER + rows})
    with raises_format("tmall_mobile_sample.csv", *expected):
        load_tmall(folder)


# --- Icecat ------------------------------------------------------------------------


def write_icecat(folder: Path, name: str, products: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / name, "w") as archive:
        archive.writestr(name.removesuffix(".zip"), json.dumps(products))


def product(item_id: str, **fields: object) -> dict[str, object]:
    return {"id": item_id, "title": f"Product {item_id}", "supplier": "Acme", **fields}


def test_icecat_small_folder_converts(tmp_path: Path) -> None:
    write_icecat(tmp_path, "10.json.zip", [product("3", price=5)])
    write_icecat(
        tmp_path,
        "2.json.zip",
        [product("1", price=1999, ean=["1", "2"], attr_b_wifi=True), product("2")],
    )
    items = load_icecat(tmp_path).items.frame
    assert items["item_id"].to_list() == ["1", "2", "3"]  # 2.json.zip before 10.json.zip
    assert items["price"].to_list() == [19.99, None, 0.05]  # no price stays null
    assert items["ean"].to_list() == ["1 2", None, None]
    assert items["attributes"].to_list() == ['{"attr_b_wifi": true}', "{}", "{}"]


@pytest.mark.parametrize(
    ("products", "expected"),
    [
        ([product("1"), product("2", price=-5)], ("record 1 (id '2')", "price is negative")),
        ([product("1", price="ten")], ("record 0", "price is not a whole number of cents")),
        ([product("1", date_released="2020-13-01")], ("record 0", "date_released is not")),
        ([{"id": "1", "title": ""}], ("record 0", "title is missing or empty")),
        ([product("1"), "oops"], ("record 1", "not a JSON object")),
        ({"id": "1"}, ("1.json", "expected a JSON array")),
    ],
    ids=["negative price", "text price", "bad date", "no title", "not an object", "not an array"],
)
def test_icecat_bad_records(tmp_path: Path, products: object, expected: tuple[str, ...]) -> None:
    write_icecat(tmp_path, "1.json.zip", products)
    with raises_format("1.json.zip", *expected):
        load_icecat(tmp_path)


def test_icecat_duplicate_id_across_files_and_broken_zip(tmp_path: Path) -> None:
    write_icecat(tmp_path, "1.json.zip", [product("7")])
    write_icecat(tmp_path, "2.json.zip", [product("8"), product("7")])
    with raises_format("2.json.zip", "record 1", "product id '7' repeats 1.json.zip record 0"):
        load_icecat(tmp_path)
    (tmp_path / "2.json.zip").write_bytes(b"this is not a zip")
    with raises_format("2.json.zip", "not a readable zip file"):
        load_icecat(tmp_path)
