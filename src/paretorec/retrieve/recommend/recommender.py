"""`Recommender`: the generators merged under quotas, over a live item table.

```python
recommender = Recommender.fit(
    item_ids, text_vectors, train_sequences, user_ids=user_ids,
    generators=[Popularity(), CoVisitation(), TwoTower(), Sequential()],
    quotas=Quotas({Source.SEQUENTIAL: 0.5, Source.COVISITATION: 0.3, Source.TWO_TOWER: 0.2}),
)
recommender.recommend(user_id="u1", k=10)                 # her stored history
recommender.recommend(session=["i7", "i9"], k=10, exclude=["i3"])
recommender.add_items(["new"], new_text_vectors)          # recommendable at once, no retraining
recommender.remove_items(["old"])                         # never recommended again
recommender.save(folder); Recommender.load(folder)
```

What a request gets:

- a history: the user's stored training history (none for an unknown user) followed by
  the session's items; ids not in the catalog (or removed) are left out and listed in
  `Recommendations.ignored`, never an error;
- with no usable history (a new user, an unknown user, an empty session): the
  popular-and-diverse list (`Popularity.popular_diverse`), source ``popularity``;
- otherwise each generator with a quota ranks the live items (excluding `exclude`, and
  the history itself unless `exclude_history=False`), the lists are merged by
  `merge_ranked` and popularity fills any slot left. Two-tower candidates come from a
  `DenseIndex` of the item tower's vectors (the index search uses).

Scores are ``1 / rank`` in the merged list (the generators' own scores are not
comparable). `rank_many` does the same for many histories at once, for evaluation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.evaluate.topk import top_k_scores
from paretorec.retrieve.dense import DenseIndex, DenseMethod
from paretorec.retrieve.recommend._files import read_model, write_model
from paretorec.retrieve.recommend._neural import ValidationSet
from paretorec.retrieve.recommend.base import (
    Generator,
    History,
    Progress,
    Recommendations,
    Source,
    TrainingData,
)
from paretorec.retrieve.recommend.covisitation import CoVisitation
from paretorec.retrieve.recommend.interactions import as_matrix
from paretorec.retrieve.recommend.learned_merge import LearnedMerge
from paretorec.retrieve.recommend.merge import Quotas, merge_ranked
from paretorec.retrieve.recommend.popularity import Popularity
from paretorec.retrieve.recommend.sequential import Sequential
from paretorec.retrieve.recommend.two_tower import TwoTower
from paretorec.types import Catalog

__all__ = ["DEFAULT_QUOTAS", "GENERATOR_TYPES", "Recommender", "UnknownItemsError"]

_KIND = "recommender"
_LEARNED = "learned-merge"  # the learned merge's sub-folder
DEFAULT_QUOTAS = Quotas({Source.SEQUENTIAL: 0.5, Source.COVISITATION: 0.25, Source.TWO_TOWER: 0.25})
GENERATOR_TYPES: Mapping[Source, type[Generator]] = {
    Source.POPULARITY: Popularity,
    Source.COVISITATION: CoVisitation,
    Source.TWO_TOWER: TwoTower,
    Source.SEQUENTIAL: Sequential,
}


MAX_STORED_HISTORY = 500  # a shopper's most recent items kept for her recommendations


class UnknownItemsError(KeyError):
    """Items named in a catalog change that the recommender does not hold."""


class Recommender:
    """Merged candidate generation over a live item table (see the module docstring)."""

    def __init__(
        self,
        item_ids: Sequence[str],
        text_vectors: NDArray[np.float32],
        generators: Mapping[Source, Generator],
        *,
        quotas: Quotas = DEFAULT_QUOTAS,
        user_ids: Sequence[str] = (),
        user_histories: Sequence[History] = (),
        learned: LearnedMerge | None = None,
    ) -> None:
        if Source.POPULARITY not in generators:
            raise ValueError("a recommender needs the popularity generator (its floor)")
        missing = [s.value for s in quotas.active if s not in generators]
        if missing:
            raise ValueError(f"quotas name generators that are not given: {', '.join(missing)}")
        if len(user_ids) != len(user_histories):
            raise ValueError("user_ids and user_histories must have one length")
        self._ids = [str(i) for i in item_ids]
        self._position = {item: row for row, item in enumerate(self._ids)}
        if len(self._position) != len(self._ids):
            raise ValueError("item_ids holds an id twice")
        vectors = np.ascontiguousarray(text_vectors, dtype=np.float32)
        if vectors.shape[0] != len(self._ids):
            raise ValueError(f"{vectors.shape[0]} text vectors for {len(self._ids)} items")
        self._vectors = vectors
        self._live = np.ones(len(self._ids), dtype=bool)
        self.generators = dict(generators)
        self.quotas = quotas
        self.learned = learned
        """When set, the learned merge ranks every non-empty history (`learned_merge`);
        the quotas stay for `rank_many(..., quotas=...)` and as the fallback."""
        self._users = {str(u): row for row, u in enumerate(user_ids)}
        self._histories = [np.asarray(h, dtype=np.int64) for h in user_histories]
        self._index: DenseIndex | None = None
        if Source.TWO_TOWER in self.generators:
            self._index = self._build_index()

    # ------------------------------------------------------------ building

    @classmethod
    def fit(
        cls,
        item_ids: Sequence[str],
        text_vectors: NDArray[np.float32],
        train: Sequence[History],
        *,
        generators: Iterable[Generator],
        quotas: Quotas = DEFAULT_QUOTAS,
        user_ids: Sequence[str] = (),
        user_histories: Sequence[History] | None = None,
        validation: ValidationSet | None = None,
        on_progress: Callable[[Generator, TrainingData], Progress] | None = None,
        on_epoch: Callable[[Source, int, float], None] | None = None,
    ) -> Recommender:
        """Fit each generator on `train` (sequences of item indices). `user_ids` name the
        users whose histories are stored for `recommend(user_id=...)`: `user_histories`,
        or `train` when not given. The neural generators stop early on `validation`.
        `on_progress(generator, data)` gives each generator's progress callback;
        `on_epoch(source, epoch, recall)` hears each neural epoch's validation recall."""
        data = TrainingData(text_vectors, tuple(train))
        fitted: dict[Source, Generator] = {}
        for generator in generators:
            progress = on_progress(generator, data) if on_progress is not None else None
            if isinstance(generator, TwoTower | Sequential):
                hook = None
                if on_epoch is not None:
                    hook = functools.partial(on_epoch, generator.source)
                generator.fit(data, on_progress=progress, validation=validation, on_epoch=hook)
            else:
                generator.fit(data, on_progress=progress)
            fitted[generator.source] = generator
        stored = list(user_histories) if user_histories is not None else list(train)
        return cls(
            item_ids,
            data.text_vectors,
            fitted,
            quotas=quotas,
            user_ids=user_ids,
            user_histories=stored if user_ids else (),
        )

    def _build_index(self) -> DenseIndex:
        tower = self.generators[Source.TWO_TOWER]
        assert isinstance(tower, TwoTower)
        catalog = Catalog(pl.DataFrame({"item_id": self._ids, "title": [""] * len(self._ids)}))
        index = DenseIndex.build(
            tower.item_vectors(self._vectors), catalog, method=DenseMethod.EXACT
        )
        removed = [self._ids[i] for i in np.flatnonzero(~self._live)]
        if removed:
            index.remove_items(removed)
        return index

    # ------------------------------------------------------------ the live catalog

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(self._ids)

    @property
    def n_items(self) -> int:
        return len(self._ids)

    @property
    def text_vectors(self) -> NDArray[np.float32]:
        return self._vectors

    @property
    def live(self) -> NDArray[np.bool_]:
        """Which rows of the item table may be recommended (not removed)."""
        return self._live.copy()

    def __contains__(self, item_id: object) -> bool:
        row = self._position.get(str(item_id))
        return row is not None and bool(self._live[row])

    def add_items(self, item_ids: Sequence[str], text_vectors: NDArray[np.float32]) -> None:
        """Add items by their text vectors: recommendable at once, without retraining."""
        ids = [str(i) for i in item_ids]
        vectors = np.ascontiguousarray(text_vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape != (len(ids), self._vectors.shape[1]):
            raise ValueError(
                f"text_vectors must have shape ({len(ids)}, {self._vectors.shape[1]}), "
                f"got {vectors.shape}"
            )
        if not np.isfinite(vectors).all():
            raise ValueError("text_vectors hold a non-finite value")
        known = [i for i in ids if i in self._position]
        if known or len(set(ids)) != len(ids):
            raise ValueError(f"item {(known or ids)[0]!r} is already in the catalog or repeated")
        start = len(self._ids)
        self._ids.extend(ids)
        self._position.update({item: start + n for n, item in enumerate(ids)})
        self._vectors = np.concatenate([self._vectors, vectors])
        self._live = np.concatenate([self._live, np.ones(len(ids), dtype=bool)])
        if self._index is not None and ids:
            tower = self.generators[Source.TWO_TOWER]
            assert isinstance(tower, TwoTower)
            catalog = Catalog(pl.DataFrame({"item_id": ids, "title": [""] * len(ids)}))
            self._index.add_items(catalog, tower.item_vectors(self._vectors)[start:])

    def remove_items(self, item_ids: Iterable[str]) -> None:
        """Never recommend these items again (they still count in stored histories)."""
        ids = [str(i) for i in item_ids]
        missing = [i for i in ids if i not in self]
        if missing:
            raise UnknownItemsError(f"not in the catalog: {', '.join(map(repr, missing[:5]))}")
        self._live[[self._position[i] for i in ids]] = False
        if self._index is not None and ids:
            self._index.remove_items(ids)

    def observe(self, user_id: str, item_ids: Sequence[str]) -> int:
        """A shopper's new interactions (oldest first), as the service sees them: they join
        her stored history and update the popularity and co-visitation counts at once
        (items not in the catalog are skipped); how many were counted."""
        rows, _ = self._resolve([str(i) for i in item_ids])
        if rows.size == 0:
            return 0
        user = str(user_id)
        row = self._users.get(user)
        if row is None:
            row = len(self._histories)
            self._users[user] = row
            self._histories.append(np.zeros(0, dtype=np.int64))
        before = self._histories[row]
        for generator in self.generators.values():
            generator.observe(before, rows, shopper=user)
        self._histories[row] = np.concatenate([before, rows])[-MAX_STORED_HISTORY:]
        return int(rows.size)

    # ------------------------------------------------------------ one request

    def history_of(self, user_id: str) -> tuple[str, ...]:
        """The stored history of a user (empty for an unknown user)."""
        row = self._users.get(str(user_id))
        if row is None:
            return ()
        return tuple(self._ids[i] for i in self._histories[row].tolist())

    def knows_user(self, user_id: str) -> bool:
        return str(user_id) in self._users

    def recommend(
        self,
        *,
        user_id: str | None = None,
        session: Sequence[str] = (),
        k: int = 10,
        exclude: Iterable[str] = (),
        exclude_history: bool = True,
    ) -> Recommendations:
        """The top `k` for a user and/or a session (see the module docstring)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if isinstance(session, str):
            raise TypeError("session must be a list of item ids, not one string")
        stored = (
            self._histories[self._users[str(user_id)]] if self.knows_user(str(user_id)) else None
        )
        known, ignored = self._resolve([str(i) for i in session])
        history = np.concatenate([stored, known]) if stored is not None else known
        allowed = self._live.copy()
        excluded_known, _ = self._resolve([str(i) for i in exclude])
        allowed[excluded_known] = False
        if exclude_history:
            allowed[history] = False
        if history.size == 0:
            popularity = self.generators[Source.POPULARITY]
            assert isinstance(popularity, Popularity)
            rows = popularity.popular_diverse(k, self._vectors, allowed).tolist()
            sources = [Source.POPULARITY] * len(rows)
        elif self.learned is not None:
            found, names = self.learned.rank(
                self.generators, self._vectors, [history], k=k, allowed=allowed[None, :]
            )
            keep = found[0] >= 0
            rows = found[0][keep].tolist()
            sources = [Source(n) for n in names[0][keep]]
        else:
            lists = {s: self._candidates(s, history, allowed, k) for s in self.quotas.active}
            floor = self._candidates(Source.POPULARITY, history, allowed, k)
            rows, sources = merge_ranked(lists, self.quotas, k=k, floor=floor)
        return Recommendations(
            item_ids=tuple(self._ids[i] for i in rows),
            indices=np.asarray(rows, dtype=np.int64),
            scores=1.0 / np.arange(1, len(rows) + 1, dtype=np.float64),
            sources=tuple(sources),
            ignored=tuple(ignored),
            cold_start=history.size == 0,
        )

    def _resolve(self, ids: list[str]) -> tuple[History, list[str]]:
        rows, ignored = [], []
        for item in ids:
            row = self._position.get(item)
            if row is None or not self._live[row]:
                ignored.append(item)
            else:
                rows.append(row)
        return np.asarray(rows, dtype=np.int64), ignored

    def _candidates(
        self, source: Source, history: History, allowed: NDArray[np.bool_], k: int
    ) -> NDArray[np.int64]:
        generator = self.generators[source]
        if source is Source.TWO_TOWER and self._index is not None:
            assert isinstance(generator, TwoTower)
            user = generator.user_vectors([history], self._vectors)[0]
            if not np.any(user):
                return np.zeros(0, dtype=np.int64)
            hits = self._index.search(user, k=k + int((~allowed).sum()))
            rows = np.array([self._position[i] for i in hits.item_ids], dtype=np.int64)
            return rows[allowed[rows]][:k]
        scores = generator.score([history], self._vectors)[0].astype(np.float64)
        scores[~allowed] = -np.inf
        usable = np.flatnonzero(scores > generator.min_score)
        order = np.lexsort((usable, -scores[usable]))
        return usable[order[:k]].astype(np.int64)

    # ------------------------------------------------------------ many histories

    def rank(
        self,
        source: Source,
        histories: Sequence[History],
        *,
        k: int,
        chunk_size: int = 1024,
        on_progress: Progress = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
        """Each history's top `k` live items by one generator, history excluded, over the
        full catalog: (items (m, k), usable (m, k): above the generator's `min_score`)."""
        generator = self.generators[source]
        exclude = as_matrix(list(histories), self.n_items)
        dead = np.flatnonzero(~self._live)

        def scores(users: NDArray[np.int64]) -> NDArray[np.float32]:
            block = generator.score([histories[u] for u in users.tolist()], self._vectors)
            block[:, dead] = -np.inf
            return block

        top = top_k_scores(
            scores,
            n_users=len(histories),
            n_items=self.n_items,
            k=k,
            exclude=exclude,
            chunk_size=chunk_size,
            on_progress=on_progress,
        )
        return top.items, top.scores > generator.min_score

    def rank_many(
        self,
        histories: Sequence[History],
        *,
        k: int,
        ranked: Mapping[Source, tuple[NDArray[np.int64], NDArray[np.bool_]]] | None = None,
        quotas: Quotas | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.str_]]:
        """The merged top `k` of each non-empty history (items (m, k) and sources): by the
        learned merge when the recommender has one and no `quotas` are given, else under
        the quotas; `ranked` reuses lists from `rank` (their k at least this k)."""
        if quotas is None and self.learned is not None:
            return self.learned.rank(
                self.generators, self._vectors, list(histories), k=k, live=self._live
            )
        quotas = quotas or self.quotas
        needed = (*quotas.active, Source.POPULARITY)
        lists = dict(ranked or {})
        for source in needed:
            if source not in lists:
                lists[source] = self.rank(source, histories, k=k)
        items = np.zeros((len(histories), k), dtype=np.int64)
        sources = np.empty((len(histories), k), dtype=object)
        for row in range(len(histories)):
            per_source = {s: lists[s][0][row][lists[s][1][row]] for s in quotas.active}
            floor = lists[Source.POPULARITY][0][row]
            merged, origin = merge_ranked(per_source, quotas, k=k, floor=floor)
            items[row] = merged
            sources[row] = [s.value for s in origin]
        return items, sources.astype(str)

    # ------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        """Write the recommender: its item table, stored histories, quotas, and each
        generator in a sub-folder named after its source."""
        folder = Path(folder)
        lengths = np.array([h.size for h in self._histories], dtype=np.int64)
        flat = np.concatenate(self._histories) if self._histories else np.zeros(0, np.int64)
        write_model(
            folder,
            _KIND,
            {
                "quotas": self.quotas.as_dict(),
                "generators": [s.value for s in self.generators],
                "merge": "learned" if self.learned is not None else "quotas",
            },
            {
                "text_vectors": self._vectors,
                "live": self._live.astype(np.uint8),
                "history_lengths": lengths,
                "history_items": flat.astype(np.int64),
            },
        )
        (folder / "ids.json").write_text(
            json.dumps({"items": self._ids, "users": list(self._users)}) + "\n"
        )
        for source, generator in self.generators.items():
            generator.save(folder / source.value)
        if self.learned is not None:
            self.learned.save(folder / _LEARNED)

    @classmethod
    def load(cls, folder: str | Path) -> Recommender:
        folder = Path(folder)
        config, arrays = read_model(folder, _KIND)
        ids: dict[str, Any] = json.loads((folder / "ids.json").read_text())
        generators = {
            Source(name): GENERATOR_TYPES[Source(name)].load(folder / name)
            for name in config["generators"]
        }
        lengths = arrays["history_lengths"]
        histories = (
            np.split(arrays["history_items"], np.cumsum(lengths)[:-1]) if lengths.size else []
        )
        out = cls(
            ids["items"],
            arrays["text_vectors"],
            generators,
            quotas=Quotas({Source(s): float(v) for s, v in config["quotas"].items()}),
            user_ids=ids["users"],
            user_histories=histories,
            learned=LearnedMerge.load(folder / _LEARNED)
            if config.get("merge") == "learned"
            else None,
        )
        out._live = arrays["live"].astype(bool)
        if out._index is not None and not out._live.all():
            out._index = out._build_index()
        return out
