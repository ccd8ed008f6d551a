"""One list under every constraint, the same way online and offline.

`constrained_list` is what the service does to a model's order after scoring and what
offline evaluation (`paretorec pareto --rules`) does to each weighting's order, so the
figures offline are the lists the service would show:

1. FA*IR (when the shop configured it) re-ranks the top k of the order so every prefix
   holds its minimum of protected items; the rest of the order follows unchanged;
2. `arrange` applies the caps and pins (hard rules win: a cap or pin that moves a
   protected item can undo FA*IR's minimum, never the other way round).

Blocked and hidden items are removed before (`RuleSet.allowed`), as the service removes
them from the candidates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from paretorec.constraints.fair_topk import FAIR_TOPK, FairTopK
from paretorec.constraints.rules import Arranged, Pin, RuleSet, arrange

__all__ = ["ListConstraints", "constrained_list"]


@dataclass(frozen=True)
class ListConstraints:
    """The shop's rules and, optionally, its FA*IR setting."""

    rules: RuleSet
    fair: FairTopK | None = None

    @property
    def fields(self) -> frozenset[str]:
        """The item fields the list constraints read (capped fields, FA*IR's field)."""
        names = {cap.field for cap in self.rules.caps}
        if self.fair is not None:
            names.add(self.fair.field)
        return frozenset(names)

    @property
    def empty(self) -> bool:
        return self.rules.empty and self.fair is None


def constrained_list(
    order: Sequence[int],
    values: Mapping[str, Sequence[object]],
    k: int,
    constraints: ListConstraints,
    pins: Mapping[int, Pin],
) -> Arranged:
    """The final top-`k` of `order` (allowed candidate indices, best first) under FA*IR,
    caps and pins; `values[field][i]` is candidate i's value of each field in
    `constraints.fields`. Each item names the rules that moved it."""
    promoted: frozenset[int] = frozenset()
    fair = constraints.fair
    if fair is not None and order:
        ranked = fair.rerank(order, values[fair.field], k)
        head = set(ranked.order)
        order = [*ranked.order, *(i for i in order if i not in head)]
        promoted = ranked.promoted
    arranged = arrange(order, values, k, constraints.rules.caps, pins)
    if not promoted:
        return arranged
    moved = tuple(
        ((FAIR_TOPK,) if index in promoted else ()) + names
        for index, names in zip(arranged.order, arranged.moved_by, strict=True)
    )
    return Arranged(arranged.order, moved)
