"""Item-to-item co-visitation: items bought near each other in users' sequences.

Fit: for every pair of items `o` steps apart in a training sequence (1 <= o <= `window`),
the later item gains ``order_decay**(o - 1)`` on the earlier item's row ("bought next"),
and the earlier one ``backward * order_decay**(o - 1)`` on the later item's row. Each row
is then divided by its sum (each history item votes with weight one) and each column by
``count**popularity_penalty`` (0: raw co-counts; 1: lift-like).

Score: the user's items vote with recency weights ``recency_decay**age`` (age 0 for the
latest). A history item that never occurred in training (a new or held-out item, text
only) votes through its `text_neighbours` nearest trained items by text cosine, weighted
by the cosine, so a user whose only item is new still gets co-visitation candidates.
Items that never occurred in training score 0: they have no co-visits to earn.

Online (`observe`): co-visits the service sees after training (a shopper's new item and
the items before it in her history, the same window and weights) collect in a second
matrix over the live catalog, normalized the same way and added at scoring, so a new
item is recommended from its first co-views, not at the next training. Its rows vote
with every recent history item, new ones included.

Caps (`caps`, `ActorCaps`): what one shopper contributes is capped, at training and
online alike, so one click bot cannot own an item's row (see `caps.py`). Support
(`min_support`, 1 = off): a pair counts only when at least that many distinct shoppers
co-visited it, so stray clicks and single accounts add no pairs. Online, the pair's
shoppers at training (a count, kept with the model) plus the distinct shoppers `observe`
saw co-visit it (ids, at most `min_support` a pair: only whether the support is reached
matters); a shopper counted at training who co-visits the pair again online counts
again, and an anonymous observation (no `shopper`) adds weight but no support.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.retrieve.recommend._files import read_model, write_model
from paretorec.retrieve.recommend.base import (
    Generator,
    History,
    NotFittedError,
    Progress,
    Source,
    TrainingData,
    check_histories,
)
from paretorec.retrieve.recommend.caps import (
    DEFAULT_CAPS,
    ActorCaps,
    capped_sequences,
    counted_new,
    pair_support,
)

__all__ = ["CoVisitation", "co_visit_matrix"]

_KIND = "covisitation"


def co_visit_matrix(
    sequences: Sequence[History],
    n_items: int,
    *,
    window: int,
    order_decay: float,
    backward: float,
) -> sp.csr_array:
    """Raw (n_items, n_items) co-visit weights: row i, column j is what j earns from i."""
    lengths = np.array([s.size for s in sequences], dtype=np.int64)
    flat = np.concatenate(list(sequences)) if sequences else np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(lengths.size), lengths)
    rows, cols, weights = [], [], []
    for offset in range(1, window + 1):
        if flat.size <= offset:
            break
        same = owner[:-offset] == owner[offset:]
        earlier, later = flat[:-offset][same], flat[offset:][same]
        weight = order_decay ** (offset - 1)
        rows += [earlier, later]
        cols += [later, earlier]
        weights += [np.full(earlier.size, weight), np.full(later.size, backward * weight)]
    if not rows:
        return sp.csr_array((n_items, n_items), dtype=np.float64)
    row, col, data = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights)
    keep = (row != col) & (data > 0)
    matrix = sp.coo_array((data[keep], (row[keep], col[keep])), shape=(n_items, n_items))
    out = matrix.tocsr()
    out.sum_duplicates()
    return out


class CoVisitation(Generator):
    """Co-visitation candidates (see the module docstring)."""

    source: ClassVar[Source] = Source.COVISITATION
    min_score: ClassVar[float] = 0.0

    def __init__(
        self,
        *,
        window: int = 3,
        order_decay: float = 0.6,
        backward: float = 0.5,
        popularity_penalty: float = 0.2,
        recency_decay: float = 0.6,
        max_history: int = 20,
        text_neighbours: int = 5,
        caps: ActorCaps = DEFAULT_CAPS,
        min_support: int = 1,
    ) -> None:
        if window < 1 or max_history < 1 or text_neighbours < 0 or min_support < 1:
            raise ValueError(
                "window, max_history and min_support must be >= 1, text_neighbours >= 0"
            )
        for name, value in (("order_decay", order_decay), ("recency_decay", recency_decay)):
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value}")
        if backward < 0 or not 0.0 <= popularity_penalty <= 1.0:
            raise ValueError("backward must be >= 0 and popularity_penalty in [0, 1]")
        self.window = window
        self.order_decay = order_decay
        self.backward = backward
        self.popularity_penalty = popularity_penalty
        self.recency_decay = recency_decay
        self.max_history = max_history
        self.text_neighbours = text_neighbours
        self.caps = caps
        self.min_support = min_support
        # (low, high) -> distinct shoppers seen online, at most min_support of them
        self._online_shoppers: dict[tuple[int, int], set[str]] = {}
        self._support: sp.csr_array | None = None  # training support, clipped to min_support
        self._matrix: sp.csr_array | None = None
        self._counts: NDArray[np.float64] | None = None
        self._online: dict[tuple[int, int], float] = {}  # (earlier, later) -> raw weight
        self._online_counts: dict[int, float] = {}
        self._online_matrix: sp.csr_array | None = None  # normalized, rebuilt when stale

    def _config(self) -> dict[str, float | int | None]:
        return {
            **self.caps.as_config(),
            "min_support": self.min_support,
            "window": self.window,
            "order_decay": self.order_decay,
            "backward": self.backward,
            "popularity_penalty": self.popularity_penalty,
            "recency_decay": self.recency_decay,
            "max_history": self.max_history,
            "text_neighbours": self.text_neighbours,
        }

    @property
    def matrix(self) -> sp.csr_array:
        """The normalized (n_trained, n_trained) item-to-item matrix."""
        if self._matrix is None:
            raise NotFittedError("CoVisitation is not fitted: call fit first")
        return self._matrix

    def fit(self, data: TrainingData, *, on_progress: Progress = None) -> Self:
        sequences = capped_sequences(data.sequences, self.caps)
        counts = data.counts
        if self.caps.enabled:
            flat = np.concatenate(sequences) if sequences else np.zeros(0, dtype=np.int64)
            counts = np.bincount(flat, minlength=data.n_items).astype(np.float64)
        raw = co_visit_matrix(
            sequences,
            data.n_items,
            window=self.window,
            order_decay=self.order_decay,
            backward=self.backward,
        )
        if self.min_support > 1:
            support = pair_support(sequences, data.n_items, window=self.window)
            raw = sp.csr_array(raw.multiply(support >= self.min_support))
            self._support = _clipped(support, self.min_support)
        self._counts = counts.copy()
        self._matrix = self._normalized(raw, counts)
        if on_progress is not None:
            on_progress(1)
        return self

    def observe(self, before: History, new: History, shopper: str | None = None) -> None:
        """Count the co-visits of `new` items (item indices, oldest first) with each other
        and with the items `before` them in the same shopper's history (what counts under
        the caps); `shopper` (her id) counts toward each pair's support once."""
        before, new = counted_new(before, new, self.caps)
        if new.size == 0:
            return
        sequence = np.concatenate([before[-self.window :], new])
        first = sequence.size - len(new)
        for later in range(max(first, 1), sequence.size):
            for offset in range(1, min(self.window, later) + 1):
                a, b = int(sequence[later - offset]), int(sequence[later])
                if a == b:
                    continue
                weight = self.order_decay ** (offset - 1)
                if shopper is not None and self.min_support > 1:
                    self._add_supporter(a, b, shopper)
                self._online[(a, b)] = self._online.get((a, b), 0.0) + weight
                if self.backward > 0:
                    self._online[(b, a)] = self._online.get((b, a), 0.0) + self.backward * weight
        for item in np.asarray(new, dtype=np.int64).tolist():
            self._online_counts[item] = self._online_counts.get(item, 0.0) + 1.0
        self._online_matrix = None

    def _online_scores(self, histories: list[History], n_items: int) -> NDArray[np.float32] | None:
        if not self._online:
            return None
        if self._online_matrix is None or self._online_matrix.shape[0] != n_items:
            pairs = [
                (a, b, w)
                for (a, b), w in self._online.items()
                if a < n_items and b < n_items and self._supported(a, b)
            ]
            rows, cols, data = (
                (np.asarray(x) for x in zip(*pairs, strict=True)) if pairs else ([], [], [])
            )
            raw = sp.csr_array((data, (rows, cols)), shape=(n_items, n_items), dtype=np.float64)
            counts = np.zeros(n_items)
            trained = self._counts if self._counts is not None else np.zeros(0)
            counts[: min(n_items, trained.size)] = trained[:n_items]
            for item, count in self._online_counts.items():
                if item < n_items:
                    counts[item] += count
            self._online_matrix = self._normalized(raw, counts)
        rows_: list[int] = []
        cols_: list[int] = []
        data_: list[float] = []
        for user, history in enumerate(histories):
            recent = history[-self.max_history :]
            weights = self.recency_decay ** np.arange(recent.size - 1, -1, -1, dtype=np.float64)
            rows_ += [user] * recent.size
            cols_ += recent.tolist()
            data_ += weights.tolist()
        votes = sp.csr_array((data_, (rows_, cols_)), shape=(len(histories), n_items))
        out: NDArray[np.float32] = (votes @ self._online_matrix).toarray().astype(np.float32)
        return out

    def _trained_support(self, a: int, b: int) -> int:
        support = self._support
        if support is None or max(a, b) >= support.shape[0]:
            return 0
        return int(support[a, b])

    def _add_supporter(self, a: int, b: int, shopper: str) -> None:
        key = (min(a, b), max(a, b))
        seen = self._online_shoppers.setdefault(key, set())
        if shopper not in seen and self._trained_support(a, b) + len(seen) < self.min_support:
            seen.add(str(shopper))  # bounded: none kept once the support is reached

    def _supported(self, a: int, b: int) -> bool:
        """Online: distinct shoppers of the pair, at training and observed since."""
        if self.min_support <= 1:
            return True
        online = len(self._online_shoppers.get((min(a, b), max(a, b)), ()))
        return self._trained_support(a, b) + online >= self.min_support

    def _normalized(self, raw: sp.csr_array, counts: NDArray[np.float64]) -> sp.csr_array:
        row_sums = np.asarray(raw.sum(axis=1)).reshape(-1)
        inverse_rows = np.divide(1.0, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)
        column_scale = np.power(np.maximum(counts, 1.0), -self.popularity_penalty)
        matrix = sp.csr_array(sp.diags_array(inverse_rows) @ raw @ sp.diags_array(column_scale))
        matrix.sum_duplicates()
        return matrix

    def _votes(self, histories: list[History], text_vectors: NDArray[np.float32]) -> sp.csr_array:
        """(m, n_trained) weights with which each user's items vote."""
        matrix = self.matrix
        counts = self._counts if self._counts is not None else np.zeros(0)
        n_trained = matrix.shape[0]
        seen = np.flatnonzero(counts > 0)
        rows: list[NDArray[np.int64]] = []
        cols: list[NDArray[np.int64]] = []
        data: list[NDArray[np.float64]] = []
        for user, history in enumerate(histories):
            recent = history[-self.max_history :]
            if recent.size == 0:
                continue
            weights = self.recency_decay ** np.arange(recent.size - 1, -1, -1, dtype=np.float64)
            known = recent < n_trained
            known[known] = counts[recent[known]] > 0
            rows.append(np.full(int(known.sum()), user, dtype=np.int64))
            cols.append(recent[known])
            data.append(weights[known])
            if (~known).any() and self.text_neighbours > 0 and seen.size:
                mapped_cols, mapped_weights = _text_neighbours(
                    text_vectors[recent[~known]], text_vectors[seen], self.text_neighbours
                )
                mapped_weights *= weights[~known][:, None]
                rows.append(np.full(mapped_cols.size, user, dtype=np.int64))
                cols.append(seen[mapped_cols.reshape(-1)])
                data.append(mapped_weights.reshape(-1))
        if not rows:
            return sp.csr_array((len(histories), n_trained), dtype=np.float64)
        return sp.csr_array(
            (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(histories), n_trained),
        )

    def score(
        self, histories: Sequence[History], text_vectors: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        n_items = text_vectors.shape[0]
        checked = check_histories(histories, n_items)
        votes = self._votes(checked, text_vectors)
        out = np.zeros((len(checked), n_items), dtype=np.float32)
        n_trained = min(self.matrix.shape[0], n_items)
        out[:, :n_trained] = (votes @ self.matrix).toarray()[:, :n_trained]
        online = self._online_scores(checked, n_items)
        if online is not None:
            out += online
        return out

    def save(self, folder: str | Path) -> None:
        matrix = self.matrix
        counts = self._counts if self._counts is not None else np.zeros(matrix.shape[0])
        arrays = {
            "indptr": matrix.indptr.astype(np.int64),
            "indices": matrix.indices.astype(np.int64),
            "data": matrix.data.astype(np.float64),
            "counts": counts,
        }
        if self._support is not None:
            arrays["support_indptr"] = self._support.indptr.astype(np.int64)
            arrays["support_indices"] = self._support.indices.astype(np.int64)
            arrays["support_data"] = self._support.data.astype(np.float64)
        write_model(folder, _KIND, {**self._config(), "n_items": matrix.shape[0]}, arrays)

    @classmethod
    def load(cls, folder: str | Path) -> Self:
        config, arrays = read_model(folder, _KIND)
        n_items = int(config.pop("n_items"))
        config.pop("kind")
        config.pop("format")
        model = cls(
            window=int(config["window"]),
            order_decay=float(config["order_decay"]),
            backward=float(config["backward"]),
            popularity_penalty=float(config["popularity_penalty"]),
            recency_decay=float(config["recency_decay"]),
            max_history=int(config["max_history"]),
            text_neighbours=int(config["text_neighbours"]),
            caps=ActorCaps.from_config(config),
            min_support=int(config.get("min_support", 1)),
        )
        model._matrix = sp.csr_array(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n_items, n_items)
        )
        model._counts = arrays["counts"]
        if "support_data" in arrays:
            model._support = sp.csr_array(
                (arrays["support_data"], arrays["support_indices"], arrays["support_indptr"]),
                shape=(n_items, n_items),
            )
        return model


def _clipped(support: sp.csr_array, ceiling: int) -> sp.csr_array:
    """The support, each count at most `ceiling` (all that the threshold reads)."""
    out = sp.csr_array(support, dtype=np.float64, copy=True)
    out.data = np.minimum(out.data, float(ceiling))
    out.eliminate_zeros()
    return out


def _text_neighbours(
    queries: NDArray[np.float32], vectors: NDArray[np.float32], k: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Each query's `k` nearest rows of `vectors` by cosine, and the cosines (>= 0)."""
    similarity = queries @ vectors.T
    k = min(k, vectors.shape[0])
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    weights = np.clip(np.take_along_axis(similarity, top, axis=1), 0.0, None).astype(np.float64)
    return top.astype(np.int64), weights
