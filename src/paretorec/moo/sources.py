"""Per-candidate objective scores for a dataset folder: the one place they are defined.

A dataset becomes a `RankingProblem` (requests, signals, objective contexts):

- search (the dataset has queries and judgments): each sampled query's candidates are
  its BM25 top `n_candidates` over the catalog (the query spell-corrected towards the
  catalog's words, as the hybrid searches it); the relevance signal is the BM25 score
  scaled to [0, 1] within the query, the grades (for NDCG) are the judgments (0 where
  unjudged);
- recommendation (events, no judgments): leave-last-out by user (timestamp, else
  sequence number, else row order): the user's last item is held out with grade 1; the
  candidates are the items that follow or precede the user's last three history items in
  other sequences (co-occurrence counts over every user's history without their last
  item), topped up by popularity, history excluded; the relevance signal is the
  co-occurrence score scaled to [0, 1] (plus a tie-breaking sliver of popularity).

Only requests with at least one relevant candidate are kept (the candidate generator's
recall is reported as `ProblemSummary.kept_share`).  The remaining facts:

- prices and costs from the items table; where missing, filled as the simulator fills a
  real catalog (`paretorec.simulate.real_catalog.adapt_catalog`: log-normal prices by
  category, 5-70% margins), which also fills categories and sellers; the figures that
  rest on filled columns are named in `ProblemSummary.notes` (`paretorec.moo.filled`);
- expected clicks, purchases, revenue and margin use the relevance signal as the click
  probability and 1 as the purchase probability given a click (offline estimates);
- popularity (novelty) from the events' item counts (add-one smoothed);
- embeddings: hashed bag of words of the title's tokens (`tokenize_product_text`, 64
  signed buckets, unit length), used for embedding diversity, MMR and DPP.

Signals (one column per objective, in [0, 1], larger better): NDCG, clicks and
purchases: relevance; revenue: relevance × price, margin: relevance × margin (each
scaled by its maximum in the request); embedding diversity: the candidate's mean cosine
distance to the other candidates (min-max scaled); category diversity and exposure
fairness: one over the number of candidates sharing its category or seller; novelty:
self-information over its maximum; miscalibration: the share of the item's category in
the user's history.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.constraints import ShopConstraints, list_arranger
from paretorec.moo.filled import filled_columns, filled_notes
from paretorec.moo.problem import ContextEvaluator, RankingProblem, RankingRequest
from paretorec.objectives import ListContext, Objective
from paretorec.retrieve.lexical import LexicalIndex, item_texts
from paretorec.retrieve.spelling import SpellCorrector
from paretorec.retrieve.tokenize import tokenize_product_text
from paretorec.simulate.config import CatalogConfig
from paretorec.simulate.real_catalog import adapt_catalog
from paretorec.types import Catalog, Dataset

__all__ = [
    "EMBEDDING_DIM",
    "ProblemSummary",
    "SourceConfig",
    "distinctiveness",
    "hashed_embeddings",
    "problem_from_dataset",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Progress = Callable[[int], None]

EMBEDDING_DIM = 64
HISTORY_ANCHORS = 3


@dataclass(frozen=True)
class SourceConfig:
    """How many requests to sample, candidates per request, the list length and seed."""

    n_requests: int = 200
    n_candidates: int = 100
    k: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_requests < 1 or self.n_candidates < 2 or self.k < 2:
            raise ValueError("n_requests must be >= 1, n_candidates and k >= 2")
        if self.k > self.n_candidates:
            raise ValueError(f"k={self.k} exceeds n_candidates={self.n_candidates}")


@dataclass(frozen=True)
class ProblemSummary:
    """What was built: the task, requests tried and kept (those with a relevant candidate)."""

    task: str
    n_tried: int
    n_kept: int
    candidate_source: str
    notes: tuple[str, ...] = ()  # the figures that rest on filled-in data, in words

    @property
    def kept_share(self) -> float:
        return self.n_kept / self.n_tried if self.n_tried else 0.0


@dataclass(frozen=True, eq=False)
class _Facts:
    """Per-candidate facts of one request."""

    key: str
    rows: IntArray  # catalog rows
    relevance: FloatArray  # [0, 1]
    grades: FloatArray
    history_categories: NDArray[np.str_] | None = None


def hashed_embeddings(titles: Sequence[str], dim: int = EMBEDDING_DIM) -> FloatArray:
    """Unit-length signed hashed bags of title tokens; a title without tokens gets its
    own bucket from the hash of its text."""
    out = np.zeros((len(titles), dim))
    for i, title in enumerate(titles):
        tokens = tokenize_product_text(title) or [f"\x00{title}\x00{i}"]
        for token in tokens:
            h = zlib.crc32(token.encode("utf-8"))
            out[i, h % dim] += 1.0 if (h >> 16) & 1 else -1.0
        if not out[i].any():
            out[i, zlib.crc32(title.encode("utf-8")) % dim] = 1.0
    result: FloatArray = out / np.linalg.norm(out, axis=1, keepdims=True)
    return result


def distinctiveness(embeddings: FloatArray) -> FloatArray:
    """Each unit-length row's mean cosine distance to the other rows, min-max scaled
    to [0, 1] (the per-candidate proxy signal of embedding diversity)."""
    n = embeddings.shape[0]
    mean_cos = (embeddings @ embeddings.sum(axis=0) - 1.0) / max(n - 1, 1)
    return _minmax(1.0 - mean_cos)


def _filled_items(catalog: Catalog, seed: int) -> pl.DataFrame:
    """The items with price, cost, category and seller present (filled where missing)."""
    _, frame = adapt_catalog(catalog, CatalogConfig(), np.random.default_rng(seed))
    return frame


def _scaled(x: FloatArray) -> FloatArray:
    top = float(x.max())
    out: FloatArray = x / top if top > 0 else np.zeros_like(x)
    return out


def _minmax(x: FloatArray) -> FloatArray:
    span = float(x.max() - x.min())
    out: FloatArray = (x - x.min()) / span if span > 0 else np.zeros_like(x)
    return out


def _rarity(labels: NDArray[np.str_]) -> FloatArray:
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    out: FloatArray = 1.0 / counts[inverse]
    return out


def _signal(
    name: str,
    facts: _Facts,
    prices: FloatArray,
    margins: FloatArray,
    categories: NDArray[np.str_],
    sellers: NDArray[np.str_],
    information: FloatArray | None,
    embeddings: FloatArray,
) -> FloatArray:
    rel = facts.relevance
    if name in ("ndcg", "expected_clicks", "expected_purchases"):
        return rel
    if name == "expected_revenue":
        return _scaled(rel * prices)
    if name == "expected_margin":
        return _scaled(rel * margins)
    if name == "embedding_diversity":
        return distinctiveness(embeddings)
    if name == "category_diversity":
        return _rarity(categories)
    if name == "exposure_fairness":
        return _rarity(sellers)
    if name == "novelty":
        if information is None:
            raise ValueError("novelty needs events (item popularity) in the dataset")
        return _scaled(information)
    if name == "miscalibration":
        history = facts.history_categories
        if history is None or history.size == 0:
            raise ValueError("miscalibration needs user histories (a recommendation dataset)")
        labels, counts = np.unique(history, return_counts=True)
        share = dict(zip(labels.tolist(), (counts / counts.sum()).tolist(), strict=True))
        return np.array([share.get(c, 0.0) for c in categories.tolist()])
    raise ValueError(f"no signal is defined for objective {name!r}")


def _popularity(dataset: Dataset, n_items: int, index: dict[str, int]) -> FloatArray | None:
    if dataset.events is None:
        return None
    rows = np.array([index[i] for i in dataset.events.frame["item_id"].to_list()])
    counts = np.bincount(rows, minlength=n_items).astype(np.float64) + 1.0
    out: FloatArray = counts / counts.sum()
    return out


def problem_from_dataset(
    dataset: Dataset,
    objectives: tuple[Objective, ...],
    *,
    config: SourceConfig,
    on_progress: Progress | None = None,
    constraints: ShopConstraints | None = None,
) -> tuple[RankingProblem, ProblemSummary]:
    """The ranking problem of a dataset (see the module docstring); with `constraints`
    (the shop's rules), each weighting's lists are the ones the service would show."""
    if not objectives:
        raise ValueError("no objectives given")
    items = _filled_items(dataset.items, config.seed)
    ids = items["item_id"].to_list()
    index = {item: row for row, item in enumerate(ids)}
    if dataset.judgments is not None and dataset.queries is not None:
        facts, summary = _search_facts(dataset, index, config, on_progress)
    elif dataset.events is not None:
        facts, summary = _recommendation_facts(dataset, items, index, config, on_progress)
    else:
        raise ValueError(
            "the dataset needs queries and judgments (search) or events (recommendation)"
        )
    if not facts:
        raise ValueError("no request has a relevant candidate: nothing to optimize")
    rule_fields: set[str] = set()
    if constraints is not None:
        rule_fields |= constraints.lists.fields
        if constraints.exposure is not None:
            rule_fields.add(constraints.exposure.field)
    notes = filled_notes(filled_columns(dataset.items), [o.name for o in objectives], rule_fields)
    summary = replace(summary, notes=notes)
    prices_all = items["price"].cast(pl.Float64).to_numpy()
    margins_all = np.clip(
        prices_all - items["cost"].cast(pl.Float64).fill_null(0.0).to_numpy(), 0.0, None
    )
    categories_all = items["category"].cast(pl.String).fill_null("").to_numpy().astype(str)
    sellers_all = items["seller_id"].cast(pl.String).fill_null("").to_numpy().astype(str)
    titles = items["title"].cast(pl.String).fill_null("").to_list()
    popularity = _popularity(dataset, len(ids), index)
    requests: list[RankingRequest] = []
    contexts: list[ListContext] = []
    for f in facts:
        rows = f.rows
        embeddings = hashed_embeddings([titles[r] for r in rows.tolist()])
        prices, margins = prices_all[rows], margins_all[rows]
        categories, sellers = categories_all[rows], sellers_all[rows]
        pop = None if popularity is None else popularity[rows]
        information = None if pop is None else -np.log2(pop)
        signals = np.stack(
            [
                _signal(o.name, f, prices, margins, categories, sellers, information, embeddings)
                for o in objectives
            ],
            axis=1,
        )
        requests.append(RankingRequest(f.key, np.clip(signals, 0.0, 1.0), embeddings))
        contexts.append(
            ListContext(
                grades=f.grades,
                click_probs=f.relevance,
                purchase_probs=np.ones(rows.size),
                prices=prices,
                margins=margins,
                categories=categories,
                sellers=sellers,
                embeddings=embeddings,
                popularity=pop,
                history_categories=f.history_categories,
            )
        )
    arranger = None
    if constraints is not None:
        records = items.to_dicts()
        texts: dict[str, str] = {}
        if summary.task == "search" and dataset.queries is not None:
            texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
        arranger = list_arranger(
            constraints.lists,
            [[records[r] for r in f.rows.tolist()] for f in facts],
            [texts.get(f.key) for f in facts],
            exposure=constraints.exposure,
            merit=[f.relevance for f in facts],
        )
    problem = RankingProblem(
        objectives,
        tuple(requests),
        config.k,
        ContextEvaluator(objectives, tuple(contexts)),
        name=dataset.name,
        arranger=arranger,
    )
    return problem, summary


def _search_facts(
    dataset: Dataset, index: dict[str, int], config: SourceConfig, on_progress: Progress | None
) -> tuple[list[_Facts], ProblemSummary]:
    assert dataset.judgments is not None and dataset.queries is not None
    judged: dict[str, dict[str, float]] = {}
    for q, item, grade in dataset.judgments.frame.select(
        "query_id", "item_id", "grade"
    ).iter_rows():
        judged.setdefault(str(q), {})[str(item)] = float(grade)
    texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
    order = sorted(q for q in judged if q in texts)
    np.random.default_rng(config.seed).shuffle(order)
    lexical = LexicalIndex.build(dataset.items)
    # BM25 searches the query spell-corrected towards the catalog's words, as the hybrid does
    speller = SpellCorrector.build(item_texts(dataset.items, lexical.fields))
    facts: list[_Facts] = []
    tried = 0
    for q in order:
        if len(facts) >= config.n_requests:
            break
        tried += 1
        found = lexical.search(speller.correct(str(texts[q])).text, k=config.n_candidates)
        if len(found) < config.k:
            continue
        grades = np.array([judged[q].get(i, 0.0) for i in found.item_ids])
        if not grades.any():
            continue
        rows = np.array([index[i] for i in found.item_ids], dtype=np.int64)
        facts.append(_Facts(q, rows, _minmax(np.asarray(found.scores)), grades))
        if on_progress is not None:
            on_progress(1)
    return facts, ProblemSummary("search", tried, len(facts), f"BM25 top {config.n_candidates}")


def _sequences(dataset: Dataset) -> list[tuple[str, list[str]]]:
    assert dataset.events is not None
    frame = dataset.events.frame.with_row_index("__row")
    keys = [c for c in ("timestamp", "sequence_number") if c in frame.columns]
    frame = frame.sort(["user_id", *keys, "__row"])
    grouped = frame.group_by("user_id", maintain_order=True).agg(pl.col("item_id"))
    return [(str(u), [str(i) for i in items]) for u, items in grouped.iter_rows()]


def _recommendation_facts(
    dataset: Dataset,
    items: pl.DataFrame,
    index: dict[str, int],
    config: SourceConfig,
    on_progress: Progress | None,
) -> tuple[list[_Facts], ProblemSummary]:
    n = len(index)
    sequences = [(u, [index[i] for i in seq]) for u, seq in _sequences(dataset) if len(seq) >= 3]
    if not sequences:
        raise ValueError("no user has three or more events: leave-last-out needs them")
    heads: list[int] = []
    tails: list[int] = []
    seen_items: list[int] = []
    for _, seq in sequences:
        history = seq[:-1]
        seen_items.extend(history)
        heads.extend(history[:-1])
        tails.extend(history[1:])
    pairs = sp.coo_matrix((np.ones(len(heads)), (heads, tails)), shape=(n, n)).tocsr()
    cooc = (pairs + pairs.T).tocsr()
    train_counts = np.bincount(np.array(seen_items, dtype=np.int64), minlength=n) + 1.0
    popular = np.argsort(-train_counts, kind="stable")
    category = items["category"].cast(pl.String).fill_null("").to_numpy().astype(str)
    order = np.random.default_rng(config.seed).permutation(len(sequences))
    facts: list[_Facts] = []
    tried = 0
    for position in order.tolist():
        if len(facts) >= config.n_requests:
            break
        tried += 1
        user, seq = sequences[position]
        history, held_out = seq[:-1], seq[-1]
        scores = np.asarray(cooc[history[-HISTORY_ANCHORS:]].sum(axis=0)).ravel()
        scores[history] = 0.0
        scored = np.flatnonzero(scores > 0)
        ranked = scored[np.argsort(-scores[scored], kind="stable")][: config.n_candidates]
        if ranked.size < config.n_candidates:
            seen = set(history) | set(ranked.tolist())
            extra = [
                int(i) for i in popular[: config.n_candidates + len(seen)] if int(i) not in seen
            ]
            ranked = np.concatenate([ranked, extra[: config.n_candidates - ranked.size]])
        rows = ranked.astype(np.int64)
        if held_out not in set(rows.tolist()):
            continue
        co = np.asarray(scores[rows], dtype=np.float64)
        pop = np.asarray(train_counts[rows], dtype=np.float64)
        rel: FloatArray = 0.99 * _scaled(co) + 0.01 * _scaled(pop)
        grades = (rows == held_out).astype(np.float64)
        facts.append(_Facts(user, rows, rel, grades, category[history]))
        if on_progress is not None:
            on_progress(1)
    source = f"co-occurrence with the last {HISTORY_ANCHORS} items, popularity top-up, {config.n_candidates}"
    return facts, ProblemSummary("recommendation", tried, len(facts), source)
