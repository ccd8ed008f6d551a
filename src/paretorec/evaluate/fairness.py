"""Fairness of exposure over many served lists: the metrics an audit reports.

A list gives its item at position j the attention 1 / log2(1 + j) (Singh & Joachims
2018). Over all lists, an item's *exposure* is its summed attention and its *merit* what
the shoppers showed it deserves (from a log: clicks divided by the attention of the
position they were clicked at, the position-debiased click count; from a replay: the
candidates' retrieval relevance, as the service's exposure controller counts it). Items
fall into groups chosen by the shop: seller, brand, or new-vs-established.

- `disparate_exposure`: the largest over the smallest exposure-share / merit-share
  ratio among the groups with the most merit (1: each group exposed as it merits; the
  four-fifths rule reads 0.8-1.25 as fair);
- `gini`: inequality of exposure over the items of the catalog (0: equal, near 1: one
  item has it all), unshown items counting as zero;
- `awrf`: attention-weighted rank fairness (Sapiezynski et al. 2019): the mean over lists
  of the Jensen-Shannon divergence (base 2, in [0, 1]) between the list's
  attention-weighted group distribution and a target distribution (the catalog's share
  of items by group): 0 when every list mirrors the catalog;
- `rule_violations`: shown items the rules forbid and caps broken, counted per list
  (a shop's hard rules: must be zero), and lists where a FA*IR prefix fell short.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from paretorec.constraints import ListConstraints
from paretorec.constraints.fair_topk import FAIR_TOPK
from paretorec.objectives.kernels import position_discount

__all__ = [
    "BLOCKED",
    "GroupBy",
    "GroupRow",
    "attention",
    "awrf",
    "disparate_exposure",
    "gini",
    "group_labels",
    "group_rows",
    "rule_violations",
    "shares",
]

FloatArray = NDArray[np.float64]
BLOCKED = "blocked or hidden"
NEW, ESTABLISHED, UNKNOWN = "new", "established", "(unknown)"


class GroupBy(StrEnum):
    SELLER = "seller_id"
    BRAND = "brand"
    NEW = "new"

    @classmethod
    def parse(cls, text: str) -> GroupBy:
        aliases = {"seller": cls.SELLER, "new-vs-established": cls.NEW}
        found = aliases.get(text.strip()) or next((g for g in cls if g.value == text.strip()), None)
        if found is None:
            raise ValueError(f"unknown group {text!r}; use seller_id, brand or new")
        return found


def group_labels(
    records: Sequence[Mapping[str, object]],
    by: GroupBy,
    *,
    now: datetime | None = None,
    new_days: float = 90.0,
) -> dict[str, str]:
    """Each item's group: its seller or brand, or `new` (created within `new_days` of
    `now`) vs `established`; items without the field are `(unknown)`."""
    out: dict[str, str] = {}
    if by is GroupBy.NEW:
        if now is None:
            raise ValueError("grouping by new needs the audit's time (now)")
        since = now - timedelta(days=new_days)
        for r in records:
            created = r.get("created_at")
            if not isinstance(created, datetime):
                out[str(r["item_id"])] = UNKNOWN
            else:
                if created.tzinfo is None and since.tzinfo is not None:
                    created = created.replace(tzinfo=since.tzinfo)
                out[str(r["item_id"])] = NEW if created >= since else ESTABLISHED
        return out
    for r in records:
        value = r.get(by.value)
        out[str(r["item_id"])] = UNKNOWN if value is None or value == "" else str(value)
    return out


def attention(n: int) -> FloatArray:
    """Position weights 1 / log2(1 + j), j = 1..n."""
    return position_discount(n)


def shares(per_item: Mapping[str, float], labels: Mapping[str, str]) -> dict[str, float]:
    """Each group's share of the items' summed values (items without a label: unknown)."""
    totals: defaultdict[str, float] = defaultdict(float)
    for item, value in per_item.items():
        totals[labels.get(item, UNKNOWN)] += value
    whole = sum(totals.values())
    return {g: v / whole for g, v in totals.items()} if whole > 0 else {}


def disparate_exposure(
    exposure: Mapping[str, float], merit: Mapping[str, float], top: int | None = 10
) -> float:
    """Largest over smallest exposure/merit share ratio among the `top` groups with the
    most merit (all with None); inf when one of them was never shown, 1 with one group."""
    groups = sorted((g for g, m in merit.items() if m > 0), key=lambda g: -merit[g])
    ratios = [exposure.get(g, 0.0) / merit[g] for g in (groups if top is None else groups[:top])]
    if len(ratios) < 2:
        return 1.0
    if min(ratios) <= 0:
        return math.inf
    return max(ratios) / min(ratios)


def gini(values: Sequence[float] | FloatArray) -> float:
    """The Gini coefficient of non-negative values (0 for all-equal or all-zero)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.size == 0 or x.sum() <= 0:
        return 0.0
    if x[0] < 0:
        raise ValueError("gini needs non-negative values")
    n = x.size
    ranks = np.arange(1, n + 1)
    return float(np.sum((2 * ranks - n - 1) * x) / (n * x.sum()))


