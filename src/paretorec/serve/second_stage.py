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
paired bootstrap): NDCG@10 0.4328 at 100, 0.4348 at 300, 0.4352 at 500 a run (100 minus
500: -0.0024 [-0.0056, +0.0008]), Recall@50 0.685 / 0.684 / 0.686, none below the best
significantly, against 0.3971 / 0.652 for the fused order; so the smallest depth, at about
a third of the cost.

A request with filters is re-ranked too: the filters go inside each run (BM25 and dense
take the best `depth` items that pass, as the fused path's runs do), so the union holds
only passing items, and at least as many as the fused path's list wherever the served depth
is at least the candidates asked for (the default 100 is: `k` is at most 100, the
candidates 50; a lower depth is served, with a warning logged at load and said in
`/healthz`); the run features (ranks, gaps, agreement with the top hits) are
then among the passing items, as on a shop of those items only. Re-ranking the unfiltered
union and dropping the items that fail would keep the unfiltered features but leave short
lists: on Home Depot with a synthetic price filter
(benchmarks/bench_served_second_stage_filters.py, valid queries) it returns 16.6 of 50
items on average where 10% of the catalog passes and 3.9 where 2% does, its Recall@50
0.100 and 0.125 below the fused order's (its NDCG@10 within 0.006 of filtering inside the
runs where 50% and 10% pass, 0.057 below where 2% do). Filtering inside the runs fills every list and
beats the fused order on the test queries by NDCG@10 +0.029 [+0.019, +0.039], +0.027
[+0.014, +0.041] and +0.032 [+0.003, +0.060] where 50%, 10% and 2% pass.

The catalog's changes reach the model's item side as they reach the indexes
(`ServingPipeline.upsert_items`, `remove_item`): an upserted item's arrays (tokens, units,
brand, description, category, vector) are rebuilt from its new text at its index position,
a new item's appended, and the idf's document counts follow the live items, so the features
read as on an item side built afresh from the current catalog (save a brand, description
or category column the index was built without: it stays absent, its features NaN as the
model was trained, though upserted items carry it; a fresh build would read it); a removed
item is never in a run, so never in the union. Incremental, because a rebuild is too slow under the write
lock: on Home Depot (benchmarks/bench_second_stage_changes.py, 54,667 items) rebuilding
the item side takes 7.3 s, where an upsert's item-side update takes 0.5 ms for one new or
updated item and 6.9 / 7.9 ms for 100 new / updated ones (of 5.1-22.3 ms for the whole
change), a removal 0.02 ms, and the vectors' buffer, which keeps an eighth of the catalog
spare, costs a 21 ms copy each time that eighth fills (medians; the shared 2-core
machine, busy with other jobs, one thread); the updated item side equals the rebuilt one
there, array for array (asserted: Home Depot's catalog has titles only, so its arrays are
the item tokens, vectors and idf; brands, descriptions, categories and popularity are
absent on both sides). A change the item side cannot take switches the second stage off until the next
index version, with the reason in `/healthz`; search then serves the fused order, as an
index without a second stage does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.filters import Filters
from paretorec.retrieve.hybrid import HybridRetriever
from paretorec.retrieve.second_stage import SECOND_STAGE_FOLDER, RerankedSearch
from paretorec.types import Catalog

__all__ = ["DEFAULT_SECOND_STAGE_DEPTH", "ServedSecondStage", "load_second_stage"]

DEFAULT_SECOND_STAGE_DEPTH: int | None = 100  # None: the depth the ranker was trained at

