"""Per-actor caps: how much one shopper may contribute to the counting generators.

A click bot (one account with thousands of clicks on a few items) moves popularity and
co-visitation counts as much as thousands of shoppers. `ActorCaps` bounds one actor:

- `per_item`: one shopper counts an item at most this many times (her later repeats of
  the same item are not counted);
- `per_user`: one shopper's first `per_user` counted interactions count, the rest not.

`capped(history, caps)` keeps the interactions that count, in order. It is
prefix-consistent (``capped(a + b)`` starts with ``capped(a)``), so the same rule works
at training (on each train sequence) and online (`counted_new`: which of a shopper's new
interactions count, given what she did before), without state beyond her history. The
online rule reads the stored history, which the `Recommender` keeps to its last
`MAX_STORED_HISTORY` (500) items: keep `per_user` at or below that.

Caps stop one account; they do not stop many accounts with a few clicks each.

`pair_support(sequences, n_items, window)`: how many distinct shoppers co-visited each
pair of items (within `window` steps, either order). Co-visitation's `min_support` keeps
only pairs that at least that many shoppers made: a stray click (noise) or one bot makes
a pair of support 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from paretorec.retrieve.recommend.base import History

__all__ = [
    "DEFAULT_CAPS",
    "NO_CAPS",
    "ActorCaps",
    "capped",
    "capped_sequences",
    "counted_new",
    "pair_support",
]


@dataclass(frozen=True)
class ActorCaps:
    """Per-shopper caps on counted interactions (None: no cap)."""

    per_user: int | None = None
    per_item: int | None = None

    def __post_init__(self) -> None:
        for name, value in (("per_user", self.per_user), ("per_item", self.per_item)):
            if value is not None and (isinstance(value, bool) or value < 1):
                raise ValueError(f"ActorCaps.{name} must be None or an integer >= 1, got {value!r}")

    @property
    def enabled(self) -> bool:
        return self.per_user is not None or self.per_item is not None

    def as_config(self) -> dict[str, int | None]:
        return {"cap_per_user": self.per_user, "cap_per_item": self.per_item}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ActorCaps:
        """Read back `as_config` (a model saved before caps existed has none)."""
        user, item = config.get("cap_per_user"), config.get("cap_per_item")
        return cls(
            per_user=None if user is None else int(user),
            per_item=None if item is None else int(item),
        )


NO_CAPS = ActorCaps()
#: what the counting generators use unless told otherwise
DEFAULT_CAPS = NO_CAPS


def capped(history: History, caps: ActorCaps) -> History:
    """The interactions of `history` (oldest first) that count under `caps`."""
    items = np.asarray(history, dtype=np.int64).reshape(-1)
    if not caps.enabled or items.size == 0:
        return items
    keep = np.ones(items.size, dtype=bool)
    if caps.per_item is not None:
        # occurrence number of each interaction among the earlier ones of the same item
        order = np.argsort(items, kind="stable")
        sorted_items = items[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_items)) + 1]
        group_start = np.repeat(starts, np.diff(np.r_[starts, items.size]))
        occurrence = np.empty(items.size, dtype=np.int64)
        occurrence[order] = np.arange(items.size) - group_start
        keep &= occurrence < caps.per_item
    kept = items[keep]
    if caps.per_user is not None:
        kept = kept[: caps.per_user]
    return kept


def capped_sequences(sequences: Sequence[History], caps: ActorCaps) -> tuple[History, ...]:
    """Each training sequence capped (the identity when no cap is set)."""
    if not caps.enabled:
        return tuple(sequences)
    return tuple(capped(s, caps) for s in sequences)


def counted_new(before: History, new: History, caps: ActorCaps) -> tuple[History, History]:
    """(what counted of `before`, which of `new` count) for a shopper whose history was
    `before` when the `new` interactions arrived."""
    before = np.asarray(before, dtype=np.int64).reshape(-1)
    new = np.asarray(new, dtype=np.int64).reshape(-1)
    if not caps.enabled:
        return before, new
    counted_before = capped(before, caps)
    everything = capped(np.concatenate([before, new]), caps)
    return counted_before, everything[counted_before.size :]


def pair_support(sequences: Sequence[History], n_items: int, *, window: int) -> sp.csr_array:
    """Symmetric (n_items, n_items) count of distinct shoppers (sequences) in which items
    i and j stand within `window` steps of each other (i != j)."""
    lengths = np.array([len(q) for q in sequences], dtype=np.int64)
    if lengths.sum() == 0:
        return sp.csr_array((n_items, n_items), dtype=np.float64)
    flat = np.concatenate([np.asarray(q, dtype=np.int64) for q in sequences])
    owner = np.repeat(np.arange(lengths.size), lengths)
    users, lows, highs = [], [], []
    for offset in range(1, window + 1):
        if flat.size <= offset:
            break
        same = (owner[:-offset] == owner[offset:]) & (flat[:-offset] != flat[offset:])
        a, b = flat[:-offset][same], flat[offset:][same]
        users.append(owner[:-offset][same])
        lows.append(np.minimum(a, b))
        highs.append(np.maximum(a, b))
    user, low, high = np.concatenate(users), np.concatenate(lows), np.concatenate(highs)
    order = np.lexsort((high, low, user))
    user, low, high = user[order], low[order], high[order]
    first = np.r_[True, (np.diff(user) != 0) | (np.diff(low) != 0) | (np.diff(high) != 0)]
    low, high = low[first], high[first]
    upper = sp.coo_array((np.ones(low.size), (low, high)), shape=(n_items, n_items)).tocsr()
    upper.sum_duplicates()
    return sp.csr_array(upper + upper.T)
