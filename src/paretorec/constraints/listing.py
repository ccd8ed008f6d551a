"""One list under every constraint, the same way online and offline.

`constrained_list` is what the service does to a model's order after scoring and what
offline evaluation (`paretorec pareto --rules`) does to each weighting's order, so the
figures offline are the lists the service would show:

0. the relevance floor (when the shop set one) puts every candidate that passes it
   before every one below it (`paretorec.constraints.floor`);
1. FA*IR (when the shop configured it) re-ranks the top k of the order so every prefix
   holds its minimum of protected items; the rest of the order follows unchanged;
2. `arrange` applies the caps and pins (hard rules win: a cap or pin that moves a
   protected item can undo FA*IR's minimum, never the other way round).

Blocked and hidden items are removed before (`RuleSet.allowed`), as the service removes
them from the candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from paretorec.constraints.exposure import ExposureController
from paretorec.constraints.fair_topk import FAIR_TOPK, FairTopK
from paretorec.constraints.floor import RELEVANCE_FLOOR, apply_floor
from paretorec.constraints.rules import Arranged, Pin, RuleSet, arrange

if TYPE_CHECKING:
    from paretorec.constraints.config import ExposureSpec

__all__ = ["ListConstraints", "constrain_orders", "constrained_list", "list_arranger"]

IntArray = NDArray[np.int64]
Arranger = Callable[[int, NDArray[np.float64], int], IntArray]


@dataclass(frozen=True)
class ListConstraints:
    """The shop's rules and, optionally, its FA*IR setting and relevance floor."""

    rules: RuleSet
    fair: FairTopK | None = None
    relevance_floor: float | None = None

    @property
    def fields(self) -> frozenset[str]:
        """The item fields the list constraints read (capped fields, FA*IR's field)."""
        names = {cap.field for cap in self.rules.caps}
        if self.fair is not None:
            names.add(self.fair.field)
        return frozenset(names)

    @property
    def empty(self) -> bool:
        return self.rules.empty and self.fair is None and self.relevance_floor is None


def constrained_list(
    order: Sequence[int],
    values: Mapping[str, Sequence[object]],
    k: int,
    constraints: ListConstraints,
    pins: Mapping[int, Pin],
    relevance: Sequence[float] | None = None,
) -> Arranged:
    """The final top-`k` of `order` (allowed candidate indices, best first) under the
    relevance floor, FA*IR, caps and pins; `values[field][i]` is candidate i's value of
    each field in `constraints.fields`, `relevance[i]` its query relevance (needed with a
    floor). Each item names the rules that moved it."""
    demoted: frozenset[int] = frozenset()
    shown_before = set(list(order)[:k])
    passing, below = list(order), []
    if constraints.relevance_floor is not None:
        if relevance is None:
            raise ValueError("the relevance floor needs each candidate's relevance")
        floored = apply_floor(order, relevance, constraints.relevance_floor)
        demoted = floored.demoted
        passing = [i for i in floored.order if relevance[i] >= constraints.relevance_floor]
        below = list(floored.order[len(passing) :])
    promoted: frozenset[int] = frozenset()
    fair = constraints.fair
    if fair is not None and passing:
        # FA*IR among the items that pass the floor only: it cannot lift an off-topic
        # item over a relevant one (caps and pins, applied after, still can)
        ranked = fair.rerank(passing, values[fair.field], min(k, len(passing)))
        head = set(ranked.order)
        passing = [*ranked.order, *(i for i in passing if i not in head)]
        promoted = ranked.promoted
    order = [*passing, *below]
    arranged = arrange(order, values, k, constraints.rules.caps, pins)
    if not promoted and not demoted:
        return arranged
    moved = tuple(
        ((RELEVANCE_FLOOR,) if index in demoted else ())
        + ((FAIR_TOPK,) if index in promoted else ())
        + names
        for index, names in zip(arranged.order, arranged.moved_by, strict=True)
    )
    # one action per item the floor moved from the model's top k (down in it, or out)
    acted = len(demoted & shown_before)
    floor_hits = ((RELEVANCE_FLOOR, acted),) if acted else ()
    return Arranged(arranged.order, moved, (*arranged.displaced, *floor_hits))


