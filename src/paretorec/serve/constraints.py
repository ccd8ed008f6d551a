"""The shop's rules and exposure fairness, as the service keeps them on every list.

`paretorec serve --rules rules.json` reads a `paretorec.constraints.RuleSet` (blocked
items, hidden out-of-stock items, caps, pins) plus, optionally, an ``"exposure"`` object
for the exposure controller or a ``"fair_topk"`` object for FA*IR's prefix guarantee
(`paretorec.constraints.config`):

    {"block": {"brands": ["Acme"]}, "hide_out_of_stock": true,
     "caps": [{"name": "two per seller", "field": "seller_id", "most": 2, "within": 10}],
     "pins": [{"name": "promo", "item_id": "sku-7", "position": 1, "queries": ["hose"]}],
     "exposure": {"field": "seller_id", "strength": 1.0, "integral": 0.1, "half_life": 100000}}

Blocked and hidden items are removed from the candidates before anything scores them,
and pinned items join the candidates of the requests they pin for; the model then orders
every candidate, the exposure controller adds its bonus (the ``fairness`` contribution),
and `constrained_list` (the relevance floor, FA*IR, then caps and pins) builds the list
the rules allow, each item naming the rules that moved it. ``"relevance_floor": 0.3``
keeps every search candidate whose relevance (the ranker's relevance prediction, else
the retrieval score as a share of the best) is below 0.3 under every one that passes.
``GET /fairness`` reports each group's merit and exposure shares, the disparate exposure
ratio and how often each rule acted; ``POST /admin/rules`` re-reads the file.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter

from paretorec.constraints import (
    ExposureController,
    FairTopK,
    ListConstraints,
    RuleError,
    RuleSet,
    ShopConstraints,
    constrained_list,
    shop_constraints,
)
from paretorec.stages import CandidateSet, Ranking

__all__ = [
    "BLOCKED",
    "ServingConstraints",
    "constrained_ranking",
    "constraints_router",
    "read_constraints",
    "read_shop_constraints",
]

BLOCKED = "blocked or hidden"
FAIRNESS = "fairness"


@dataclass
class ServingConstraints:
    rules: RuleSet
    exposure: ExposureController | None = None
    source: Path | None = None
    fair: FairTopK | None = None
    relevance_floor: float | None = None
    hits: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def active(self) -> bool:
        return (
            not self.rules.empty
            or self.exposure is not None
            or self.fair is not None
            or self.relevance_floor is not None
        )

    def count(self, names: Sequence[str], times: int = 1) -> None:
        with self._lock:
            for name in names:
                self.hits[name] += times


def read_shop_constraints(path: Path) -> ShopConstraints:
    """The rules file at `path`, as written; RuleError names what is wrong."""
    try:
        raw = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise RuleError(f"{path}: {error}") from None
    try:
        return shop_constraints(raw)
    except RuleError as error:
        raise RuleError(f"{path}: {error}") from None


def read_constraints(path: Path) -> ServingConstraints:
    """The rules file at `path`, ready to serve (a fresh exposure controller)."""
    shop = read_shop_constraints(path)
    exposure = None if shop.exposure is None else shop.exposure.controller()
    return ServingConstraints(shop.rules, exposure, Path(path), shop.fair, shop.relevance_floor)


def constrained_ranking(
    base: Ranking,
    candidates: CandidateSet,
    column: Any,
    constraints: ServingConstraints,
    query: str | None,
    k: int,
    relevance: Sequence[float] | None = None,
) -> Ranking:
    """The list the rules allow from `base`, the model's order of every candidate, after
    the exposure bonus; `column(name)` gives the store's column by row, `relevance[i]`
    candidate i's query relevance (the floor reads it; searches only)."""
    rows = candidates.rows.tolist()
    order = np.asarray(base.order, dtype=np.int64)
    scores = np.asarray(base.scores, dtype=np.float64)
    contributions = {
        name: np.asarray(v, dtype=np.float64) for name, v in base.contributions.items()
    }
    exposure = constraints.exposure
    if exposure is not None and order.size:
        values = column(exposure.field)
        bonus = exposure.bonus([values[rows[i]] for i in order.tolist()], scores)
        moved = np.argsort(-(scores + bonus), kind="stable")
        order, scores = order[moved], (scores + bonus)[moved]
        contributions = {name: v[moved] for name, v in contributions.items()}
        contributions[FAIRNESS] = bonus[moved]
    rules = constraints.rules
    floor = constraints.relevance_floor if relevance is not None else None
    lists = ListConstraints(rules, constraints.fair, floor)
    by_candidate: dict[str, list[object]] = {}
    for name in lists.fields:
        values = column(name)
        by_candidate[name] = [values[r] for r in rows]
    position_of = {pin.item_id: pin for pin in rules.pins_for(query)}
    pins = {
        i: position_of[item] for i, item in enumerate(candidates.item_ids) if item in position_of
    }
    arranged = constrained_list(order.tolist(), by_candidate, k, lists, pins, relevance)
    where = {index: n for n, index in enumerate(order.tolist())}
    keep = np.asarray([where[i] for i in arranged.order], dtype=np.int64)
    constraints.count(arranged.hits())
    return Ranking(
        order[keep] if keep.size else np.zeros(0, dtype=np.int64),
        scores[keep] if keep.size else np.zeros(0),
        {name: v[keep] if keep.size else np.zeros(0) for name, v in contributions.items()},
        moved_by=arranged.moved_by,
    )


