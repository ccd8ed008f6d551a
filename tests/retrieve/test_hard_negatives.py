"""Hard negatives: only unjudged or judged-irrelevant items of each source's top ranks,
never a relevant item or a copy of one's text, the sources taking turns, seeded."""

from __future__ import annotations

import polars as pl
import pytest

from paretorec.encode.finetune import FinetuneConfig, NegativeSource, TrainingPair
from paretorec.retrieve.hard_negatives import choose_negatives, mine_hard_negatives
from paretorec.retrieve.lexical import LexicalIndex
from paretorec.types import Catalog, Judgments, Queries

BM25, DENSE = NegativeSource.BM25, NegativeSource.DENSE
TEXTS = {
    "d1": "dewalt drill",
    "d2": "ryobi drill",
    "d3": "dewalt drill",  # the same product under another id
    "b1": "drill bit set",
    "b2": "drill press",
    "s1": "hand saw",
}


def test_only_unjudged_or_irrelevant_top_items_become_negatives() -> None:
    pairs = [TrainingPair("drill", "dewalt drill", 3.0), TrainingPair("drill", "ryobi drill", 2.0)]
    rankings = {
        BM25: {"drill": ["d1", "d3", "b1", "d2", "b2", "s1"]},
        DENSE: {"drill": ["d2", "b2", "d1"]},
    }
    never = {"drill": frozenset({"d1", "d2"})}  # judged ≥ negative_max_grade
    config = FinetuneConfig(negative_depth=3, hard_negatives=(BM25, DENSE))
    mined = choose_negatives(pairs, rankings, TEXTS, never, config)
    # BM25's top 3: d1 (relevant), d3 (a copy of d1's text), b1 -> only "drill bit set";
    # dense's top 3: d2, d1 relevant -> only "drill press". Sources take turns by pair.
    assert [p.negatives for p in mined.pairs] == [("drill bit set",), ("drill press",)]
    assert mined.by_source == {"bm25": 1, "dense": 1} and mined.pairs_without == 0
    assert [(p.query, p.item, p.grade) for p in mined.pairs] == [
        (p.query, p.item, p.grade) for p in pairs
    ]


def test_an_empty_source_yields_and_no_candidate_means_no_negative() -> None:
    pairs = [TrainingPair("saw", "hand saw", 3.0)] * 3
    rankings = {BM25: {"saw": ["s1"]}, DENSE: {"saw": ["s1", "b2"]}}
    config = FinetuneConfig(negatives_per_pair=2, hard_negatives=(BM25, DENSE))
    mined = choose_negatives(pairs, rankings, TEXTS, {}, config)
    # only dense has a candidate ("drill press"), and a pair never gets it twice
    assert [p.negatives for p in mined.pairs] == [("drill press",)] * 3
    assert mined.by_source == {"dense": 3}
    none = choose_negatives(pairs, {BM25: {"saw": ["s1"]}}, TEXTS, {}, config)
    assert none.pairs_without == 3 and all(not p.negatives for p in none.pairs)


def test_the_seed_fixes_the_draw() -> None:
    pairs = [TrainingPair("drill", "dewalt drill", 3.0)] * 20
    rankings = {BM25: {"drill": ["b1", "b2", "s1"]}}

    def draw(seed: int) -> list[tuple[str, ...]]:
        config = FinetuneConfig(hard_negatives=(BM25,), seed=seed)
        return [p.negatives for p in choose_negatives(pairs, rankings, TEXTS, {}, config).pairs]

    assert draw(1) == draw(1) and draw(1) != draw(2)
    assert {n for negatives in draw(1) for n in negatives} <= {
        "drill bit set",
        "drill press",
        "hand saw",
    }


def test_mining_with_bm25_on_a_tiny_catalog() -> None:
    catalog = Catalog(pl.DataFrame({"item_id": list(TEXTS), "title": list(TEXTS.values())}))
    queries = Queries(pl.DataFrame({"query_id": ["q1"], "text": ["dewalt drill"]}))
    judgments = Judgments(
        pl.DataFrame({"query_id": ["q1", "q1"], "item_id": ["d1", "b1"], "grade": [3.0, 1.0]})
    )
    pairs = [TrainingPair("dewalt drill", "dewalt drill", 3.0)]
    config = FinetuneConfig(hard_negatives=(BM25,), negative_depth=10)
    mined = mine_hard_negatives(
        pairs, TEXTS, judgments, queries, config, lexical=LexicalIndex.build(catalog)
    )
    # d1 and its copy d3 are relevant; b1 is judged irrelevant, d2 and b2 unjudged: all
    # three match a query word, "hand saw" matches none (BM25 does not return it)
    assert mined.pairs[0].negatives[0] in {"ryobi drill", "drill bit set", "drill press"}
    with pytest.raises(ValueError, match="BM25 hard negatives need the BM25 index"):
        mine_hard_negatives(
            pairs, TEXTS, judgments, queries, FinetuneConfig(hard_negatives=(BM25, DENSE))
        )
    dense_only = FinetuneConfig(hard_negatives=(DENSE,))
    with pytest.raises(ValueError, match="own hard negatives need its dense index"):
        mine_hard_negatives(pairs, TEXTS, judgments, queries, dense_only)