def list_arranger(
    constraints: ListConstraints,
    candidates: Sequence[Sequence[Mapping[str, object]]],
    queries: Sequence[str | None],
    *,
    exposure: ExposureSpec | None = None,
    merit: Sequence[NDArray[np.float64]] | None = None,
) -> Arranger:
    """For offline evaluation: `arranger(i, scores, k)` is request i's list, as the
    service would build it from `scores` over its candidates (`candidates[i]`, their
    catalog records; `queries[i]`, its query text for pins): blocked and hidden items
    left out, the rest ordered by score (ties: the lower index), then `constrained_list`.
    A pin applies where its item is among the request's candidates.

    With a relevance floor, `merit` (the candidates' relevance, in [0, 1]) is what the
    floor reads.

    With `exposure`, the requests are a stream as the service sees them: a controller
    (fresh at request 0, so each weighting's pass starts from zero) adds its bonus to the
    scores and counts each list against the candidates' `merit` (their relevance)."""
    if len(candidates) != len(queries):
        raise ValueError(f"{len(candidates)} candidate lists for {len(queries)} queries")
    rules = constraints.rules
    allowed = [np.array([rules.allowed(r) for r in records], dtype=bool) for records in candidates]
    values = [
        {name: [r.get(name) for r in records] for name in constraints.fields}
        for records in candidates
    ]
    pins: list[dict[int, Pin]] = []
    for records, query in zip(candidates, queries, strict=True):
        wanted = {pin.item_id: pin for pin in rules.pins_for(query)}
        pins.append(
            {n: wanted[str(r["item_id"])] for n, r in enumerate(records)
             if str(r.get("item_id")) in wanted and rules.allowed(r)}
        )  # fmt: skip

    if exposure is not None and (merit is None or len(merit) != len(candidates)):
        raise ValueError("the exposure controller needs each request's candidates' merit")
    if constraints.relevance_floor is not None and (merit is None or len(merit) != len(candidates)):
        raise ValueError("the relevance floor needs each request's candidates' relevance")
    groups = (
        []
        if exposure is None
        else [[r.get(exposure.field) for r in records] for records in candidates]
    )
    state: list[ExposureController] = []

    def arranger(i: int, scores: NDArray[np.float64], k: int) -> IntArray:
        scores = np.asarray(scores, dtype=np.float64)
        if exposure is not None:
            if i == 0 or not state:
                state[:] = [exposure.controller()]
            shown = np.flatnonzero(allowed[i])
            bonus = np.zeros_like(scores)
            if shown.size:
                bonus[shown] = state[0].bonus([groups[i][j] for j in shown], scores[shown])
            scores = scores + bonus
        order = np.argsort(-scores, kind="stable")
        order = order[allowed[i][order]]
        relevance = None if merit is None else merit[i].tolist()
        out = constrained_list(order.tolist(), values[i], k, constraints, pins[i], relevance)
        if exposure is not None and merit is not None:
            shown = np.flatnonzero(allowed[i])
            state[0].record(
                [groups[i][j] for j in shown],
                np.asarray(merit[i], dtype=np.float64)[shown],
                [groups[i][j] for j in out.order],
            )
        return np.asarray(out.order, dtype=np.int64)

    return arranger


def constrain_orders(
    orders: IntArray,
    candidates: Sequence[Sequence[Mapping[str, object]]],
    k: int,
    constraints: ListConstraints,
) -> IntArray:
    """Each row of `orders` (a model's full order of its session's candidates, best
    first) as the list of `k` the rules allow (see `list_arranger`; pins without queries
    only). ValueError where the rules leave a session fewer than `k` items."""
    orders = np.asarray(orders, dtype=np.int64)
    arranger = list_arranger(constraints, candidates, [None] * len(candidates))
    out = np.empty((orders.shape[0], k), dtype=np.int64)
    width = orders.shape[1]
    for row, order in enumerate(orders):
        scores = np.zeros(width)
        scores[order] = width - np.arange(order.size)  # the model's order as scores
        listed = arranger(row, scores, k)
        if listed.size < k:
            raise ValueError(
                f"the rules leave session {row} {listed.size} of the {k} items a list needs"
            )
        out[row] = listed
    return out
