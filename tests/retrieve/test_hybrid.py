"""Hybrid retrieval: fusion of both lists, filters in both, changes in both, save/load."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from paretorec.retrieve import (
    DenseIndex,
    Filters,
    HybridRetriever,
    LexicalIndex,
    Normalization,
    ReciprocalRankFusion,
    ScoreFusion,
)
from paretorec.types import Catalog
from tests.retrieve.conftest import make_catalog


def one_hot(position: int, dim: int = 10) -> np.ndarray:
    vector = np.full(dim, 0.01)
    vector[position] = 1.0
    return vector


@pytest.fixture
def hybrid(shop: Catalog) -> HybridRetriever:
    # each shop item points its own way; the two corded/cordless drills lean together
    vectors = np.stack([one_hot(i) for i in range(len(shop))])
    vectors[1] += 0.5 * one_hot(0)
    return HybridRetriever(
        LexicalIndex.build(shop),
        DenseIndex.build(vectors, shop),
        fusion=ReciprocalRankFusion(),
        depth=5,
    )


def test_fuses_both_lists(hybrid: HybridRetriever) -> None:
    # lexically "paint" finds only the paint; the vector points at drill-a (position 0)
    runs = hybrid.search_components("paint", one_hot(0))
    assert runs["lexical"].item_ids == ("paint",)
    # drill-a, drill-b (leans on it), then equal cosines in position order, depth 5
    assert runs["dense"].item_ids == ("drill-a", "drill-b", "drill-c", "bits", "hammer")
    found = hybrid.search("paint", one_hot(0), k=3)
    # RRF: paint 1/61 (lexical rank 1), drill-a 1/61 (dense rank 1): tie, smaller position
    assert found.item_ids == ("drill-a", "paint", "drill-b")
    assert found.scores == pytest.approx([1 / 61, 1 / 61, 1 / 62])
    assert set(found.components) == {"lexical", "dense"}
    assert math.isnan(found.components["lexical"][0]) and found.components["dense"][0] > 0.99
    assert math.isnan(found.components["dense"][1]) and found.components["lexical"][1] > 0


def test_filters_apply_to_both(hybrid: HybridRetriever) -> None:
    filters = Filters(category="Tools > Power Tools", in_stock=True)
    found = hybrid.search("drill", one_hot(4), k=10, filters=filters)
    assert set(found.item_ids) == {"drill-a", "drill-c"}


def test_changes_reach_both_indexes(hybrid: HybridRetriever) -> None:
    new = make_catalog(
        [{"item_id": "sander", "title": "Orbital Sander", "price": 59.0, "stock": 3}]
    )
    hybrid.add_items(new, one_hot(9)[None, :])
    found = hybrid.search("sander", one_hot(9), k=1)
    assert found.item_ids == ("sander",) and found.indices.tolist() == [8]
    assert found.components["lexical"][0] > 0 and found.components["dense"][0] > 0.99
    hybrid.update_items(
        make_catalog([{"item_id": "sander", "title": "Belt Polisher"}]), one_hot(8)[None, :]
    )
    assert "sander" not in hybrid.search("orbital", one_hot(0), k=10).item_ids[:1]
    found = hybrid.search("polisher", one_hot(8), k=1)
    assert found.item_ids == ("sander",)
    hybrid.remove_items(["sander"])
    assert "sander" not in hybrid.search("polisher", one_hot(8), k=10).item_ids
    assert len(hybrid) == 8


def test_a_failed_add_changes_neither_index(hybrid: HybridRetriever) -> None:
    with pytest.raises(ValueError, match="1 vectors for 2 items"):
        hybrid.add_items(
            make_catalog([{"item_id": "x", "title": "x"}, {"item_id": "y", "title": "y"}]),
            one_hot(1)[None, :],
        )
    assert "x" not in hybrid.lexical and "x" not in hybrid.dense
    hybrid.add_items(
        make_catalog([{"item_id": "x", "title": "x"}]), one_hot(1)[None, :]
    )  # still aligned


def test_save_and_load(hybrid: HybridRetriever, tmp_path: Path) -> None:
    tuned = hybrid.with_fusion(ScoreFusion(weight=0.7, normalization=Normalization.ZSCORE))
    tuned.add_items(
        make_catalog([{"item_id": "sander", "title": "Orbital Sander"}]), one_hot(9)[None, :]
    )
    tuned.save(tmp_path / "hybrid")
    loaded = HybridRetriever.load(tmp_path / "hybrid")
    assert loaded.fusion == tuned.fusion and loaded.depth == 5
    for query, vector in (
        ("sander", one_hot(9)),
        ("cordless drill", one_hot(2)),
        ("hammer", one_hot(0)),
    ):
        a, b = tuned.search(query, vector, k=5), loaded.search(query, vector, k=5)
        assert a.item_ids == b.item_ids
        assert a.scores == pytest.approx(b.scores, abs=1e-6)


def test_indexes_must_share_items(shop: Catalog) -> None:
    vectors = np.stack([one_hot(i) for i in range(len(shop))])
    other = Catalog(shop.frame.reverse())
    with pytest.raises(ValueError, match="different items"):
        HybridRetriever(LexicalIndex.build(shop), DenseIndex.build(vectors, other))
    with pytest.raises(ValueError, match="k must be >= 1"):
        HybridRetriever(LexicalIndex.build(shop), DenseIndex.build(vectors, shop), depth=0)


def test_bad_queries(hybrid: HybridRetriever) -> None:
    with pytest.raises(ValueError, match="query is empty"):
        hybrid.search("", one_hot(0), k=3)
    with pytest.raises(ValueError, match="k must be >= 1"):
        hybrid.search("drill", one_hot(0), k=0)
    found = hybrid.search("the and of", one_hot(0), k=3)  # no lexical tokens: dense alone
    assert found.item_ids[0] == "drill-a"
    assert np.isnan(found.components["lexical"]).all()
