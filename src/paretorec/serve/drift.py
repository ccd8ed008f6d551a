"""The service's drift watch: live distributions of what it serves against the training
window's, as population stability indexes (`paretorec.loop.drift`).

Four features: the words in a search query (`query_words`), the policy's score of each
listed item (`score`), the top-level category of each listed item (`category`) and its
log-price (`log_price`). The reference is what the served models do on the training
window: the index version's dataset queries, searched once when the service starts
(`reference_from_queries`), so a shift in the queries, in what the models answer, or in
the catalog shows as a rising PSI in ``/metrics``. A fifth, `event`, is the mix of the
events posted to ``/events`` (impressions, clicks, carts, purchases) against that
dataset's events: the objectives' rates per impression, as one distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from paretorec.loop.drift import DriftMonitor, DriftReference
from paretorec.serve.catalog import ItemStore
from paretorec.serve.pipeline import RankedList, SearchQuery, ServingPipeline
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.stages import Stage

__all__ = [
    "EVENT",
    "FEATURES",
    "DriftWatch",
    "reference_from_queries",
    "training_events",
    "training_queries",
    "watch_from_registry",
]

FEATURES = ("query_words", "score", "category", "log_price")
EVENT = "event"  # the mix of posted events: the objectives' rates (clicks, carts, purchases per impression)


def _department(category: object) -> str:
    return "" if category is None else str(category).split(">")[0].strip()


def _log_price(price: object) -> float:
    return math.log1p(float(price)) if isinstance(price, int | float) and price >= 0 else math.nan


def list_features(
    query: str | None, ranked: RankedList, store: ItemStore
) -> dict[str, list[object]]:
    """The drift features of one answered request."""
    ids = [item.item_id for item in ranked.items]
    return {
        "query_words": [len(query.split())] if query is not None else [],
        "score": [item.score for item in ranked.items],
        "category": [_department(c) for c in store.values(ids, "category")],
        "log_price": [_log_price(p) for p in store.values(ids, "price")],
    }


class DriftWatch:
    """Live histograms against their references (see the module docstring)."""

    def __init__(self, monitor: DriftMonitor, *, threshold: float) -> None:
        self.monitor = monitor
        self.threshold = threshold

    def observe(self, query: str | None, ranked: RankedList, store: ItemStore) -> None:
        try:
            features = list_features(query, ranked, store)
        except LookupError:
            # the catalog changed (an item deleted, an index promoted) between the answer
            # and this read: the watch skips the request rather than fail the answer
            return
        for name, values in features.items():
            self.monitor.observe(name, values)


def reference_from_queries(
    pipeline: ServingPipeline, queries: Sequence[str], *, k: int = 10
) -> list[DriftReference]:
    """The features of the pipeline's answers to `queries` (exploration off), as
    references; a feature with no finite value is left out."""
    exploring, pipeline.exploration = pipeline.exploration, None
    collected: dict[str, list[object]] = {name: [] for name in FEATURES}
    try:
        for text in queries:
            ranked = pipeline.search(SearchQuery(text=text, k=k))
            for name, values in list_features(text, ranked, pipeline.store).items():
                collected[name].extend(values)
    finally:
        pipeline.exploration = exploring
    references = []
    for name, values in collected.items():
        if name == "category":
            if values:
                references.append(DriftReference.categorical(name, values))
            continue
        finite = [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]
        if finite:
            references.append(DriftReference.numeric(name, finite))
    return references


def training_queries(
    registry: ModelRegistry, version: str | None, *, n: int, seed: int = 0
) -> list[str]:
    """Up to `n` query texts (a seeded sample) of the dataset the index version was built
    from; empty when that dataset has no queries table (or is not there any more)."""
    import polars as pl

    from paretorec.data.io import table_file
    from paretorec.types import TableName

    if version is None:
        return []
    data = registry.manifest(ModelKind.INDEX, version).data
    found = table_file(Path(data), TableName.QUERIES) if data and Path(data).is_dir() else None
    if found is None:
        return []
    frame = (
        pl.read_parquet(found)
        if found.suffix == ".parquet"
        else pl.read_csv(found, infer_schema=False)
    )
    texts = [str(t) for t in frame["text"].drop_nulls().to_list() if str(t).strip()]
    if len(texts) > n:
        rng = np.random.default_rng(seed)
        texts = [texts[i] for i in sorted(rng.choice(len(texts), n, replace=False))]
    return texts


def watch_from_registry(
    pipeline: ServingPipeline, registry: ModelRegistry, *, n_queries: int, threshold: float
) -> DriftWatch | None:
    """A watch whose reference is the pipeline's answers to the index dataset's queries;
    None when there are none to search."""
    version = pipeline.versions.get(Stage.INDEX)
    queries = training_queries(registry, version, n=n_queries)
    if not queries:
        return None
    references = reference_from_queries(pipeline, queries)
    events = training_events(registry, version)
    if events:
        references.append(DriftReference.categorical(EVENT, events))
    return DriftWatch(DriftMonitor(references), threshold=threshold)


def training_events(registry: ModelRegistry, version: str | None) -> list[str]:
    """The event names of the index version's dataset's events table (empty without one)."""
    import polars as pl

    from paretorec.data.io import table_file
    from paretorec.types import TableName

    if version is None:
        return []
    data = registry.manifest(ModelKind.INDEX, version).data
    found = table_file(Path(data), TableName.EVENTS) if data and Path(data).is_dir() else None
    if found is None:
        return []
    frame = (
        pl.read_parquet(found, columns=["event"])
        if found.suffix == ".parquet"
        else pl.read_csv(found, columns=["event"], infer_schema=False)
    )
    return [str(e).lower() for e in frame["event"].drop_nulls().to_list()]
