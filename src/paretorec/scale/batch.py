"""Encoding a catalog, every user's full-catalog top K, and its evaluation, in blocks.

Each function takes a `backend`. `Backend.LOCAL` runs the block function once over all
rows in this process. `Backend.RAY` makes a Ray Dataset of row numbers, cut into blocks
of `block_size`, and `map_batches` them to `workers` actors; each actor loads the model
once (from its folder, or from the object store where a model object was given: put there
once, read by every actor) and runs the same block function on its blocks; the blocks
come back in row order. So the two backends compute the same numbers: exactly for
top-K lists (each user's list depends only on her history), and within float rounding
for text vectors (a transformer's batch padding differs between block cuts).

What travels to a worker: the model (a recommender's arrays and generators, or the
encoder's folder name to load), the histories or texts (once, by object reference), and
row numbers in blocks; what comes back: a block's vectors or top-K lists. Memory per
worker: one copy of the model and of the histories, plus a block's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from paretorec.evaluate.metrics import Metric, batch_ranking_metrics
from paretorec.retrieve.recommend import Recommender, SplitSequences
from paretorec.scale.backend import Backend

__all__ = ["encode_texts", "evaluate_top_k", "rank_users"]

History = NDArray[np.int64]
DEFAULT_BLOCK = 2048
_METRICS = (Metric.RECALL, Metric.NDCG, Metric.HIT_RATE)


def _check(workers: int, block_size: int) -> None:
    if workers < 1 or block_size < 1:
        raise ValueError(f"workers and block_size must be >= 1, got {workers} and {block_size}")


def _load_recommender(source: Recommender | Path) -> Recommender:
    return source if isinstance(source, Recommender) else Recommender.load(source)


def _rank_block(
    recommender: Recommender, histories: Sequence[History], rows: NDArray[np.int64], k: int
) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
    return recommender.rank_many([histories[int(r)] for r in rows], k=k)


class _RankActor:
    """A Ray Data worker: the recommender and the histories, loaded once."""

    def __init__(self, shared: list[Any], k: int) -> None:
        import ray

        source, histories = ray.get(shared[0]), ray.get(shared[1])
        self.recommender = _load_recommender(source)
        self.histories = histories
        self.k = k

    def __call__(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        rows = batch["row"].astype(np.int64)
        items, sources = _rank_block(self.recommender, self.histories, rows, self.k)
        return {"row": rows, "items": items, "sources": sources.astype(str)}


class _EncodeActor:
    """A Ray Data worker: the encoder (from its folder, or the bundled model), loaded once."""

    def __init__(self, shared: list[Any], model: str | None) -> None:
        import ray

        from paretorec.encode import SentenceTransformerEncoder

        self.texts = ray.get(shared[0])
        self.encoder = (
            SentenceTransformerEncoder(model) if model is not None else SentenceTransformerEncoder()
        )

    def __call__(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        rows = batch["row"].astype(np.int64)
        vectors = self.encoder.encode_items([self.texts[int(r)] for r in rows])
        return {"row": rows, "vector": np.asarray(vectors, dtype=np.float32)}


def _ray_map(
    actor: type, shared: list[Any], extra: tuple[Any, ...], n: int, workers: int, block: int
) -> dict[str, NDArray[Any]]:
    """Row numbers 0..n-1 through `actor` on `workers` actors in blocks; the columns back
    in row order."""
    import ray
    import ray.data

    from paretorec.scale.cluster import connect

    connect(workers=workers)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    rows = ray.data.from_numpy(
        [part for part in np.array_split(np.arange(n, dtype=np.int64), -(-n // block))]
    ).rename_columns({"data": "row"})  # made here: no read task waits for the actors' CPUs
    out = rows.map_batches(
        actor,
        fn_constructor_args=(shared, *extra),
        batch_size=block,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
    )
    blocks = list(out.iter_batches(batch_size=None, batch_format="numpy"))
    if not blocks:
        raise ValueError("the pipeline returned nothing")
    columns = {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}
    order = np.argsort(columns["row"], kind="stable")
    if not np.array_equal(columns["row"][order], np.arange(n)):
        raise RuntimeError("the pipeline lost or repeated rows")
    return {name: values[order] for name, values in columns.items()}


def rank_users(
    recommender: Recommender | Path,
    histories: Sequence[History],
    *,
    k: int,
    backend: Backend = Backend.LOCAL,
    workers: int = 2,
    block_size: int = DEFAULT_BLOCK,
) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
    """Each history's merged full-catalog top `k` (items (n, k) and the source that placed
    each), as `Recommender.rank_many`; `recommender` is a fitted one or its saved folder.
    Every history must be non-empty."""
    _check(workers, block_size)
    if any(np.asarray(h).size == 0 for h in histories):
        raise ValueError("a history is empty: rank only users with a history")
    if not histories:
        return np.zeros((0, k), np.int64), np.zeros((0, k), dtype=str)
    if Backend(backend) is Backend.LOCAL:
        rows = np.arange(len(histories), dtype=np.int64)
        return _rank_block(_load_recommender(recommender), histories, rows, k)
    import ray

    shared = [ray.put(recommender), ray.put(list(histories))]
    found = _ray_map(_RankActor, shared, (k,), len(histories), workers, block_size)
    return found["items"].astype(np.int64), found["sources"].astype(np.str_)


def encode_texts(
    texts: Sequence[str],
    *,
    model: Path | None = None,
    backend: Backend = Backend.LOCAL,
    workers: int = 2,
    block_size: int = DEFAULT_BLOCK,
) -> NDArray[np.float32]:
    """Item vectors of `texts` by the encoder in `model` (default: the bundled MiniLM)."""
    _check(workers, block_size)
    if Backend(backend) is Backend.LOCAL:
        from paretorec.encode import SentenceTransformerEncoder

        encoder = (
            SentenceTransformerEncoder(model) if model is not None else SentenceTransformerEncoder()
        )
        return np.asarray(encoder.encode_items(list(texts)), dtype=np.float32)
    import ray

    if not texts:
        raise ValueError("no texts to encode")
    name = str(Path(model).resolve()) if model is not None else None
    found = _ray_map(_EncodeActor, [ray.put(list(texts))], (name,), len(texts), workers, block_size)
    return found["vector"].astype(np.float32)


def evaluate_top_k(
    recommender: Recommender | Path,
    sequences: SplitSequences,
    *,
    ks: Sequence[int] = (10, 50),
    backend: Backend = Backend.LOCAL,
    workers: int = 2,
    block_size: int = DEFAULT_BLOCK,
) -> dict[str, float]:
    """The merged lists' Recall, NDCG and HitRate at each K over the full catalog, every
    user with a test item ranked from her history before it (as `paretorec eval
    recommend`'s ``merge`` row)."""
    users = np.flatnonzero([t.size > 0 for t in sequences.test])
    if users.size == 0:
        raise ValueError("no user has a test item: nothing to evaluate")
    held = sequences.held_out_test(users)
    histories, relevance = held.histories, held.relevance
    cut = sorted({min(int(k), held.room) for k in ks})
    items, _ = rank_users(
        recommender, histories, k=max(cut), backend=backend, workers=workers,
        block_size=block_size,
    )  # fmt: skip
    return batch_ranking_metrics(items, relevance, ks=cut, metrics=_METRICS).as_dict()
