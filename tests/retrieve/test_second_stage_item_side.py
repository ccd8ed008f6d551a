"""The second stage's item side under catalog changes: updated, added, removed and re-added
items read exactly the features an item side built afresh from the current catalog gives,
and a change it cannot take leaves it as it was."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest

from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.second_stage_features import (
    ItemSide,
    QueryInput,
    feature_names,
    pair_features,
)
from paretorec.types import Catalog

RUNS = ("lexical", "dense", "hybrid")
COLUMNS = ("item_id", "title", "brand", "description", "category")
ITEMS = [
    ("i0", "DeWalt 18V cordless drill", "DeWalt", "drill with battery", "Tools>Drills"),
    ("i1", "Makita 12V drill driver", "Makita", "compact driver", "Tools>Drills"),
    ("i2", "Garden hose 50 ft", "Flexzilla", "kink free hose", "Outdoor>Garden"),
    ("i3", "Cordless hedge trimmer 20V", "DeWalt", None, "Outdoor>Garden"),
]


def catalog(rows: Sequence[tuple[str | None, ...]]) -> Catalog:
    return Catalog(pl.DataFrame([dict(zip(COLUMNS, row, strict=True)) for row in rows]))


def vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)


def query_input(text: str, positions: dict[str, int], vector: np.ndarray) -> QueryInput:
    """Runs over the given items (ids in this order), each at the position `positions` says."""
    ids = list(positions)

    def run(order: list[str], name: str) -> Candidates:
        scores = np.linspace(2.0, 1.0, len(order))
        return Candidates(
            tuple(order),
            np.asarray([positions[i] for i in order], dtype=np.int64),
            scores,
            {name: scores},
        )

    runs = {
        "lexical": run(ids[::2], "lexical"),
        "dense": run(ids[::-1], "dense"),
        "hybrid": run(ids, "hybrid"),
    }
    return QueryInput(text, vector, runs)


def by_item(side: ItemSide, query: QueryInput) -> dict[str, list[float]]:
    found = pair_features(query, side, runs=RUNS, prf_run="hybrid", prf_depth=2)
    return {i: found.matrix[row].tolist() for row, i in enumerate(found.item_ids)}


def same(a: dict[str, list[float]], b: dict[str, list[float]]) -> None:
    assert a.keys() == b.keys()
    names = feature_names(RUNS)
    for item, values in a.items():
        for name, x, y in zip(names, values, b[item], strict=True):
            assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, abs=1e-6), (
                item,
                name,
            )


def test_changes_read_as_an_item_side_built_afresh() -> None:
    side = ItemSide.build(catalog(ITEMS), vectors(4, 0))
    # i1 updated (new text, brand and a category path no item had), i2 removed, two added
    # (one without a category), then i2 added back with new text
    updated = ("i1", "Ryobi 40V leaf blower", "Ryobi", "cordless blower", "Outdoor>Blowers")
    added = [
        ("i4", "Cordless drill 18V kit", "Ryobi", None, "Tools>Drills"),
        ("i5", "Leaf rake steel", None, "rake", None),
    ]
    back = ("i2", "Expandable garden hose 100 ft", "Flexzilla", None, "Outdoor>Garden")
    v_updated, v_added, v_back = vectors(1, 1), vectors(2, 2), vectors(1, 3)
    side.update([1], catalog([updated]), v_updated)
    side.remove([2])
    side.update([4, 5], catalog(added), v_added)
    side.remove([3])
    side.update([2], catalog([back]), v_back)

    live = [ITEMS[0], back, updated, *added]  # i3 removed for good
    fresh = ItemSide.build(
        catalog(live), np.concatenate([vectors(4, 0)[:1], v_back, v_updated, v_added])
    )
    assert side.idf == pytest.approx(fresh.idf)
    assert side.default_idf == pytest.approx(fresh.default_idf)
    assert len(side) == 6  # positions are kept: i3's row stays, never returned
    served = {"i0": 0, "i2": 2, "i1": 1, "i4": 4, "i5": 5}
    rebuilt = {"i0": 0, "i2": 1, "i1": 2, "i4": 3, "i5": 4}
    for text in ("cordless drill 18v", "ryobi leaf blower", "garden hose 100 ft"):
        vector = vectors(1, 9)[0]
        same(
            by_item(side, query_input(text, served, vector)),
            by_item(fresh, query_input(text, rebuilt, vector)),
        )
    # the updated item reads its new text only
    got = by_item(side, query_input("makita driver", served, vectors(1, 9)[0]))
    assert got["i1"][feature_names(RUNS).index("coverage")] == 0.0


def _state(side: ItemSide) -> tuple[object, ...]:
    """Everything the features read, copied."""
    assert side.brands is not None and side.descriptions is not None
    assert side.categories is not None
    return (
        list(side.items),
        side.vectors.copy(),
        list(side.brands),
        list(side.descriptions),
        side.categories.copy(),
        dict(side.idf),
        side.default_idf,
    )


def _same_state(a: tuple[object, ...], b: tuple[object, ...]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, np.ndarray):
            assert isinstance(y, np.ndarray) and x.shape == y.shape and np.array_equal(x, y)
        else:
            assert x == y


def test_a_change_it_cannot_take_leaves_it_as_it_was() -> None:
    side = ItemSide.build(catalog(ITEMS), vectors(4, 0))
    before = _state(side)
    new = catalog([("i9", "Shop vacuum 5 gallon", "Ridgid", None, "Tools>Vacuums")])
    with pytest.raises(ValueError, match="new ones following the last item"):
        side.update([6], new, vectors(1, 1))  # a gap after the last item
    with pytest.raises(ValueError, match="dimensions"):
        side.update([4], new, np.ones((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="dimensions"):  # the position held already, too
        side.update([1], new, np.ones((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="1 positions and 1 vectors for 2 items"):
        side.update([4], catalog(ITEMS[:2]), vectors(1, 1))
    with pytest.raises(ValueError, match="distinct"):
        side.update([1, 1], catalog(ITEMS[:2]), vectors(2, 1))
    # numpy would read -1 as the last row: i3's text, vector and counts overwritten
    with pytest.raises(ValueError, match=r"a negative position \(-1\)"):
        side.update([-1], new, vectors(1, 1))
    with pytest.raises(ValueError, match="outside the 4 items"):
        side.remove([4])
    with pytest.raises(ValueError, match="outside the 4 items"):
        side.remove([-1])
    _same_state(_state(side), before)
    assert len(side) == 4
    # and it still takes a change it can
    side.update([3], new, vectors(1, 1))
    assert "vacuum" in side.items[3].tokens and "trimmer" not in side.items[3].tokens
    bare = ItemSide(
        side.items,
        side.vectors,
        side.idf,
        brands=None,
        descriptions=None,
        categories=None,
        popularity=None,
    )
    with pytest.raises(ValueError, match="not built from a catalog"):
        bare.update([0], new, vectors(1, 1))


def test_a_column_the_first_catalog_lacked_stays_absent() -> None:
    # documented in `ItemSide.update`: the model was trained on the first catalog, so its
    # brand, description and category features stay NaN though new rows carry them
    titles = Catalog(pl.DataFrame({"item_id": ["i0", "i1"], "title": ["DeWalt drill", "Hose"]}))
    side = ItemSide.build(titles, vectors(2, 0))
    blower = ("i2", "Ryobi leaf blower", "Ryobi", "cordless blower", "Outdoor>Blowers")
    side.update([2], catalog([blower]), vectors(1, 1))
    assert side.brands is None and side.descriptions is None and side.categories is None
    got = by_item(side, query_input("ryobi blower", {"i0": 0, "i1": 1, "i2": 2}, vectors(1, 9)[0]))
    names = feature_names(RUNS)
    for name in ("brand_match", "description_coverage", "category_agreement"):
        assert math.isnan(got["i2"][names.index(name)])
    assert got["i2"][names.index("coverage")] == 1.0
