"""Merging generators' ranked lists under per-source quotas (pure functions).

Each source has a share of the slots. The merged list is filled by smooth weighted
round-robin: at each slot every source that still has items adds its share to its
credit, the source with the most credit (the first listed on a tie) places its next item
not yet placed and pays the total share of the sources still in play. Over K slots a
source so places ``share / sum(shares) * K`` items, give or take one, spread down the
list rather than bunched. A source that runs out drops out and the others share its
slots; when all have run out, the `floor` list (popularity) fills what is left. Each item
keeps the source that placed it; an item on several lists counts for the first source
that reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.typing import NDArray

from paretorec.retrieve.recommend.base import Source

__all__ = ["Quotas", "merge_ranked"]


@dataclass(frozen=True)
class Quotas:
    """Each source's share of the slots (non-negative; normalized by their sum)."""

    shares: Mapping[Source, float]

    def __post_init__(self) -> None:
        shares = {Source(s): float(v) for s, v in self.shares.items()}
        if any(not np.isfinite(v) or v < 0 for v in shares.values()):
            raise ValueError(f"quota shares must be finite and >= 0, got {shares}")
        if sum(shares.values()) <= 0:
            raise ValueError("at least one quota share must be positive")
        object.__setattr__(self, "shares", MappingProxyType(shares))

    @property
    def active(self) -> tuple[Source, ...]:
        """The sources with a positive share, in the order given."""
        return tuple(s for s, v in self.shares.items() if v > 0)

    def as_dict(self) -> dict[str, float]:
        return {s.value: v for s, v in self.shares.items()}


def merge_ranked(
    lists: Mapping[Source, Sequence[int] | NDArray[np.int64]],
    quotas: Quotas,
    *,
    k: int,
    floor: Sequence[int] | NDArray[np.int64] = (),
    floor_source: Source = Source.POPULARITY,
) -> tuple[list[int], list[Source]]:
    """The merged top `k` (item indices) and the source of each (see the module docstring);
    fewer than `k` only when all lists and the floor together hold fewer distinct items."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    sources = [s for s in quotas.active if s in lists]
    queues = {s: [int(i) for i in lists[s]] for s in sources}
    cursor = dict.fromkeys(sources, 0)
    credit = dict.fromkeys(sources, 0.0)
    placed: set[int] = set()
    items: list[int] = []
    origin: list[Source] = []
    live = [s for s in sources if _skip_placed(queues[s], cursor, s, placed)]
    while len(items) < k and live:
        total = sum(quotas.shares[s] for s in live)
        for s in live:
            credit[s] += quotas.shares[s]
        chosen = max(live, key=lambda s: credit[s])  # max keeps the first on ties
        credit[chosen] -= total
        item = queues[chosen][cursor[chosen]]  # live sources point at an unplaced item
        cursor[chosen] += 1
        placed.add(item)
        items.append(item)
        origin.append(chosen)
        live = [s for s in live if _skip_placed(queues[s], cursor, s, placed)]
    for item in floor:
        if len(items) >= k:
            break
        if int(item) not in placed:
            placed.add(int(item))
            items.append(int(item))
            origin.append(floor_source)
    return items, origin


def _skip_placed(
    queue: list[int], cursor: dict[Source, int], source: Source, placed: set[int]
) -> bool:
    """Move the source's cursor past placed items; whether it still has one to place."""
    while cursor[source] < len(queue) and queue[cursor[source]] in placed:
        cursor[source] += 1
    return cursor[source] < len(queue)
