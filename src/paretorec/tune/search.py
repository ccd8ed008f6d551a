"""Search's search space: BM25's k1 and b and the fields it indexes, the fusion (score or
reciprocal rank, its lexical weight, score normalization or RRF's k) and the candidate
depth each retriever hands to the fusion.

Two objectives on the valid queries' judgments, both maximized: NDCG@10 and Recall@100 of
the fused full-catalog lists (a query's relevant items are those graded above 0; an
unjudged item counts as irrelevant, as `paretorec eval search` does). The dense side (the
catalog's vectors and the valid and test queries' vectors) is computed once for every
trial; a trial builds the BM25 index of its parameters. BM25 searches each query
spell-corrected towards the words of the fields it indexes, as the hybrid of
`paretorec serve build-index` does (its corrector is saved with the registered index).
The test figures are the same on the test queries. No training loop, so nothing to prune.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import polars as pl
from numpy.typing import NDArray

from paretorec.data.splits import split_unless_given
from paretorec.retrieve.bm25 import Bm25Params
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.dense import DenseIndex
from paretorec.retrieve.fusion import Fusion, Normalization, ReciprocalRankFusion, ScoreFusion
from paretorec.retrieve.hybrid import HybridRetriever
from paretorec.retrieve.lexical import LexicalIndex, item_texts
from paretorec.retrieve.spelling import SpellCorrector
from paretorec.retrieve.tuning import per_query_scores
from paretorec.tune.options import TunableStage
from paretorec.tune.study import EpochHook
from paretorec.types import Dataset, Judgments, Split

__all__ = ["FIELD_SETS", "SearchTuning"]

FIELD_SETS: Mapping[str, tuple[str, ...]] = {
    "title,brand,category": ("title", "brand", "category"),
    "title": ("title",),
    "title,description,brand,category": ("title", "description", "brand", "category"),
}
DEPTHS = (20, 50, 100, 200)
METRICS = ("ndcg@10", "recall@100")
DEFAULT_LEXICAL_WEIGHT = 0.7  # `paretorec serve`'s index default (ScoreFusion(weight=0.7))


@dataclass(frozen=True, eq=False)
class _Queries:
    """One split's queries: ids, texts, vectors and judgments."""

    ids: list[str]
    texts: list[str]
    vectors: NDArray[np.float32]
    judgments: Judgments


