"""The learned second stage of search, as the service runs it.

An INDEX version may carry a LightGBM ranker (`paretorec.retrieve.second_stage`) in its
``second_stage/`` folder (`paretorec serve build-index --second-stage` trains one on the
dataset's train queries). When it does, `/search` takes each first-stage run's best
`depth` items (BM25 on the spell-corrected query, dense, and their fusion), re-orders
their union with the ranker and hands that order to the ranker and policy. The runs are
rebuilt with the fusion and spelling the model records it was trained on; a model trained
on another encoder than the one that made the version's item vectors is refused at load.

The candidates' score is the second stage's, min-max scaled over the query's whole union
(best 1, worst 0) before the cut to the candidates asked for, as score fusion scales each
run: the service's relevance stays one
definition, the candidate score as a share of the best one (`share_of_best`, identity on
these), whether the order came from fusion or from the second stage.

`depth` (items per run) bounds the cost: the model is trained at 300 a run
(`SecondStageConfig`), where benchmarks/bench_search_stages.py measured its features at 30
ms median / 70 ms p99 and its scoring at 23 / 52 ms per query on the shared 2-core
machine; the cost falls about in proportion to the union's size. The service's default,
`DEFAULT_SECOND_STAGE_DEPTH` = 100, was chosen on Home Depot's valid queries through this
service path (a model built by `serve build-index --second-stage`, 823 valid queries,
paired bootstrap): NDCG@10 0.4321 at 100, 0.4340 at 300, 0.4353 at 500 a run (100 minus
500: -0.0032 [-0.0075, +0.0005]), Recall@50 0.683 / 0.686 / 0.681, none below the best
significantly, against 0.3971 / 0.652 for the fused order; so the smallest depth, at about
a third of the cost.

A request with filters, and any request after the catalog changed under the service
(upserts, removals: the ranker's item-side arrays are by catalog row), is served by the
fused first stage, as an index without a second stage is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.hybrid import HybridRetriever
from paretorec.retrieve.second_stage import SECOND_STAGE_FOLDER, RerankedSearch
from paretorec.types import Catalog

__all__ = ["DEFAULT_SECOND_STAGE_DEPTH", "ServedSecondStage", "load_second_stage"]

DEFAULT_SECOND_STAGE_DEPTH: int | None = 100  # None: the depth the ranker was trained at


def _check_depth(depth: int) -> int:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"the second stage's depth must be an integer >= 1, got {depth!r}")
    return depth


def scaled_scores(scores: NDArray[np.float64]) -> NDArray[np.float64]:
    """Min-max over the union: best 1, worst 0 (all 1 when every score is the same)."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if high <= low:
        return np.ones_like(values)
    out: NDArray[np.float64] = (values - low) / (high - low)
    return out


class ServedSecondStage:
    """A trained second stage over the index it was built with; `depth` per run."""

    def __init__(
        self,
        search: RerankedSearch,
        *,
        depth: int | None = DEFAULT_SECOND_STAGE_DEPTH,
    ) -> None:
        self.search = search
        self.depth = _check_depth(search.stage.config.depth if depth is None else depth)
        self.active = True  # off for good once the catalog changes under the service

    @property
    def retriever(self) -> HybridRetriever:
        return self.search.retriever

    def rerank(self, query: str, query_vector: NDArray[np.float32], *, k: int) -> Candidates:
        """The top `k` of the union of each run's best `depth`, by the second stage, with
        scores scaled over the whole union before the cut (see the module docstring)."""
        found = self.search.search(query, query_vector, k=None, depth=self.depth)
        scaled = scaled_scores(found.scores)
        return Candidates(
            found.item_ids[:k],
            found.indices[:k],
            scaled[:k],
            {name: values[:k] for name, values in found.components.items()},
        )

    def catalog_changed(self) -> None:
        self.active = False

    def describe(self) -> str:
        if not self.active:
            return "second stage off: the catalog changed since the index was built"
        return f"re-ranked by its second stage (top {self.depth} of each run)"


def load_second_stage(
    index_folder: Path,
    retriever: HybridRetriever,
    catalog: Catalog,
    vectors: NDArray[np.float32],
    *,
    encoder: str,
    depth: int | None = DEFAULT_SECOND_STAGE_DEPTH,
) -> ServedSecondStage | None:
    """The second stage saved in `index_folder`/``second_stage`` over the index loaded from
    that folder, or None when the version has none; `encoder` names the encoder that made
    the version's item vectors (its ``item_vectors_by``). The runs are rebuilt with the
    fusion and spelling the model was trained on (recorded in its settings). A model this
    code cannot serve (another feature layout, runs the hybrid index does not have, another
    catalog, another encoder, a speller the index lacks, no recorded first stage) is a
    ValueError that names the folder."""
    folder = index_folder / SECOND_STAGE_FOLDER
    if not folder.exists():
        return None
    if depth is not None:
        _check_depth(depth)
    try:
        search = RerankedSearch.load(index_folder, retriever, catalog, vectors, encoder=encoder)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{folder}: cannot serve this second stage: {error}") from error
    return ServedSecondStage(search, depth=depth)
