"""item_text: exact strings on hand-made catalogs, one row or a whole catalog."""

from __future__ import annotations

import json

import polars as pl
import pytest

from paretorec.encode import ItemField, item_text
from paretorec.types import Catalog

ATTRIBUTES = json.dumps(
    {
        "attr_n_voltage": 18.0,
        "attr_b_battery_included": True,
        "attr_t_colour": " yellow\n",
        "attr_t_empty": "",
        "attr_t_none": None,
        "attr_n_weight__kg_": 1.75,
        "attr_t_sizes": ["S", "M"],
        "attr_t_nested": {"a": 1},
        "attr_b_cordless": False,
        "attr_t_sixth": "not shown",
    }
)


def catalog() -> Catalog:
    return Catalog(
        pl.DataFrame(
            {
                "item_id": ["a", "b", "c"],
                "title": ["Cordless Drill 18V", "  Bath\n\tTowel ", "Hammer"],
                "brand": ["DeWalt", None, ""],
                "category": ["Tools>Power Tools >  Drills", None, " > Tools > Hand Tools > "],
                "attributes": [ATTRIBUTES, None, "{}"],
                "description": ["<p>Compact   drill</p><br />driver.", "bath towel", None],
                "price": [99.0, 5.0, 12.5],
            }
        )
    )


def test_every_part_in_order_with_labels_and_cleaning() -> None:
    assert item_text(catalog()) == [
        "Cordless Drill 18V | brand: DeWalt | category: Tools > Power Tools > Drills"
        " | voltage: 18; battery included: yes; colour: yellow; weight kg: 1.75; sizes: S, M"
        " | Compact drill driver.",
        "Bath Towel",  # the description repeats the title (case aside): left out
        "Hammer | category: Tools > Hand Tools",
    ]


def test_one_row_gives_the_same_string_as_the_catalog() -> None:
    frame = catalog().frame
    for index in range(frame.height):
        assert item_text(frame.row(index, named=True)) == item_text(frame)[index]
    assert item_text({"item_id": "x", "title": "Rake", "brand": None}) == "Rake"


def test_fields_choose_and_order_the_parts() -> None:
    texts = item_text(catalog(), fields=[ItemField.BRAND, "title"])
    assert texts == ["brand: DeWalt | Cordless Drill 18V", "Bath Towel", "Hammer"]
    assert item_text(catalog(), fields=[]) == ["", "", ""]


def test_missing_columns_are_skipped() -> None:
    frame = pl.DataFrame({"item_id": ["1"], "title": ["Lamp"], "category": ["Home>Lighting"]})
    assert item_text(frame) == ["Lamp | category: Home > Lighting"]


def test_attribute_and_description_limits() -> None:
    frame = catalog().frame.head(1)
    assert item_text(frame, max_attributes=1, description_chars=7) == [
        "Cordless Drill 18V | brand: DeWalt | category: Tools > Power Tools > Drills"
        " | voltage: 18 | Compact"
    ]
    assert item_text(frame, max_attributes=0, description_chars=0) == [
        "Cordless Drill 18V | brand: DeWalt | category: Tools > Power Tools > Drills"
    ]


def test_cap_cuts_at_a_word_boundary() -> None:
    frame = pl.DataFrame({"item_id": ["1", "2"], "title": ["alpha beta gamma", "x" * 40]})
    assert item_text(frame, max_chars=13) == ["alpha beta", "x" * 13]
    assert item_text(frame, max_chars=10) == ["alpha beta", "x" * 10]  # cut falls on a space
    assert item_text(frame, max_chars=16) == ["alpha beta gamma", "x" * 16]


def test_null_title_gives_empty_text() -> None:
    frame = pl.DataFrame({"item_id": ["1"], "title": [None]}, schema_overrides={"title": pl.String})
    assert item_text(frame) == [""]


def test_bad_attributes_name_the_item() -> None:
    frame = pl.DataFrame({"item_id": ["i9"], "title": ["t"], "attributes": ["{not json"]})
    with pytest.raises(ValueError, match="item i9: attributes are not valid JSON"):
        item_text(frame)
    frame = pl.DataFrame({"item_id": ["i9"], "title": ["t"], "attributes": ["[1, 2]"]})
    with pytest.raises(ValueError, match="not a JSON object"):
        item_text(frame)


@pytest.mark.slow
def test_real_icecat_catalog_is_capped(shared_data: object) -> None:
    from paretorec.data.datasets import BuiltinDataset, load_builtin

    items = load_builtin(BuiltinDataset.ICECAT).items
    texts = item_text(items)
    assert len(texts) == len(items)
    assert max(len(t) for t in texts) <= 512
    first = items.frame.row(0, named=True)
    assert texts[0].startswith(f"{first['title']} | brand: {first['brand']} | ")


def test_attributes_as_a_struct_or_mapping() -> None:
    row = {"item_id": "a", "title": "Drill", "attributes": {"attr_n_volt": 18.0, "kit": True}}
    assert item_text(row) == "Drill | volt: 18; kit: yes"
    frame = pl.DataFrame({"item_id": ["a"], "title": ["Drill"], "attributes": [[1, 2]]})
    with pytest.raises(ValueError, match="attributes must be JSON object text or a struct"):
        item_text(frame)