_log = logging.getLogger(__name__)


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
    """A trained second stage over the index it was built with; `depth` per run. It follows
    the catalog's changes (`items_upserted`, `items_removed`) and is switched `off` with a
    reason where it cannot."""

    def __init__(
        self,
        search: RerankedSearch,
        *,
        depth: int | None = DEFAULT_SECOND_STAGE_DEPTH,
        asked: int | None = None,
    ) -> None:
        self.search = search
        self.depth = _check_depth(search.stage.config.depth if depth is None else depth)
        # the most candidates a request asks for (None: not known); see `shortfall`
        self.asked = asked
        self.off_reason: str | None = None  # set: the service serves the fused order
        self.changed = 0  # items upserted or removed since the version loaded

    @property
    def active(self) -> bool:
        return self.off_reason is None

    @property
    def retriever(self) -> HybridRetriever:
        return self.search.retriever

    def rerank(
        self,
        query: str,
        query_vector: NDArray[np.float32],
        *,
        k: int,
        filters: Filters | None = None,
    ) -> Candidates:
        """The top `k` of the union of each run's best `depth` items that pass `filters`,
        by the second stage, with scores scaled over the whole union before the cut (see
        the module docstring)."""
        # The filters go inside each run, as the fused path applies them, rather than
        # over the re-ranked union of unfiltered runs: the union then holds each run's
        # best `depth` passing items, the fused path's own pool, so a selective filter
        # (a price band, one brand) still fills the list where the unfiltered union would
        # hold few or none of the passing items; and no item that fails can come back.
        found = self.search.search(
            query, query_vector, k=None, depth=self.depth, filters=_filters(filters)
        )
        scaled = scaled_scores(found.scores)
        return Candidates(
            found.item_ids[:k],
            found.indices[:k],
            scaled[:k],
            {name: values[:k] for name, values in found.components.items()},
        )

    def items_upserted(
        self, item_ids: Sequence[str], catalog: Catalog, vectors: NDArray[np.float32]
    ) -> None:
        """After the index took these items (`catalog`'s rows, their vectors): their item-side
        arrays rebuilt from their new text, new items appended at their positions. A change
        the item side cannot take switches the second stage off (`describe` says why)."""
        if not self.active or not item_ids:
            return
        try:
            self.search.side.update(self._positions(item_ids), catalog, vectors)
        except ValueError as error:
            self.off(f"the item side could not take the upserted items ({error})")
            return
        self.changed += len(item_ids)

    def items_removed(self, item_ids: Sequence[str]) -> None:
        """After the index dropped these items: out of the idf's document counts (the runs
        never return a removed item, so it cannot come back through the union)."""
        if not self.active or not item_ids:
            return
        try:
            self.search.side.remove(self._positions(item_ids))
        except ValueError as error:
            self.off(f"the item side could not take the removed items ({error})")
            return
        self.changed += len(item_ids)

    def _positions(self, item_ids: Sequence[str]) -> NDArray[np.int64]:
        """The items' positions in the index's item table (the item side's rows)."""
        return self.retriever.lexical.positions(item_ids)

    def shortfall(self) -> str | None:
        """Why lists can come back shorter than the fused order's, or None. The union holds
        each run's best `depth` passing items, so at least `depth` of them (where that many
        pass), where the fused path returns every candidate asked for: with `depth` below
        the `asked` candidates, a request for more than `depth` items can get fewer, and
        the ranker and policy can see fewer candidates than they ask for."""
        if self.asked is None or self.depth >= self.asked:
            return None
        return (
            f"its depth of {self.depth} a run is below the {self.asked} candidates a request "
            f"can ask for: past {self.depth} items, lists can be shorter than the fused "
            "order's"
        )

    def off(self, reason: str) -> None:
        """Serve the fused order from now on (until the next index version), saying why."""
        if self.off_reason is None:
            self.off_reason = reason

    def describe(self) -> str:
        if self.off_reason is not None:
            return f"second stage off: {self.off_reason}; search serves the fused order"
        changed = f"; item side updated for {self.changed} changed items" if self.changed else ""
        short = self.shortfall()
        warned = "" if short is None else f" ({short})"
        return f"re-ranked by its second stage (top {self.depth} of each run){warned}{changed}"


def _filters(filters: Filters | None) -> Filters | None:
    return None if filters is None or filters.is_empty else filters


def load_second_stage(
    index_folder: Path,
    retriever: HybridRetriever,
    catalog: Catalog,
    vectors: NDArray[np.float32],
    *,
    encoder: str,
    depth: int | None = DEFAULT_SECOND_STAGE_DEPTH,
    asked: int | None = None,
) -> ServedSecondStage | None:
    """The second stage saved in `index_folder`/``second_stage`` over the index loaded from
    that folder, or None when the version has none; `encoder` names the encoder that made
    the version's item vectors (its ``item_vectors_by``). The runs are rebuilt with the
    fusion and spelling the model was trained on (recorded in its settings). A model this
    code cannot serve (another feature layout, runs the hybrid index does not have, another
    catalog, another encoder, a speller the index lacks, no recorded first stage) is a
    ValueError that names the folder. `asked` is the most candidates a request asks for: a
    depth below it is served but logged as a warning (and said in `describe`), as lists
    past `depth` items can then be shorter than the fused order's."""
    folder = index_folder / SECOND_STAGE_FOLDER
    if not folder.exists():
        return None
    if depth is not None:
        _check_depth(depth)
    try:
        search = RerankedSearch.load(index_folder, retriever, catalog, vectors, encoder=encoder)
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{folder}: cannot serve this second stage: {error}") from error
    served = ServedSecondStage(search, depth=depth, asked=asked)
    short = served.shortfall()
    if short is not None:
        _log.warning("%s: the second stage's %s", folder, short)
    return served
