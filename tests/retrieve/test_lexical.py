"""BM25 retrieval: hand-computed scores, a reference implementation, filters, changes served
at once, save/load and bad input."""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from paretorec.retrieve import Bm25Params, Candidates, Filters, LexicalIndex
from paretorec.retrieve.tokenize import tokenize_product_text
from paretorec.types import Catalog
from tests.retrieve.conftest import make_catalog

CatalogOf = Callable[[list[str]], Catalog]


def reference_bm25(
    docs: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75
) -> list[float]:
    """BM25 (bm25s's lucene variant) written out plainly: each query token counts once per
    occurrence."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    df = Counter(t for d in docs for t in set(d))
    scores = []
    for doc in docs:
        tf = Counter(doc)
        total = 0.0
        for t in query:
            if tf[t]:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                total += idf * tf[t] / (tf[t] + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(total)
    return scores


def test_three_documents_by_hand(catalog_of: CatalogOf) -> None:
    # tokens: d0 [cordless, drill] (2), d1 [drill, bit, set, drill] (4), d2 [hammer] (1)
    index = LexicalIndex.build(catalog_of(["Cordless Drill", "Drill bit set drill", "Hammer"]))
    k1, b, avgdl, n = 1.5, 0.75, 7 / 3, 3
    idf_drill = math.log(1 + (n - 2 + 0.5) / (2 + 0.5))  # ln 1.6
    idf_hammer = math.log(1 + (n - 1 + 0.5) / (1 + 0.5))  # ln 8/3
    d0 = idf_drill * 1 / (1 + k1 * (1 - b + b * 2 / avgdl))
    d1 = idf_drill * 2 / (2 + k1 * (1 - b + b * 4 / avgdl))
    d2 = idf_hammer * 1 / (1 + k1 * (1 - b + b * 1 / avgdl))
    assert (d0, d1, d2) == pytest.approx((0.200918, 0.218425, 0.528139), abs=1e-6)

    found = index.search("drill", k=10)
    assert found.item_ids == ("d1", "d0")  # the hammer shares no token: not returned
    assert found.scores == pytest.approx([d1, d0], rel=1e-6)
    assert list(found.indices) == [1, 0]
    assert found.components["lexical"] == pytest.approx(found.scores)

    found = index.search("hammer drills", k=10)
    assert found.item_ids == ("d2", "d1", "d0")
    assert found.scores == pytest.approx([d2, d1, d0], rel=1e-6)
    assert index.search("hammer drills", k=2).item_ids == ("d2", "d1")


def test_matches_a_plain_bm25_on_random_text(catalog_of: CatalogOf) -> None:
    rng = np.random.default_rng(7)
    words = [f"w{chr(97 + i)}" for i in range(12)]
    titles = [" ".join(rng.choice(words, size=rng.integers(1, 9))) for _ in range(60)]
    params = Bm25Params(k1=1.2, b=0.6)
    index = LexicalIndex.build(catalog_of(titles), params=params)
    docs = [tokenize_product_text(t) for t in titles]
    for _ in range(20):
        query = " ".join(rng.choice(words, size=rng.integers(1, 4)))
        expected = np.asarray(reference_bm25(docs, tokenize_product_text(query), 1.2, 0.6))
        found = index.search(query, k=60)
        order = sorted(np.flatnonzero(expected > 0), key=lambda i: (-expected[i], i))
        assert list(found.indices) == order
        assert found.scores == pytest.approx(expected[found.indices], rel=1e-5)
        assert len(found) == int((expected > 0).sum())


def test_ties_are_broken_by_position(catalog_of: CatalogOf) -> None:
    index = LexicalIndex.build(catalog_of(["blue lamp", "red chair", "blue lamp", "blue lamp"]))
    assert index.search("lamp", k=3).item_ids == ("d0", "d2", "d3")


# ------------------------------------------------------------------ filters


def brute_force(
    index: LexicalIndex, query: str, keep: Callable[[str], bool], k: int
) -> tuple[str, ...]:
    every = index.search(query, k=1000)
    return tuple(i for i in every.item_ids if keep(i))[:k]


@pytest.mark.parametrize(
    ("filters", "passing"),
    [
        (Filters(category="Tools > Power Tools"), {"drill-a", "drill-b", "drill-c"}),
        (Filters(category=" tools>power tools > DRILLS "), {"drill-a", "drill-b", "drill-c"}),
        (Filters(category="Tools"), {"drill-a", "drill-b", "drill-c", "bits", "hammer", "saw"}),
        (Filters(min_price=90), {"drill-a", "drill-b", "drill-d"}),
        (Filters(max_price=90), {"drill-c", "bits", "hammer", "saw"}),
        (Filters(min_price=89, max_price=99), {"drill-a", "drill-c"}),
        (Filters(in_stock=True), {"drill-a", "drill-c", "bits", "hammer", "paint", "drill-d"}),
        (Filters(brands=frozenset({"dewalt", " WEN"})), {"drill-b", "bits", "drill-d"}),
        (Filters(brands=frozenset({"nobody"})), set()),
        (
            Filters(category="Tools", in_stock=True, max_price=100),
            {"drill-a", "drill-c", "bits", "hammer"},
        ),
    ],
)
def test_filters(shop: Catalog, filters: Filters, passing: set[str]) -> None:
    index = LexicalIndex.build(shop)
    for query in ("drill", "tools", "cordless drill bit hammer saw paint press"):
        for k in (1, 2, 10):
            found = index.search(query, k=k, filters=filters)
            assert set(found.item_ids) <= passing
            assert found.item_ids == brute_force(index, query, passing.__contains__, k)


def test_filtered_top_k_is_full_when_enough_items_pass(shop: Catalog) -> None:
    index = LexicalIndex.build(shop)
    # the three best "drill" items are drills in stock or not; in stock, k=3 still gives 3
    found = index.search("drill", k=3, filters=Filters(in_stock=True))
    assert len(found) == 3
    assert all(i in {"drill-a", "drill-c", "bits", "drill-d"} for i in found.item_ids)


def test_category_matches_whole_segments(shop: Catalog) -> None:
    index = LexicalIndex.build(shop)
    found = index.search("saw", k=5, filters=Filters(category="Tools > Power Tools"))
    assert found.item_ids == ()  # "Power Toolsets" is another segment


def test_bad_filters() -> None:
    with pytest.raises(ValueError, match="above max_price"):
        Filters(min_price=10, max_price=5)
    with pytest.raises(ValueError, match="empty segment"):
        Filters(category="Tools >  > Drills")
    with pytest.raises(ValueError, match="brands is empty"):
        Filters(brands=frozenset())
    with pytest.raises(ValueError, match="not one string"):
        Filters(brands="dewalt")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be a number"):
        Filters(min_price=float("nan"))


# ------------------------------------------------------------------ changes


def test_added_item_is_found_at_once(shop: Catalog) -> None:
    index = LexicalIndex.build(shop)
    assert index.search("impact driver", k=5).item_ids == ()
    new = make_catalog([{"item_id": "impact", "title": "Ryobi 18-Volt Impact Driver", "brand": "Ryobi",
                         "category": "Tools > Power Tools > Drivers", "price": 79.0, "stock": 3}])  # fmt: skip
    index.add_items(new)
    assert index.n_delta == 1 and "impact" in index and len(index) == 9
    found = index.search("impact driver", k=5)
    assert found.item_ids == ("impact",)
    assert found.indices.tolist() == [8]  # after the catalog's 8 rows
    assert index.search(
        "18v", k=5, filters=Filters(category="tools>power tools>drivers")
    ).item_ids == ("impact",)
    assert "impact" not in index.search("18v", k=5, filters=Filters(max_price=50)).item_ids
    with pytest.raises(ValueError, match="already in the index"):
        index.add_items(new)


def test_a_delta_document_scores_as_in_main(catalog_of: CatalogOf) -> None:
    index = LexicalIndex.build(catalog_of(["Cordless Drill", "Drill bit set drill", "Hammer"]))
    index.add_items(make_catalog([{"item_id": "copy", "title": "cordless drill"}]))
    found = index.search("drill", k=10)
    assert found.item_ids == ("d1", "d0", "copy")
    assert found.scores[2] == pytest.approx(found.scores[1], rel=1e-6)
    # a token main never saw: df from the live delta, N = main + live delta
    index.add_items(make_catalog([{"item_id": "new", "title": "sander"}]))
    expected = math.log(1 + (5 - 1 + 0.5) / 1.5) / (1 + 1.5 * (1 - 0.75 + 0.75 * 1 / (7 / 3)))
    assert index.search("sander", k=1).scores[0] == pytest.approx(expected, rel=1e-9)


def test_update_moves_an_item_to_its_new_words(shop: Catalog) -> None:
    index = LexicalIndex.build(shop)
    assert "hammer" in index.search("claw", k=5).item_ids
    index.update_items(make_catalog([{"item_id": "hammer", "title": "Framing Nailer", "brand": "Estwing",
                                      "category": "Tools > Power Tools", "price": 299.0, "stock": 1}]))  # fmt: skip
    assert index.search("claw", k=5).item_ids == ()
    found = index.search("nailer", k=5)
    assert found.item_ids == ("hammer",) and found.indices.tolist() == [4]  # position kept
    assert index.search("nailer", k=5, filters=Filters(max_price=100)).item_ids == ()
    # a second update retires the delta document too
    index.update_items(make_catalog([{"item_id": "hammer", "title": "Brad Nailer"}]))
    assert index.search("framing", k=5).item_ids == ()
    assert index.search("brad nailer", k=5).item_ids == ("hammer",)
    assert index.n_delta == 2 and len(index) == 8


def test_remove_and_add_back(shop: Catalog) -> None:
    index = LexicalIndex.build(shop)
    index.remove_items(["drill-a", "bits"])
    assert "drill-a" not in index and len(index) == 6
    assert not {"drill-a", "bits"} & set(index.search("drill", k=10).item_ids)
    with pytest.raises(ValueError, match="not in the index"):
        index.remove_items(["drill-a"])
    with pytest.raises(ValueError, match="not in the index"):
        index.update_items(make_catalog([{"item_id": "drill-a", "title": "x"}]))
    index.add_items(make_catalog([{"item_id": "drill-a", "title": "Cordless Drill 18V"}]))
    found = index.search("cordless 18v", k=1)
    assert found.item_ids == ("drill-a",) and found.indices.tolist() == [0]  # its old position


def test_compact_equals_a_fresh_build(shop: Catalog) -> None:
    index = LexicalIndex.build(shop)
    index.remove_items(["paint"])
    index.update_items(make_catalog([{"item_id": "saw", "title": "Cordless Circular Saw"}]))
    index.add_items(make_catalog([{"item_id": "new", "title": "Cordless Drill Kit"}]))
    index.compact()
    assert index.n_delta == 0
    fresh = LexicalIndex.build(
        make_catalog(
            [{"item_id": r["item_id"], "title": r["title"], "brand": r["brand"], "category": r["category"]}
             for r in shop.frame.iter_rows(named=True) if r["item_id"] not in {"paint", "saw"}]
            + [{"item_id": "saw", "title": "Cordless Circular Saw"}, {"item_id": "new", "title": "Cordless Drill Kit"}]
        )
    )  # fmt: skip
    for query in ("cordless drill", "saw", "tools drill ryobi"):
        a, b = index.search(query, k=10), fresh.search(query, k=10)
        assert a.scores == pytest.approx(b.scores, rel=1e-6)
        assert set(a.item_ids) == set(b.item_ids)


def test_delta_compacts_itself_at_max_delta(catalog_of: CatalogOf) -> None:
    index = LexicalIndex.build(catalog_of(["a lamp"]), max_delta=3)
    for i in range(2):
        index.add_items(make_catalog([{"item_id": f"n{i}", "title": f"lamp {i}"}]))
    assert index.n_delta == 2
    index.add_items(make_catalog([{"item_id": "n2", "title": "lamp shade"}]))
    assert index.n_delta == 0 and len(index) == 4
    assert index.search("shade", k=1).item_ids == ("n2",)


def test_an_index_built_from_nothing_takes_items(catalog_of: CatalogOf) -> None:
    index = LexicalIndex.build(catalog_of([]))
    assert len(index) == 0
    assert index.search("drill", k=5).item_ids == ()
    index.add_items(catalog_of(["cordless drill", "hammer"]))
    assert index.search("drill", k=5).item_ids == ("d0",)


def test_search_stays_fast_with_a_few_thousand_delta_items(catalog_of: CatalogOf) -> None:
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    titles = [" ".join(rng.choice(words, size=8)) for _ in range(8000)]
    index = LexicalIndex.build(catalog_of(titles[:5000]))
    for i in range(5000, 8000, 100):  # 30 batches: 3,000 items in the delta
        index.add_items(
            make_catalog([{"item_id": f"d{j}", "title": titles[j]} for j in range(i, i + 100)])
        )
    assert index.n_delta == 3000
    queries = [" ".join(rng.choice(words, size=3)) for _ in range(50)]
    start = time.perf_counter()
    results = index.search_many(queries, k=10)
    per_query = (time.perf_counter() - start) / len(queries)
    assert per_query < 0.05  # about 1 ms here; generous for a busy machine
    assert any(int(i[1:]) >= 5000 for r in results for i in r.item_ids)


# ------------------------------------------------------------------ save / load


def test_save_and_load_round_trip(shop: Catalog, tmp_path: Path) -> None:
    index = LexicalIndex.build(shop, params=Bm25Params(k1=1.2, b=0.5), max_delta=50)
    index.update_items(
        make_catalog([{"item_id": "hammer", "title": "Framing Nailer", "price": 10.0}])
    )
    index.add_items(make_catalog([{"item_id": "new", "title": "Cordless Drill Kit", "stock": 3}]))
    index.remove_items(["bits"])
    index.save(tmp_path / "lex")
    assert not list((tmp_path / "lex").rglob("*.pkl"))
    loaded = LexicalIndex.load(tmp_path / "lex")
    assert loaded.params == index.params and loaded.max_delta == 50
    assert loaded.item_ids == index.item_ids and len(loaded) == len(index)
    for query in ("cordless drill", "nailer", "claw hammer", "drill bit"):
        for filters in (None, Filters(in_stock=True), Filters(max_price=50)):
            a = index.search(query, k=10, filters=filters)
            b = loaded.search(query, k=10, filters=filters)
            assert a.item_ids == b.item_ids
            assert a.scores == pytest.approx(b.scores, rel=1e-9)
    loaded.add_items(make_catalog([{"item_id": "later", "title": "Claw Hammer"}]))
    assert loaded.search("claw", k=5).item_ids == ("later",)


def test_load_refuses_other_folders(shop: Catalog, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"meta\.json"):
        LexicalIndex.load(tmp_path)
    index = LexicalIndex.build(shop)
    index.save(tmp_path / "lex")
    meta_path = tmp_path / "lex" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "tokenizer_version": -1}))
    with pytest.raises(ValueError, match="tokenizer version"):
        LexicalIndex.load(tmp_path / "lex")
    meta_path.write_text(json.dumps({**meta, "kind": "dense"}))
    with pytest.raises(ValueError, match="not a 'lexical' one"):
        LexicalIndex.load(tmp_path / "lex")


# ------------------------------------------------------------------ bad input


def test_bad_queries(shop: Catalog) -> None:
    index = LexicalIndex.build(shop)
    with pytest.raises(ValueError, match="query is empty"):
        index.search("", k=5)
    with pytest.raises(ValueError, match="query is empty"):
        index.search("  \n\t", k=5)
    with pytest.raises(ValueError, match="str or bytes"):
        index.search(None, k=5)  # type: ignore[arg-type]
    only_stop_words = index.search("the of and", k=5)  # no tokens left: no candidates
    assert isinstance(only_stop_words, Candidates) and len(only_stop_words) == 0
    assert list(only_stop_words.components) == ["lexical"]
    assert len(index.search("zzzz", k=5)) == 0
    for k in (0, -1):
        with pytest.raises(ValueError, match="k must be >= 1"):
            index.search("drill", k=k)
    with pytest.raises(ValueError, match="k must be an integer"):
        index.search("drill", k=True)
    with pytest.raises(ValueError, match="k must be an integer"):
        index.search("drill", k=2.0)  # type: ignore[arg-type]
    assert set(index.search("drill", k=1000).item_ids) == {
        *("drill-a", "drill-b", "drill-c", "drill-d", "bits"),
    }  # k above the number of matches: every match


def test_long_and_undecodable_queries(shop: Catalog) -> None:
    index = LexicalIndex.build(shop)
    long_query = ("cordless drill " * 700)[:10_000]
    found = index.search(long_query, k=3)
    assert found.item_ids[:2] == index.search("cordless drill", k=3).item_ids[:2]
    assert (
        index.search(b"\xff\xfecordless \xc3drill", k=2).item_ids
        == index.search("cordless drill", k=2).item_ids
    )


def test_catalog_needs_a_text_field() -> None:
    from paretorec.retrieve import item_texts

    catalog = make_catalog([{"item_id": "a", "title": "x"}])
    with pytest.raises(ValueError, match="none of the text fields"):
        item_texts(catalog, ("description",))
    with pytest.raises(ValueError, match="appears twice"):
        LexicalIndex.build(
            make_catalog([{"item_id": "a", "title": "x"}, {"item_id": "a", "title": "y"}])
        )