@dataclass(frozen=True, eq=False)
class SearchTuning:
    """Tunes hybrid search over `dataset`'s catalog, with `item_vectors` (the catalog's rows)
    and `query_vectors` (query id -> vector) from the same encoder. Judgments without a
    split are split by query (80/10/10, `seed`)."""

    dataset: Dataset
    item_vectors: NDArray[np.float32]
    query_vectors: Mapping[str, NDArray[np.float32]]
    seed: int = 0
    _valid: _Queries = field(init=False)
    _test: _Queries = field(init=False)
    _dense: DenseIndex = field(init=False)
    _dense_runs: dict[tuple[str, int], list[Candidates]] = field(init=False)
    _spellers: dict[tuple[str, ...], SpellCorrector] = field(init=False)

    def __post_init__(self) -> None:
        data = self.dataset
        if data.judgments is None or data.queries is None:
            raise ValueError("tuning search needs the queries and judgments tables")
        if len(self.item_vectors) != len(data.items):
            raise ValueError(f"{len(self.item_vectors)} item vectors for {len(data.items)} items")
        frame = split_unless_given(data.judgments, seed=self.seed)[0].frame.with_columns(
            pl.col("split").str.to_lowercase()
        )
        texts = dict(data.queries.frame.select("query_id", "text").iter_rows())
        parts = {}
        for part in (Split.VALID, Split.TEST):
            rows = frame.filter(pl.col("split") == part.value)
            ids = sorted(rows.filter(pl.col("grade") > 0)["query_id"].unique().to_list())
            if not ids:
                raise ValueError(f"no {part.value} query has a relevant item: nothing to judge on")
            missing = [q for q in ids if q not in self.query_vectors]
            if missing:
                raise ValueError(f"no vector for query {missing[0]!r}")
            parts[part] = _Queries(
                ids,
                [str(texts[q]) for q in ids],
                np.stack([self.query_vectors[q] for q in ids]).astype(np.float32),
                Judgments(rows),
            )
        object.__setattr__(self, "_valid", parts[Split.VALID])
        object.__setattr__(self, "_test", parts[Split.TEST])
        object.__setattr__(self, "_dense", DenseIndex.build(self.item_vectors, data.items))
        object.__setattr__(self, "_dense_runs", {})
        object.__setattr__(self, "_spellers", {})

    @property
    def stage(self) -> TunableStage:
        return TunableStage.SEARCH

    @property
    def objectives(self) -> tuple[str, ...]:
        return METRICS

    @property
    def dense(self) -> DenseIndex:
        return self._dense

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        trial.suggest_float("bm25.k1", 0.2, 3.0)
        trial.suggest_float("bm25.b", 0.0, 1.0)
        trial.suggest_categorical("bm25.fields", list(FIELD_SETS))
        fusion = trial.suggest_categorical("fusion", ["score", "rrf"])
        trial.suggest_float("fusion.lexical_weight", 0.0, 1.0)
        if fusion == "score":
            trial.suggest_categorical("fusion.normalization", [n.value for n in Normalization])
        else:
            trial.suggest_int("fusion.k_rrf", 1, 120)
        trial.suggest_categorical("depth", list(DEPTHS))
        return dict(trial.params)

    def default_params(self) -> dict[str, Any]:
        """`paretorec index`'s configuration (BM25 defaults, score fusion at 0.7, depth 100)."""
        bm25 = Bm25Params()
        return {
            "bm25.k1": bm25.k1,
            "bm25.b": bm25.b,
            "bm25.fields": "title,brand,category",
            "fusion": "score",
            "fusion.lexical_weight": DEFAULT_LEXICAL_WEIGHT,
            "fusion.normalization": Normalization.MINMAX.value,
            "depth": 100,
        }

    @staticmethod
    def fusion_of(params: Mapping[str, Any]) -> Fusion:
        weight = float(params["fusion.lexical_weight"])
        if params["fusion"] == "rrf":
            return ReciprocalRankFusion(weight=weight, k_rrf=int(params["fusion.k_rrf"]))
        return ScoreFusion(
            weight=weight, normalization=Normalization(params["fusion.normalization"])
        )

    def fit(
        self, params: Mapping[str, Any], *, on_epoch: EpochHook | None = None, final: bool = False
    ) -> HybridRetriever:
        fields = FIELD_SETS[str(params["bm25.fields"])]
        present = [f for f in fields if f in self.dataset.items.frame.columns]
        bm25 = Bm25Params(k1=float(params["bm25.k1"]), b=float(params["bm25.b"]))
        lexical = LexicalIndex.build(self.dataset.items, fields=present, params=bm25)
        key = tuple(lexical.fields)
        if key not in self._spellers:  # the vocabulary depends on the fields only
            texts = item_texts(self.dataset.items, lexical.fields)
            self._spellers[key] = SpellCorrector.build(texts)
        return HybridRetriever(
            lexical,
            self._dense,
            fusion=self.fusion_of(params),
            depth=int(params["depth"]),
            speller=self._spellers[key],
        )

    def _figures(self, model: HybridRetriever, queries: _Queries, name: str) -> dict[str, float]:
        per_query = self._per_query(model, queries, name)
        return {m: float(np.mean(list(per_query[m].values()))) for m in METRICS}

    def test_per_query(self, model: HybridRetriever) -> dict[str, dict[str, float]]:
        """Each metric of every test query (query id -> value), whose means `test` gives:
        the per-query values a paired interval between two configurations needs."""
        return self._per_query(model, self._test, "test")

    def _per_query(
        self, model: HybridRetriever, queries: _Queries, name: str
    ) -> dict[str, dict[str, float]]:
        depth = model.depth
        key = (name, depth)
        if key not in self._dense_runs:  # the dense side does not change between trials
            self._dense_runs[key] = self._dense.search_many(queries.vectors, k=depth)
        fused = {
            q: model.fusion.fuse(
                model.lexical.search(model.lexical_query(text), k=depth), dense, k=max(depth, 100)
            )
            for q, text, dense in zip(
                queries.ids, queries.texts, self._dense_runs[key], strict=True
            )
        }
        return {m: per_query_scores(fused, queries.judgments, metric=m) for m in METRICS}

    def validate(self, model: HybridRetriever) -> tuple[float, ...]:
        figures = self._figures(model, self._valid, "valid")
        return tuple(figures[m] for m in METRICS)

    def test(self, model: HybridRetriever) -> dict[str, float]:
        return self._figures(model, self._test, "test")