def constraints_router(pipeline: Any, *, admin: Any) -> APIRouter:
    """``GET /fairness`` and ``POST /admin/rules`` around `pipeline` (a ServingPipeline)."""
    from paretorec.serve.pipeline import RequestError  # the pipeline imports this module

    router = APIRouter()

    @router.get("/fairness", tags=["operations"])
    def fairness() -> dict[str, Any]:
        """Exposure by group against merit since the start, and how often each rule acted."""
        constraints: ServingConstraints | None = pipeline.constraints
        if constraints is None:
            return {"rules": None, "exposure": None, "rule_hits": {}}
        exposure = constraints.exposure
        report = None
        if exposure is not None:
            ratio = exposure.disparate_exposure()
            report = {
                "field": exposure.field,
                "disparate_exposure": ratio if np.isfinite(ratio) else None,
                "total_variation": exposure.total_variation(),
                "groups": [
                    {"group": g.group, "merit_share": g.merit_share,
                     "exposure_share": g.exposure_share}
                    for g in exposure.report()
                ],
            }  # fmt: skip
        fair = constraints.fair
        return {
            "rules": None if constraints.source is None else str(constraints.source),
            "exposure": report,
            "fair_topk": None
            if fair is None
            else {
                "field": fair.field,
                "protected": sorted(fair.protected),
                "p": fair.p,
                "alpha": fair.alpha,
                "adjust": fair.adjust,
            },
            "rule_hits": dict(constraints.hits),
        }

    @router.post("/admin/rules", tags=["admin"], dependencies=[admin])
    def reload_rules() -> dict[str, Any]:
        """Re-read the rules file the service was started with (its exposure totals restart)."""
        constraints: ServingConstraints | None = pipeline.constraints
        if constraints is None or constraints.source is None:
            raise RequestError("this service was started without a rules file (`--rules FILE`)")
        try:
            fresh = read_constraints(constraints.source)
        except RuleError as error:
            raise RequestError(str(error)) from error
        with pipeline.lock.writing():
            pipeline.constraints = fresh
        rules = fresh.rules
        return {
            "rules": str(fresh.source),
            "caps": [c.name for c in rules.caps],
            "pins": [p.name for p in rules.pins],
            "blocked": {k: len(v) for k, v in rules.blocked.items()},
            "hide_out_of_stock": rules.hide_out_of_stock,
            "exposure": None if fresh.exposure is None else fresh.exposure.field,
            "fair_topk": None if fresh.fair is None else fresh.fair.field,
            "relevance_floor": fresh.relevance_floor,
        }

    return router