def _jensen_shannon(p: FloatArray, q: FloatArray) -> float:
    m = 0.5 * (p + q)

    def kl(a: FloatArray) -> float:
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def awrf(
    lists: Sequence[Sequence[str]], labels: Mapping[str, str], target: Mapping[str, float]
) -> float:
    """Mean Jensen-Shannon divergence between each list's attention-weighted group
    distribution and `target` (group -> share; see the module docstring)."""
    groups = sorted(set(target) | {labels.get(i, UNKNOWN) for items in lists for i in items})
    where = {g: n for n, g in enumerate(groups)}
    goal = np.array([target.get(g, 0.0) for g in groups])
    if goal.sum() <= 0:
        raise ValueError("awrf needs a target distribution with positive mass")
    goal = goal / goal.sum()
    values = []
    for items in lists:
        if not items:
            continue
        seen = np.zeros(len(groups))
        for weight, item in zip(attention(len(items)), items, strict=True):
            seen[where[labels.get(item, UNKNOWN)]] += weight
        values.append(_jensen_shannon(seen / seen.sum(), goal))
    return float(np.mean(values)) if values else 0.0


@dataclass(frozen=True)
class GroupRow:
    group: str
    items: int  # in the catalog
    merit_share: float
    exposure_share: float
    clicks: float
    purchases: float

    @property
    def ratio(self) -> float:
        return self.exposure_share / self.merit_share if self.merit_share > 0 else math.inf


def group_rows(
    labels: Mapping[str, str],
    exposure: Mapping[str, float],
    merit: Mapping[str, float],
    clicks: Mapping[str, float],
    purchases: Mapping[str, float],
) -> list[GroupRow]:
    """One row per group, most merit first (ties: most exposure, then name)."""
    sizes = Counter(labels.values())
    e, m = shares(exposure, labels), shares(merit, labels)
    c: defaultdict[str, float] = defaultdict(float)
    p: defaultdict[str, float] = defaultdict(float)
    for item, value in clicks.items():
        c[labels.get(item, UNKNOWN)] += value
    for item, value in purchases.items():
        p[labels.get(item, UNKNOWN)] += value
    groups = set(sizes) | set(e) | set(m)
    rows = [
        GroupRow(g, sizes.get(g, 0), m.get(g, 0.0), e.get(g, 0.0), float(c[g]), float(p[g]))
        for g in groups
    ]
    return sorted(rows, key=lambda r: (-r.merit_share, -r.exposure_share, r.group))


def rule_violations(
    lists: Sequence[Sequence[str]],
    records: Mapping[str, Mapping[str, object]],
    constraints: ListConstraints,
) -> dict[str, int]:
    """How many lists broke each hard rule (a blocked or hidden item shown, a cap
    exceeded within its window), and in how many a FA*IR prefix fell short of its
    minimum (``fair top-k``: allowed when too few protected items were candidates).
    Items missing from `records` count as blocked: the catalog no longer serves them."""
    rules, fair = constraints.rules, constraints.fair
    out: Counter[str] = Counter()
    for items in lists:
        shown = [records.get(i) for i in items]
        if any(r is None or not rules.allowed(r) for r in shown):
            out[BLOCKED] += 1
        for cap in rules.caps:
            counts: Counter[object] = Counter()
            for position, record in enumerate(shown):
                value = None if record is None else record.get(cap.field)
                if value is not None and cap.applies_at(position):
                    counts[value] += 1
            if counts and max(counts.values()) > cap.most:
                out[cap.name] += 1
        if fair is not None and items:
            table = fair.table(len(items))
            count = 0
            for position, record in enumerate(shown):
                count += record is not None and fair.is_protected(record.get(fair.field))
                if count < table[position]:
                    out[FAIR_TOPK] += 1
                    break
    names = [BLOCKED, *(c.name for c in rules.caps)] + ([FAIR_TOPK] if fair else [])
    return {name: out.get(name, 0) for name in names}
