"""A learned merge of the generators' candidates: LightGBM lambdarank over their union.

Fixed quotas give each generator a share of the slots whatever the user and the item;
a learned merge scores every candidate from what the generators say about it and from
what is known of the item, so it can follow co-visitation where an item has co-visits
and lean on text where it has none.

**Candidates** of a history: the union of each source's top `depth` items, the history
and removed items excluded. The sources are the recommender's generators (an item a
generator scores no higher than its `min_score` is not its candidate) and ``text``: the
items closest by cosine to the session's text vector (the mean of the last
`session_items` items' vectors, unit length; cosine must be > 0), so an item with no
interactions, which the ID-based generators cannot propose, still enters by its text.

**Features** of a (history, item) pair, in `feature_names` order:

- for each source: its score of the item (every source scores the whole catalog, so the
  score is known outside its list too; popularity's is the item's training interaction
  count, text's the cosine to the session) and the item's 1-based rank in its list
  (`MISSING` when not in it);
- ``n_sources``: how many sources list the item;
- ``recent_count``: the item's interactions among the last `recent_steps` items of each
  training sequence (popularity now, not over all time);
- ``age``: steps from the end of a training sequence to the item's latest interaction,
  the fewest over sequences (`MISSING` when it never occurred) — sequences carry order,
  not clocks, so recency is counted in steps;
- ``history_length``: the user's number of items;
- ``last_item_text``: the cosine of the item's text vector to the last history item's
  (the session mean blurs what was bought just now).

With the interaction count beside the text score the model learns where IDs are weak
and text must carry the item. **Training**: each history's held-out next item is the one
relevant candidate (label 1); a history whose item is not among its candidates gives no
gradient and is left out. **Ranking**: candidates by predicted score (ties: smaller
index); a list shorter than `k` is filled in popularity order (source popularity), so a
user no source proposes anything to still gets the popular items.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import torch
from numpy.typing import NDArray

from paretorec.retrieve.recommend._files import read_model, write_model
from paretorec.retrieve.recommend.base import Generator, History, Source
from paretorec.retrieve.recommend.caps import ActorCaps, capped_sequences

__all__ = [
    "MISSING",
    "CandidateSet",
    "ItemStats",
    "LearnedMerge",
    "MergeConfig",
    "build_candidates",
    "feature_names",
    "session_vectors",
]

_KIND = "learned-merge"
_BOOSTER = "booster.txt"
MISSING = 1.0e6
"""The rank of an item a source does not list, and the age of an item never seen."""
_PER_ITEM = ("n_sources", "recent_count", "age", "history_length", "last_item_text")


@dataclass(frozen=True)
class MergeConfig:
    """How candidates are gathered and the ranker is trained."""

    depth: int = 50
    """Items each source lists."""
    session_items: int = 5
    """The last items of a history whose text vectors make its session vector."""
    recent_steps: int = 5
    """The last items of each training sequence that count as recent."""
    trees: int = 200
    learning_rate: float = 0.05
    leaves: int = 31
    min_child_samples: int = 50
    seed: int = 0
    threads: int = 2

    def __post_init__(self) -> None:
        for name in ("depth", "session_items", "recent_steps", "trees", "leaves", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.min_child_samples < 1 or not 0.0 < self.learning_rate <= 1.0:
            raise ValueError("min_child_samples must be >= 1 and learning_rate in (0, 1]")


@dataclass(frozen=True, eq=False)
class ItemStats:
    """What the training sequences say about each item (see the module docstring)."""

    counts: NDArray[np.float64]
    recent: NDArray[np.float64]
    age: NDArray[np.float64]

    @classmethod
    def from_sequences(
        cls, sequences: Sequence[History], n_items: int, *, recent_steps: int
    ) -> ItemStats:
        lengths = np.array([len(s) for s in sequences], dtype=np.int64)
        flat = (
            np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences])
            if sequences
            else np.zeros(0, dtype=np.int64)
        )
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        from_end = np.repeat(lengths, lengths) - 1 - (np.arange(flat.size) - starts)
        counts = np.bincount(flat, minlength=n_items).astype(np.float64)
        recent = np.bincount(flat[from_end < recent_steps], minlength=n_items).astype(np.float64)
        age = np.full(n_items, MISSING)
        np.minimum.at(age, flat, from_end.astype(np.float64))
        return cls(counts, recent, age)

    def padded(self, n_items: int) -> ItemStats:
        """Stats over `n_items` items: items added after training never occurred."""
        extra = n_items - self.counts.size
        if extra <= 0:
            return self
        return ItemStats(
            np.concatenate([self.counts, np.zeros(extra)]),
            np.concatenate([self.recent, np.zeros(extra)]),
            np.concatenate([self.age, np.full(extra, MISSING)]),
        )


def feature_names(sources: Sequence[str]) -> tuple[str, ...]:
    """The feature columns for these sources (see the module docstring)."""
    per_source = tuple(f"{s}_{part}" for s in sources for part in ("score", "rank"))
    return per_source + _PER_ITEM


def session_vectors(
    histories: Sequence[History], text_vectors: NDArray[np.float32], last: int
) -> NDArray[np.float32]:
    """Each history's mean text vector over its `last` items, unit length (zero if none)."""
    out = np.zeros((len(histories), text_vectors.shape[1]), dtype=np.float32)
    for row, history in enumerate(histories):
        if len(history):
            out[row] = text_vectors[np.asarray(history, dtype=np.int64)[-last:]].mean(axis=0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


@dataclass(frozen=True, eq=False)
class CandidateSet:
    """The candidates of a block of histories, grouped by history (`user` ascending,
    items ascending within a history), their features, and their best-ranked source."""

    user: NDArray[np.int64]
    item: NDArray[np.int64]
    features: NDArray[np.float32]
    source: NDArray[np.int64]
    """Index into the sources of the one that ranks the item best (first on ties)."""


def build_candidates(
    scores: Mapping[str, NDArray[np.floating]],
    min_scores: Mapping[str, float],
    histories: Sequence[History],
    stats: ItemStats,
    text_vectors: NDArray[np.float32],
    *,
    depth: int,
) -> CandidateSet:
    """Candidates and features from each source's (m, n_items) score block, where items a
    history may not get (its own, removed ones) hold -inf (see the module docstring)."""
    sources = list(scores)
    m = len(histories)
    lists = [_top(scores[s], depth, min_scores[s]) for s in sources]
    n_items = next(iter(scores.values())).shape[1] if sources else 0
    joined = np.sort(np.concatenate(lists, axis=1), axis=1) if lists else np.zeros((m, 0))
    keep = joined >= 0
    keep[:, 1:] &= joined[:, 1:] != joined[:, :-1]
    user, column = np.nonzero(keep)
    user = user.astype(np.int64)
    item = joined[user, column].astype(np.int64)
    stats = stats.padded(n_items)
    columns: list[NDArray[np.float64]] = []
    ranks = []
    for source, listed in zip(sources, lists, strict=True):
        rank = _rank_of(listed, user, item, n_items)
        ranks.append(rank)
        columns += [np.asarray(scores[source][user, item], dtype=np.float64), rank]
    rank_matrix = np.stack(ranks, axis=1) if ranks else np.zeros((user.size, 0))
    lengths = np.array([len(h) for h in histories], dtype=np.float64)
    last = np.array([h[-1] if len(h) else -1 for h in histories], dtype=np.int64)
    last_text = np.einsum(
        "ij,ij->i", text_vectors[item], text_vectors[last[user]], dtype=np.float64
    ) * (last[user] >= 0)
    columns += [
        (rank_matrix < MISSING).sum(axis=1).astype(np.float64),
        stats.recent[item],
        stats.age[item],
        lengths[user],
        last_text,
    ]
    features = np.stack(columns, axis=1).astype(np.float32)
    best = rank_matrix.argmin(axis=1) if ranks else np.zeros(user.size, dtype=np.int64)
    return CandidateSet(user, item, features, best.astype(np.int64))


def _top(scores: NDArray[np.floating], depth: int, min_score: float) -> NDArray[np.int64]:
    """Each row's `depth` best items (in the list, ties: smaller index), -1 where it is not
    above `min_score` (or -inf: not allowed)."""
    m, n = scores.shape
    d = min(depth, n)
    if d == 0:
        return np.full((m, 0), -1, dtype=np.int64)
    # torch's top-k is several times faster than argpartition over a catalog-wide row
    found = torch.topk(torch.from_numpy(np.ascontiguousarray(scores)), d, dim=1)
    part, values = found.indices.numpy().astype(np.int64), found.values.numpy()
    order = np.lexsort((part, -values), axis=1)
    items = np.take_along_axis(part, order, axis=1).astype(np.int64)
    values = np.take_along_axis(values, order, axis=1)
    items[~(values > min_score)] = -1
    return items


def _rank_of(
    listed: NDArray[np.int64], user: NDArray[np.int64], item: NDArray[np.int64], n_items: int
) -> NDArray[np.float64]:
    """Each (user, item)'s 1-based position in its user's row of `listed`, else MISSING."""
    rows, positions = np.nonzero(listed >= 0)
    keys = rows.astype(np.int64) * n_items + listed[rows, positions]
    order = np.argsort(keys, kind="stable")
    keys, positions = keys[order], positions[order]
    wanted = user * n_items + item
    at = np.searchsorted(keys, wanted)
    at_clipped = np.minimum(at, max(keys.size - 1, 0))
    found = (at < keys.size) & (keys[at_clipped] == wanted) if keys.size else at < 0
    out = np.full(user.size, MISSING)
    out[found] = positions[at_clipped[found]] + 1.0
    return out


def counted_sequences(
    generators: Mapping[Source, Generator], train: Sequence[History]
) -> Sequence[History]:
    """`train` as the counting generators counted it: under popularity's per-actor caps
    (else co-visitation's) when they are on, so one bot's clicks do not make an item look
    popular or recent here either."""
    for source in (Source.POPULARITY, Source.COVISITATION):
        caps = getattr(generators.get(source), "caps", None)
        if isinstance(caps, ActorCaps) and caps.enabled:
            return capped_sequences(train, caps)
    return train


class LearnedMerge:
    """The learned merge (see the module docstring): a lambdarank booster over the
    candidates of `sources` (the generators' names, then ``text``)."""

    def __init__(
        self,
        sources: Sequence[str],
        booster: lgb.Booster,
        stats: ItemStats,
        config: MergeConfig | None = None,
    ) -> None:
        self.sources = tuple(sources)
        if Source.TEXT.value not in self.sources or Source.POPULARITY.value not in self.sources:
            raise ValueError("a learned merge needs the popularity and text sources")
        self.booster = booster
        self.stats = stats
        self.config = config or MergeConfig()

    @property
    def feature_names(self) -> tuple[str, ...]:
        return feature_names(self.sources)

    def restated(
        self, generators: Mapping[Source, Generator], train: Sequence[History], n_items: int
    ) -> LearnedMerge:
        """This merge with its item statistics taken from `train`, the sequences
        `generators` were (re)fitted on (the booster is kept)."""
        stats = ItemStats.from_sequences(
            counted_sequences(generators, train), n_items, recent_steps=self.config.recent_steps
        )
        return LearnedMerge(self.sources, self.booster, stats, self.config)

    # ------------------------------------------------------------ candidates

    def candidates(
        self,
        generators: Mapping[Source, Generator],
        text_vectors: NDArray[np.float32],
        histories: Sequence[History],
        allowed: NDArray[np.bool_],
    ) -> CandidateSet:
        """The candidates of `histories`; `allowed` (m, n_items) says which items each
        history may get."""
        return gather_candidates(
            generators, self.sources, text_vectors, histories, allowed, self.stats, self.config
        )

    # ------------------------------------------------------------ training

    @classmethod
    def fit(
        cls,
        generators: Mapping[Source, Generator],
        text_vectors: NDArray[np.float32],
        train: Sequence[History],
        histories: Sequence[History],
        targets: NDArray[np.int64],
        *,
        live: NDArray[np.bool_] | None = None,
        config: MergeConfig | None = None,
        chunk_size: int = 512,
        on_progress: Callable[[int], None] | None = None,
    ) -> LearnedMerge:
        """Train on `histories` (from the sequences the generators were fitted on, never
        a test item) and each one's held-out next item `targets`; `train` are the
        sequences the generators learned from (for the item statistics)."""
        config = config or MergeConfig()
        targets = np.asarray(targets, dtype=np.int64).reshape(-1)
        if len(histories) != targets.size or targets.size == 0:
            raise ValueError("give one target item for each history (and at least one)")
        n_items = text_vectors.shape[0]
        if targets.min() < 0 or targets.max() >= n_items:
            raise ValueError(f"a target item index is outside [0, {n_items})")
        sources = (*(s.value for s in generators), Source.TEXT.value)
        stats = ItemStats.from_sequences(
            counted_sequences(generators, train), n_items, recent_steps=config.recent_steps
        )
        blocks, labels, groups = [], [], []
        for rows, allowed in _blocks(histories, n_items, live, chunk_size):
            chunk = [histories[r] for r in rows]
            found = gather_candidates(
                generators, sources, text_vectors, chunk, allowed, stats, config
            )
            label = found.item == targets[rows][found.user]
            hit = np.bincount(found.user[label], minlength=rows.size) > 0
            kept = hit[found.user]
            blocks.append(found.features[kept])
            labels.append(label[kept].astype(np.float32))
            groups.append(np.bincount(found.user[kept], minlength=rows.size)[hit])
            if on_progress is not None:
                on_progress(rows.size)
        group = np.concatenate(groups)
        if group.size == 0:
            raise ValueError("no history has its target among its candidates: nothing to learn")
        dataset = lgb.Dataset(
            np.concatenate(blocks),
            label=np.concatenate(labels),
            group=group,
            feature_name=list(feature_names(sources)),
            free_raw_data=True,
        )
        params = {
            "objective": "lambdarank",
            "learning_rate": config.learning_rate,
            "num_leaves": config.leaves,
            "min_child_samples": config.min_child_samples,
            "lambdarank_truncation_level": 20,
            "seed": config.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": config.threads,
            "verbose": -1,
        }
        booster = lgb.train(params, dataset, num_boost_round=config.trees)
        return cls(sources, booster, stats, config)

    # ------------------------------------------------------------ ranking

    def rank(
        self,
        generators: Mapping[Source, Generator],
        text_vectors: NDArray[np.float32],
        histories: Sequence[History],
        *,
        k: int,
        live: NDArray[np.bool_] | None = None,
        allowed: NDArray[np.bool_] | None = None,
        chunk_size: int = 512,
        on_progress: Callable[[int], None] | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
        """Each history's top `k` (items (m, k), -1 past the allowed items, and sources);
        a history's own items and removed ones (`live` False) are never listed, nor any
        item `allowed` (m, n_items) rules out when given."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        n_items = text_vectors.shape[0]
        items = np.full((len(histories), k), -1, dtype=np.int64)
        names = np.full((len(histories), k), "", dtype=object)
        popularity = generators[Source.POPULARITY]
        blocks = (
            [(np.arange(len(histories)), allowed)]
            if allowed is not None
            else _blocks(histories, n_items, live, chunk_size)
        )
        for rows, block_allowed in blocks:
            chunk = [histories[r] for r in rows]
            found = self.candidates(generators, text_vectors, chunk, block_allowed)
            predicted = self.predict(found.features)
            order = np.lexsort((found.item, -predicted, found.user))
            user, item, source = found.user[order], found.item[order], found.source[order]
            starts = np.searchsorted(user, np.arange(rows.size))
            position = np.arange(user.size) - starts[user]
            top = position < k
            items[rows[user[top]], position[top]] = item[top]
            names[rows[user[top]], position[top]] = np.array(self.sources, dtype=object)[
                source[top]
            ]
            short = np.flatnonzero(items[rows, -1] < 0)
            if short.size:  # the popularity order fills what the candidates leave
                counts = popularity.score([chunk[s] for s in short], text_vectors)
                for s, count in zip(short.tolist(), counts, strict=True):
                    _fill(items[rows[s]], names[rows[s]], count, block_allowed[s])
            if on_progress is not None:
                on_progress(rows.size)
        return items, names.astype(str)

    def predict(self, features: NDArray[np.float32]) -> NDArray[np.float64]:
        """The booster's score of each candidate row (higher: ranked higher)."""
        if features.shape[0] == 0:
            return np.zeros(0)
        return np.asarray(
            self.booster.predict(features, num_threads=self.config.threads), dtype=np.float64
        )

    # ------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        write_model(
            folder,
            _KIND,
            {"sources": list(self.sources), "merge_config": asdict(self.config)},
            {"counts": self.stats.counts, "recent": self.stats.recent, "age": self.stats.age},
        )
        (folder / _BOOSTER).write_text(self.booster.model_to_string())

    @classmethod
    def load(cls, folder: str | Path) -> LearnedMerge:
        folder = Path(folder)
        config, arrays = read_model(folder, _KIND)
        path = folder / _BOOSTER
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file (the learned merge's trees)")
        booster = lgb.Booster(model_str=path.read_text())
        stats = ItemStats(arrays["counts"], arrays["recent"], arrays["age"])
        return cls(config["sources"], booster, stats, MergeConfig(**config["merge_config"]))


def gather_candidates(
    generators: Mapping[Source, Generator],
    sources: Sequence[str],
    text_vectors: NDArray[np.float32],
    histories: Sequence[History],
    allowed: NDArray[np.bool_],
    stats: ItemStats,
    config: MergeConfig,
) -> CandidateSet:
    """`build_candidates` over the sources' scores of `histories`."""
    missing = [s for s in sources if s != Source.TEXT.value and Source(s) not in generators]
    if missing:
        raise ValueError(f"the learned merge needs generators that are not given: {missing}")
    scores, minimum = source_scores(
        generators, sources, text_vectors, histories, allowed, config.session_items
    )
    return build_candidates(scores, minimum, histories, stats, text_vectors, depth=config.depth)


def source_scores(
    generators: Mapping[Source, Generator],
    sources: Sequence[str],
    text_vectors: NDArray[np.float32],
    histories: Sequence[History],
    allowed: NDArray[np.bool_],
    session_items: int,
) -> tuple[dict[str, NDArray[np.float32]], dict[str, float]]:
    """Each source's (m, n_items) scores, -inf where not allowed, and its `min_score`."""
    scores: dict[str, NDArray[np.float32]] = {}
    minimum: dict[str, float] = {}
    for name in sources:
        if name == Source.TEXT.value:
            session = session_vectors(histories, text_vectors, session_items)
            block = (session @ text_vectors.T).astype(np.float32)
            minimum[name] = 0.0
        else:
            generator = generators[Source(name)]
            block = np.array(generator.score(list(histories), text_vectors), dtype=np.float32)
            minimum[name] = float(generator.min_score)
        block[~allowed] = -np.inf
        scores[name] = block
    return scores, minimum


def _blocks(
    histories: Sequence[History],
    n_items: int,
    live: NDArray[np.bool_] | None,
    chunk_size: int,
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.bool_]]]:
    """Row blocks of histories and what each may get: live items not in its history."""
    for start in range(0, len(histories), chunk_size):
        rows = np.arange(start, min(start + chunk_size, len(histories)), dtype=np.int64)
        allowed = np.ones((rows.size, n_items), dtype=bool)
        if live is not None:
            allowed &= live[None, :]
        for row, r in enumerate(rows.tolist()):
            allowed[row, np.asarray(histories[r], dtype=np.int64)] = False
        yield rows, allowed


def _fill(
    items: NDArray[np.int64],
    names: NDArray[Any],
    counts: NDArray[np.floating],
    allowed: NDArray[np.bool_],
) -> None:
    """Fill a list's empty (-1) tail with allowed items in popularity order."""
    free = np.flatnonzero(items < 0)
    pool = np.flatnonzero(allowed & ~np.isin(np.arange(allowed.size), items[items >= 0]))
    order = pool[np.lexsort((pool, -counts[pool]))][: free.size]
    items[free[: order.size]] = order
    names[free[: order.size]] = Source.POPULARITY.value
