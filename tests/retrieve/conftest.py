"""Small hand-made catalogs for the retrieval tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from paretorec.types import Catalog


def make_catalog(rows: list[dict[str, Any]]) -> Catalog:
    """A catalog from row dicts (columns: the union of their keys; missing values null)."""
    if not rows:
        return Catalog(pl.DataFrame(schema={"item_id": pl.String, "title": pl.String}))
    return Catalog(pl.DataFrame(rows, infer_schema_length=None))


@pytest.fixture
def shop() -> Catalog:
    """Eight items with every filter attribute, some missing."""
    return make_catalog(
        [
            {"item_id": "drill-a", "title": "Cordless Drill 18V", "brand": "Ryobi",
             "category": "Tools > Power Tools > Drills", "price": 99.0, "stock": 5},
            {"item_id": "drill-b", "title": "Cordless Drill 20V Max", "brand": "DeWalt",
             "category": "Tools > Power Tools > Drills", "price": 149.0, "stock": 0},
            {"item_id": "drill-c", "title": "Hammer Drill Corded", "brand": "Bosch",
             "category": "Tools > Power Tools > Drills", "price": 89.0, "stock": 2},
            {"item_id": "bits", "title": "Drill Bit Set 20 pieces", "brand": "DeWalt",
             "category": "Tools > Accessories", "price": 19.0, "stock": 40},
            {"item_id": "hammer", "title": "Claw Hammer 16 oz", "brand": "Estwing",
             "category": "Tools > Hand Tools", "price": 29.0, "stock": 7},
            {"item_id": "saw", "title": "Circular Saw 7-1/4 in.", "brand": "Ryobi",
             "category": "Tools > Power Toolsets", "price": 79.0, "stock": None},
            {"item_id": "paint", "title": "Interior Paint White 1 gal.", "brand": None,
             "category": "Paint", "price": None, "stock": 12},
            {"item_id": "drill-d", "title": "Drill Press Bench", "brand": "WEN",
             "category": None, "price": 199.0, "stock": 1},
        ]
    )  # fmt: skip


@pytest.fixture
def catalog_of() -> Callable[[list[str]], Catalog]:
    """A title-only catalog with ids d0, d1, ..."""

    def build(titles: list[str]) -> Catalog:
        return make_catalog([{"item_id": f"d{i}", "title": t} for i, t in enumerate(titles)])

    return build
