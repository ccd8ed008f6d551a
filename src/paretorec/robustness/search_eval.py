"""The search pipeline as the robustness report measures it: `SearchEvaluator`.

It is `paretorec.retrieve.pipeline.evaluate_search` with switchable defences: judgments
split by query (the data's `split` column, else seeded), BM25 and dense indexes over the
(stressed) catalog, the score-fusion weight tuned on the train queries, and NDCG@10 and
Recall@100 of the fused top 100 over the full catalog on each test query (unjudged items
count as irrelevant), kept per query for paired intervals.

Defences: `stuffing` builds the BM25 index with a `StuffingGuard` and encodes a flagged
item's text without the words it repeats; `fuzzy` corrects each query's spelling over the
catalog's own words before BM25 sees it (`paretorec.retrieve.spelling`), and
`abbreviations` expands its words that are consonant skeletons of catalog words (the same
corrector: either or both). The dense side encodes the query as typed, as the served
`HybridRetriever` and `evaluate_search` do (they correct the lexical side only).
Query vectors are kept by text across calls, so a sweep encodes each distinct query once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import polars as pl

from paretorec.data.splits import split_unless_given
from paretorec.encode import TextEncoder, encode_items_cached, item_text
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.dense import DenseIndex
from paretorec.retrieve.fusion import ScoreFusion
from paretorec.retrieve.lexical import LexicalIndex
from paretorec.retrieve.stuffing import StuffingGuard
from paretorec.retrieve.tuning import per_query_scores, tune_fusion_weight
from paretorec.robustness.scenarios import Defence, Defences, Measurement
from paretorec.types import Dataset, Judgments, Split

if TYPE_CHECKING:  # the corrector (symspellpy) is imported only when a run needs it
    from paretorec.retrieve.spelling import SpellingParams

__all__ = ["COMPONENT_OBJECTIVES", "OBJECTIVES", "SearchEvaluator", "split_queries"]

DEPTH = 100
OBJECTIVES = ("ndcg@10", "recall@100")
#: with `components=True`, each retriever alone too (the hybrid's parts)
COMPONENT_OBJECTIVES = ("bm25 ndcg@10", "dense ndcg@10")

#: query texts -> corrected texts (the typo defence)
QueryFixer = Callable[[Sequence[str]], list[str]]


def split_queries(dataset: Dataset, seed: int) -> tuple[list[str], list[str], Judgments, Judgments]:
    """Train and test query ids (sorted) and their judgments, as `evaluate_search` splits."""
    if dataset.judgments is None or dataset.queries is None:
        raise ValueError("measuring search needs the queries and judgments tables")
    frame = split_unless_given(dataset.judgments, seed=seed)[0].frame
    parts = []
    for split in (Split.TRAIN, Split.TEST):
        mine = frame.filter(pl.col("split") == split.value)
        parts.append((sorted(mine["query_id"].unique().to_list()), Judgments(mine)))
    (train_ids, train), (test_ids, test) = parts
    if not train_ids or not test_ids:
        raise ValueError(f"need train and test queries, got {len(train_ids)} and {len(test_ids)}")
    return train_ids, test_ids, train, test


def _spelling_fixer(dataset: Dataset, params: SpellingParams) -> QueryFixer:
    from paretorec.retrieve.spelling import SpellCorrector

    corrector = SpellCorrector.build(item_text(dataset.items), params)

    def fix(texts: Sequence[str]) -> list[str]:
        return [corrector.correct(t).text for t in texts]

    return fix


class SearchEvaluator:
    """Measures search on a dataset with some defences on (see the module docstring)."""

    #: the defences this evaluator reads (anything else is refused, not ignored)
    honours: ClassVar[frozenset[Defence]] = frozenset(
        {Defence.STUFFING, Defence.FUZZY, Defence.ABBREVIATIONS}
    )

    def __init__(
        self,
        encoder: TextEncoder,
        cache: Path,
        *,
        seed: int = 0,
        components: bool = False,
        guard: StuffingGuard | None = None,
        fixer_factory: Callable[[Dataset, SpellingParams], QueryFixer] = _spelling_fixer,
    ) -> None:
        self.encoder = encoder
        self.cache = cache
        self.seed = seed
        self.components = components
        self.guard = guard or StuffingGuard()
        self.fixer_factory = fixer_factory
        self._query_vectors: dict[str, np.ndarray] = {}

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self._query_vectors})
        if missing:
            vectors = self.encoder.encode_queries(missing)
            self._query_vectors.update(zip(missing, vectors, strict=True))
        return np.stack([self._query_vectors[t] for t in texts])

    def __call__(self, dataset: Dataset, defences: Defences) -> Measurement:
        train_ids, test_ids, train, test = split_queries(dataset, self.seed)
        assert dataset.queries is not None
        texts: Mapping[str, str] = dict(
            dataset.queries.frame.select("query_id", "text").iter_rows()
        )
        guard = self.guard if Defence.STUFFING in defences else None
        typos, abbreviations = Defence.FUZZY in defences, Defence.ABBREVIATIONS in defences
        if typos or abbreviations:
            from paretorec.retrieve.spelling import SpellingParams
        fix = (
            self.fixer_factory(dataset, SpellingParams(typos=typos, abbreviations=abbreviations))
            if typos or abbreviations
            else None
        )
        lexical = LexicalIndex.build(dataset.items, guard=guard)
        item_texts = item_text(dataset.items)
        if guard is not None:
            item_texts = [guard.clean_text(t) for t in item_texts]
        dense = DenseIndex.build(
            encode_items_cached(self.encoder, item_texts, self.cache), dataset.items, method="exact"
        )

        def runs(ids: list[str]) -> tuple[dict[str, Candidates], dict[str, Candidates]]:
            queries = [texts[q] for q in ids]
            corrected = fix(queries) if fix is not None else queries  # for BM25 only
            lex = {q: lexical.search(t, k=DEPTH) for q, t in zip(ids, corrected, strict=True)}
            found = dense.search_many(self._encode_queries(queries), k=DEPTH)
            return lex, dict(zip(ids, found, strict=True))

        train_lex, train_dense = runs(train_ids)
        fusion = tune_fusion_weight(train_lex, train_dense, train, fusion=ScoreFusion()).fusion
        test_lex, test_dense = runs(test_ids)
        hybrid = {q: fusion.fuse(test_lex[q], test_dense[q]) for q in test_ids}
        per_query = {m: per_query_scores(hybrid, test, metric=m) for m in OBJECTIVES}
        if self.components:
            per_query["bm25 ndcg@10"] = per_query_scores(test_lex, test, metric="ndcg@10")
            per_query["dense ndcg@10"] = per_query_scores(test_dense, test, metric="ndcg@10")
        units = tuple(per_query["ndcg@10"])
        values = {
            m: np.array([v[q] for q in units], dtype=np.float64) for m, v in per_query.items()
        }
        return Measurement(units, values)
