"""Hard negatives for fine-tuning the encoder, mined from BM25 and from the model itself.

For a training query, a source (BM25, or the dense index of the model being fine-tuned,
before training) ranks the catalog; its top `negative_depth` items are candidate
negatives when they are *judged irrelevant* (graded below `negative_max_grade`) or
*unjudged* for that query. Anything judged at or above `negative_max_grade`, any training
positive of the query, and any item whose text equals one of those (catalogs list the
same product under several ids) is never a negative. Unjudged is not proof of
irrelevance: the depth bounds how far down a false negative can come from, and the loss
masks in-batch items the judgments call relevant (`paretorec.encode.graded_loss`).

Each pair draws `negatives_per_pair` negatives, uniformly (seeded) from one source's
candidates, the sources taking turns pair by pair; a source with no candidate for the
query yields to the next. `choose_negatives` is the pure part; `mine_hard_negatives`
runs the retrievers.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from paretorec.encode.finetune import FinetuneConfig, NegativeSource, TrainingPair
from paretorec.retrieve.dense import DenseIndex
from paretorec.retrieve.lexical import LexicalIndex
from paretorec.types import Judgments, Queries

__all__ = ["MinedNegatives", "choose_negatives", "mine_hard_negatives"]

# query text -> item ids, best first
Rankings = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class MinedNegatives:
    """The pairs with their hard negatives, and how many negatives came from each source."""

    pairs: list[TrainingPair]
    by_source: dict[str, int]
    pairs_without: int

    def to_dict(self) -> dict[str, object]:
        return {
            "negatives_by_source": self.by_source,
            "pairs_without_negative": self.pairs_without,
            "pairs": len(self.pairs),
        }


def choose_negatives(
    pairs: Sequence[TrainingPair],
    rankings: Mapping[NegativeSource, Rankings],
    item_texts: Mapping[str, str],
    never: Mapping[str, frozenset[str]],
    config: FinetuneConfig,
) -> MinedNegatives:
    """`pairs` with negatives drawn from `rankings` (source -> query text -> item ids).
    `never[query text]`: item ids that must not be negatives of the query (judged relevant
    enough); the pairs' own items are added to it, and both are also blocked by text."""
    positives: dict[str, set[str]] = {}
    for pair in pairs:
        positives.setdefault(pair.query, set()).add(pair.item)
    sources = [s for s in config.hard_negatives if s in rankings]
    pools: dict[tuple[NegativeSource, str], list[str]] = {}
    for query, own in positives.items():
        banned_ids = never.get(query, frozenset())
        banned_texts = own | {item_texts[i] for i in banned_ids if i in item_texts}
        for source in sources:
            pool: list[str] = []
            for item in list(rankings[source].get(query, ()))[: config.negative_depth]:
                text = item_texts.get(item)
                if item in banned_ids or text is None or text in banned_texts or text in pool:
                    continue
                pool.append(text)
            pools[(source, query)] = pool
    rng = random.Random(config.seed)
    counts: Counter[str] = Counter()
    out: list[TrainingPair] = []
    turn = 0
    for pair in pairs:
        chosen: list[str] = []
        for _ in range(config.negatives_per_pair):
            for offset in range(len(sources)):
                source = sources[(turn + offset) % len(sources)]
                left = [t for t in pools.get((source, pair.query), ()) if t not in chosen]
                if left:
                    chosen.append(rng.choice(left))
                    counts[source.value] += 1
                    break
            turn += 1
        out.append(replace(pair, negatives=tuple(chosen)))
    without = sum(1 for p in out if not p.negatives)
    return MinedNegatives(out, dict(counts), without if config.negatives_per_pair else len(out))


def never_negatives(
    judgments: Judgments, queries: Queries, *, max_grade: float
) -> dict[str, frozenset[str]]:
    """Query text -> item ids judged at or above `max_grade` for it (any split)."""
    frame = (
        judgments.frame.filter(pl.col("grade") >= max_grade)
        .join(queries.frame.select("query_id", "text"), on="query_id", how="inner")
        .group_by("text")
        .agg(pl.col("item_id").unique())
    )
    return {text: frozenset(items) for text, items in frame.iter_rows()}


def mine_hard_negatives(
    pairs: Sequence[TrainingPair],
    item_texts: Mapping[str, str],
    judgments: Judgments,
    queries: Queries,
    config: FinetuneConfig,
    *,
    lexical: LexicalIndex | None = None,
    dense: DenseIndex | None = None,
    query_vectors: np.ndarray | None = None,
) -> MinedNegatives:
    """Rank the catalog for each training query with the sources `config` names and draw
    the negatives (`choose_negatives`). BM25 needs `lexical` (a `LexicalIndex`); the model's
    own hits need `dense` (a `DenseIndex` of the model's item vectors) and `query_vectors`,
    one row per distinct query text of `pairs` in first-seen order."""
    texts = list(dict.fromkeys(p.query for p in pairs))
    depth = config.negative_depth
    rankings: dict[NegativeSource, dict[str, list[str]]] = {}
    if NegativeSource.BM25 in config.hard_negatives:
        if lexical is None:
            raise ValueError("BM25 hard negatives need the BM25 index")
        rankings[NegativeSource.BM25] = {
            q: list(lexical.search(q, k=depth).item_ids) for q in texts
        }
    if NegativeSource.DENSE in config.hard_negatives:
        if dense is None or query_vectors is None:
            raise ValueError(
                "the model's own hard negatives need its dense index and query vectors"
            )
        if len(query_vectors) != len(texts):
            raise ValueError(f"{len(texts)} query texts but {len(query_vectors)} query vectors")
        found = dense.search_many(query_vectors, k=depth)
        rankings[NegativeSource.DENSE] = {
            q: list(c.item_ids) for q, c in zip(texts, found, strict=True)
        }
    never = never_negatives(judgments, queries, max_grade=config.negative_max_grade)
    return choose_negatives(pairs, rankings, item_texts, never, config)
