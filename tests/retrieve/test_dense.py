"""Dense retrieval: exact order on hand-made vectors, filters, changes served at once, exact
against HNSW, save/load and bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import paretorec.retrieve.dense as dense_module
from paretorec.retrieve import Candidates, DenseIndex, DenseMethod, Filters, HnswParams
from paretorec.types import Catalog
from tests.retrieve.conftest import make_catalog


def angles(degrees: list[float]) -> np.ndarray:
    radians = np.deg2rad(degrees)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


@pytest.fixture
def compass() -> tuple[Catalog, np.ndarray]:
    """Five items on the unit circle at 0, 30, 60, 90 and 180 degrees (d0..d4)."""
    catalog = make_catalog(
        [
            {"item_id": f"d{i}", "title": f"item {i}", "price": float(p), "stock": s}
            for i, (p, s) in enumerate([(10, 1), (20, 0), (30, 5), (40, 2), (50, 9)])
        ]
    )
    return catalog, angles([0, 30, 60, 90, 180])


def test_exact_order_and_cosine_scores(compass: tuple[Catalog, np.ndarray]) -> None:
    catalog, vectors = compass
    index = DenseIndex.build(vectors * 3.0, catalog)  # lengths do not matter: normalized
    assert not index.uses_hnsw
    found = index.search(np.array([1.0, 0.0]) * 0.5, k=5)
    assert found.item_ids == ("d0", "d1", "d2", "d3", "d4")
    expected = [1.0, math.cos(math.pi / 6), 0.5, 0.0, -1.0]
    assert found.scores == pytest.approx(expected, abs=1e-6)
    assert found.components["dense"] == pytest.approx(expected, abs=1e-6)
    found = index.search(angles([75])[0], k=3)
    assert found.item_ids == ("d2", "d3", "d1")  # 15, 15 (tie: smaller position), 45 degrees
    assert found.scores == pytest.approx(
        [math.cos(math.pi / 12)] * 2 + [math.cos(math.pi / 4)], abs=1e-6
    )


def test_filters(compass: tuple[Catalog, np.ndarray]) -> None:
    catalog, vectors = compass
    index = DenseIndex.build(vectors, catalog)
    query = np.array([1.0, 0.0])
    assert index.search(query, k=2, filters=Filters(in_stock=True)).item_ids == ("d0", "d2")
    assert index.search(query, k=2, filters=Filters(min_price=25)).item_ids == ("d2", "d3")
    assert index.search(query, k=9, filters=Filters(min_price=45)).item_ids == ("d4",)
    assert index.search(query, k=9, filters=Filters(category="tools")).item_ids == ()


def test_added_updated_removed_items(compass: tuple[Catalog, np.ndarray]) -> None:
    catalog, vectors = compass
    index = DenseIndex.build(vectors, catalog)
    index.add_items(make_catalog([{"item_id": "new", "title": "new", "price": 5.0}]), angles([10]))
    assert index.n_delta == 1 and "new" in index and len(index) == 6
    found = index.search(np.array([1.0, 0.0]), k=3)
    assert found.item_ids == ("d0", "new", "d1")
    assert found.indices.tolist() == [0, 5, 1]
    assert index.search(np.array([1.0, 0.0]), k=2, filters=Filters(max_price=5)).item_ids == (
        "new",
    )
    # d0 turns to face 180 degrees: it leaves the top near 0 and joins d4
    index.update_items(make_catalog([{"item_id": "d0", "title": "moved"}]), angles([179]))
    assert index.search(np.array([1.0, 0.0]), k=2).item_ids == ("new", "d1")
    assert index.search(np.array([-1.0, 0.0]), k=2).item_ids == ("d4", "d0")
    # update again: the delta copy is retired too
    index.update_items(make_catalog([{"item_id": "d0", "title": "back"}]), angles([0]))
    assert index.search(np.array([-1.0, 0.0]), k=2).item_ids == ("d4", "d3")
    assert index.search(np.array([1.0, 0.0]), k=1).item_ids == ("d0",)
    index.remove_items(["new", "d4"])
    assert index.search(np.array([-1.0, 0.0]), k=10).item_ids == ("d3", "d2", "d1", "d0")
    assert "d4" not in index and len(index) == 4
    with pytest.raises(ValueError, match="not in the index"):
        index.remove_items(["d4"])


def test_compact_keeps_the_results(compass: tuple[Catalog, np.ndarray]) -> None:
    catalog, vectors = compass
    index = DenseIndex.build(vectors, catalog)
    index.add_items(make_catalog([{"item_id": "new", "title": "new"}]), angles([10]))
    index.update_items(make_catalog([{"item_id": "d1", "title": "d1"}]), angles([200]))
    index.remove_items(["d3"])
    before = [index.search(q, k=10) for q in angles([0, 100, 200])]
    index.compact()
    assert index.n_delta == 0
    for q, b in zip(angles([0, 100, 200]), before, strict=True):
        a = index.search(q, k=10)
        assert a.item_ids == b.item_ids and a.indices.tolist() == b.indices.tolist()
        assert a.scores == pytest.approx(b.scores, abs=1e-6)


def test_delta_compacts_itself_at_max_delta(compass: tuple[Catalog, np.ndarray]) -> None:
    catalog, vectors = compass
    index = DenseIndex.build(vectors, catalog, max_delta=2)
    index.add_items(make_catalog([{"item_id": "a", "title": "a"}]), angles([1]))
    assert index.n_delta == 1
    index.add_items(make_catalog([{"item_id": "b", "title": "b"}]), angles([2]))
    assert index.n_delta == 0 and len(index) == 7


# ------------------------------------------------------------------ exact against HNSW


def random_catalog(n: int, seed: int) -> tuple[Catalog, np.ndarray]:
    rng = np.random.default_rng(seed)
    catalog = make_catalog(
        [
            {"item_id": f"i{i}", "title": f"item {i}", "price": float(rng.uniform(0, 100)),
             "category": "A > B" if i % 3 else "A > C", "stock": int(i % 2)}
            for i in range(n)
        ]
    )  # fmt: skip
    return catalog, rng.standard_normal((n, 32)).astype(np.float32)


def recall_at_10(exact: list[Candidates], approximate: list[Candidates]) -> float:
    return float(
        np.mean(
            [
                len(set(a.item_ids) & set(b.item_ids)) / max(len(a), 1)
                for a, b in zip(exact, approximate, strict=True)
            ]
        )
    )


@pytest.fixture(scope="module")
def random_indexes() -> tuple[DenseIndex, DenseIndex, np.ndarray]:
    catalog, vectors = random_catalog(4000, seed=1)
    exact = DenseIndex.build(vectors, catalog, method=DenseMethod.EXACT)
    hnsw = DenseIndex.build(
        vectors, catalog, method=DenseMethod.HNSW, params=HnswParams(ef_search=64)
    )
    queries = np.random.default_rng(2).standard_normal((200, 32))
    return exact, hnsw, queries


def test_hnsw_agrees_with_exact(random_indexes: tuple[DenseIndex, DenseIndex, np.ndarray]) -> None:
    exact, hnsw, queries = random_indexes
    assert hnsw.uses_hnsw and not exact.uses_hnsw
    a, b = exact.search_many(queries, k=10), hnsw.search_many(queries, k=10)
    assert recall_at_10(a, b) >= 0.95
    # the scores HNSW reports are the true cosines of the items it returns
    for q, found in zip(queries[:5], b[:5], strict=True):
        full = exact.search(q, k=4000)
        truth = dict(zip(full.item_ids, full.scores, strict=True))
        assert found.scores == pytest.approx([truth[i] for i in found.item_ids], abs=1e-5)


@pytest.mark.parametrize(
    "filters",
    [Filters(in_stock=True), Filters(category="a>c", max_price=50), Filters(max_price=1.0)],
)
def test_hnsw_honours_filters(
    random_indexes: tuple[DenseIndex, DenseIndex, np.ndarray], filters: Filters
) -> None:
    # half the items, a sixth, and 1% (searched exactly: under HNSW_FILTER_EXACT_BELOW)
    exact, hnsw, queries = random_indexes
    a = exact.search_many(queries, k=10, filters=filters)
    b = hnsw.search_many(queries, k=10, filters=filters)
    passing = set(exact.search(queries[0], k=4000, filters=filters).item_ids)
    assert all(len(r) == min(10, len(passing)) and set(r.item_ids) <= passing for r in b)
    assert recall_at_10(a, b) >= 0.95


def test_hnsw_with_changes_and_compaction() -> None:
    catalog, vectors = random_catalog(1500, seed=4)
    index = DenseIndex.build(vectors, catalog, method="hnsw")
    target = np.random.default_rng(5).standard_normal(32)
    index.add_items(make_catalog([{"item_id": "new", "title": "n"}]), target[None, :])
    assert index.search(target, k=1).item_ids == ("new",)
    index.update_items(make_catalog([{"item_id": "i7", "title": "n"}]), target[None, :] * 2)
    assert index.search(target, k=2).item_ids == ("i7", "new")  # tie: smaller position first
    index.remove_items(["new"])
    assert index.search(target, k=1).item_ids == ("i7",)
    index.compact()
    assert index.uses_hnsw and index.n_delta == 0
    assert index.search(target, k=1).item_ids == ("i7",)


def test_auto_method_follows_the_catalog_size(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog, vectors = random_catalog(300, seed=6)
    assert not DenseIndex.build(vectors, catalog).uses_hnsw
    monkeypatch.setattr(dense_module, "EXACT_MAX_ITEMS", 200)
    index = DenseIndex.build(vectors, catalog)
    assert index.uses_hnsw
    index.remove_items([f"i{i}" for i in range(150)])
    index.compact()  # 150 items left: exact again
    assert not index.uses_hnsw


# ------------------------------------------------------------------ save / load


@pytest.mark.parametrize("method", [DenseMethod.EXACT, DenseMethod.HNSW])
def test_save_and_load_round_trip(method: DenseMethod, tmp_path: Path) -> None:
    catalog, vectors = random_catalog(600, seed=8)
    index = DenseIndex.build(vectors, catalog, method=method, max_delta=100)
    rng = np.random.default_rng(9)
    index.add_items(
        make_catalog([{"item_id": "new", "title": "n", "stock": 4}]), rng.standard_normal((1, 32))
    )
    index.update_items(
        make_catalog([{"item_id": "i3", "title": "n"}]), rng.standard_normal((1, 32))
    )
    index.remove_items(["i5", "i6"])
    index.save(tmp_path / "dense")
    assert (tmp_path / "dense" / "hnsw.faiss").is_file() == (method is DenseMethod.HNSW)
    loaded = DenseIndex.load(tmp_path / "dense")
    assert loaded.uses_hnsw == index.uses_hnsw and loaded.max_delta == 100
    assert loaded.item_ids == index.item_ids and len(loaded) == len(index)
    queries = rng.standard_normal((20, 32))
    for filters in (None, Filters(in_stock=True)):
        for a, b in zip(
            index.search_many(queries, k=10, filters=filters),
            loaded.search_many(queries, k=10, filters=filters),
            strict=True,
        ):
            assert a.item_ids == b.item_ids
            assert a.scores == pytest.approx(b.scores, abs=1e-6)


# ------------------------------------------------------------------ bad input


def test_bad_vectors(compass: tuple[Catalog, np.ndarray]) -> None:
    catalog, vectors = compass
    with pytest.raises(ValueError, match="5 vectors for a catalog of 4"):
        DenseIndex.build(vectors, Catalog(catalog.frame.head(4)))
    with pytest.raises(ValueError, match="zero vector"):
        DenseIndex.build(np.vstack([vectors[:4], [[0.0, 0.0]]]), catalog)
    with pytest.raises(ValueError, match="non-finite"):
        DenseIndex.build(np.vstack([vectors[:4], [[np.nan, 1.0]]]), catalog)
    with pytest.raises(ValueError, match="2-D"):
        DenseIndex.build(vectors[:, 0], catalog)
    index = DenseIndex.build(vectors, catalog)
    with pytest.raises(ValueError, match="3 dimensions, the index has 2"):
        index.search(np.ones(3), k=1)
    with pytest.raises(ValueError, match="1-D"):
        index.search(np.ones((1, 2)), k=1)
    with pytest.raises(ValueError, match="zero vector"):
        index.search(np.zeros(2), k=1)
    for k in (0, -3):
        with pytest.raises(ValueError, match="k must be >= 1"):
            index.search(np.ones(2), k=k)
    with pytest.raises(ValueError, match="1 vectors for 2 items"):
        index.add_items(
            make_catalog([{"item_id": "a", "title": "a"}, {"item_id": "b", "title": "b"}]),
            angles([5]),
        )
    assert "a" not in index  # nothing changed
    with pytest.raises(ValueError, match="m must be an integer"):
        HnswParams(m=1)


def test_the_float16_prescan_finds_what_the_float32_scan_finds() -> None:
    """Above PRESCAN_MIN_ITEMS the exact path pre-scans a float16 copy: the same items and
    scores as the plain float32 scan, unfiltered, filtered by a removal, and among close neighbours."""
    from paretorec.retrieve.dense import PRESCAN_MIN_ITEMS, _exact

    rng = np.random.default_rng(7)
    n, dim = PRESCAN_MIN_ITEMS + 500, 32
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors[100:110] = vectors[99] + 1e-2 * rng.standard_normal((10, dim)).astype(np.float32)
    catalog = make_catalog([{"item_id": f"i{j}", "title": "t"} for j in range(n)])
    index = DenseIndex.build(vectors, catalog, method="exact")
    assert index._prescan is not None
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = np.concatenate([unit[99:100], rng.standard_normal((40, dim)).astype(np.float32)])
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    allowed = np.ones(n, dtype=bool)
    for removed in (None, "i101"):
        if removed is not None:
            index.remove_items([removed])
            allowed[101] = False
        items = np.arange(n, dtype=np.int64)
        want = _exact(index._main, queries, 50, allowed, items, 0)
        for query, (docs, scores) in zip(queries, want, strict=True):
            got = index.search(query, k=50)
            assert [f"i{d}" for d in docs] == list(got.item_ids)
            np.testing.assert_allclose(got.scores, scores, rtol=0, atol=1e-6)
