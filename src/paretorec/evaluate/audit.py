"""`paretorec audit`: exposure, merit and outcomes by group over many served lists, the
rules' violations and, for a replay, what the constraint costs; markdown, JSON and PNG.

The lists come from an event log (`served_from_events`: impressions with positions,
grouped into lists by shopper, session, query and time) or from replaying queries
through a models folder (`paretorec.serve.replay`). The metrics are those of
`paretorec.evaluate.fairness`.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from paretorec.constraints import ListConstraints
from paretorec.evaluate.fairness import (
    GroupBy,
    GroupRow,
    attention,
    awrf,
    disparate_exposure,
    gini,
    group_labels,
    group_rows,
    rule_violations,
    shares,
)

__all__ = [
    "Audit",
    "GroupAudit",
    "ServedLists",
    "audit_lists",
    "served_from_events",
    "write_audit",
]

TOP = 10  # groups shown (and in the disparate exposure ratio): those with the most merit
LINES = 5  # groups drawn over time
OTHER = "(other)"
_LIST_KEYS = ("user_id", "session_id", "query_id", "timestamp")


@dataclass(frozen=True)
class ServedLists:
    """Lists as shown (item ids by position) with their times, each item's merit, and
    outcomes (time, item, "click" or "purchase", amount)."""

    lists: tuple[tuple[str, ...], ...]
    times: tuple[datetime | None, ...]
    merit: Mapping[str, float]
    outcomes: tuple[tuple[datetime | None, str, str, float], ...] = ()
    merit_from: str = "position-debiased clicks"

    def __post_init__(self) -> None:
        if len(self.times) != len(self.lists):
            raise ValueError(f"{len(self.times)} times for {len(self.lists)} lists")


def served_from_events(events: pl.DataFrame) -> ServedLists:
    """Lists from a log's impressions (one list per shopper, session, query and time, as
    far as the log has those columns), merit from its clicks and carts weighted by the
    inverse attention of their position (1 where the click has no position), outcomes
    from its clicks and purchases."""
    if "position" not in events.columns:
        raise ValueError("the events have no position column: exposure needs positions")
    shown = events.filter((pl.col("event") == "impression") & pl.col("position").is_not_null())
    if shown.is_empty():
        raise ValueError(
            "the events hold no impressions with a position: nothing was seen to audit "
            "(the service's log and `paretorec simulate` write them; or replay with --models)"
        )
    keys = [c for c in _LIST_KEYS if c in events.columns]
    grouped = (
        shown.with_row_index("__row")
        .sort([*keys, "position", "__row"])
        .group_by(keys, maintain_order=True)
        .agg(pl.col("item_id"), pl.col("timestamp").first().alias("__time")
             if "timestamp" in events.columns else pl.lit(None).alias("__time"))
    )  # fmt: skip
    lists = tuple(tuple(str(i) for i in items) for items in grouped["item_id"].to_list())
    times = tuple(grouped["__time"].to_list())
    merit: defaultdict[str, float] = defaultdict(float)
    outcomes: list[tuple[datetime | None, str, str, float]] = []
    has_time = "timestamp" in events.columns
    acted = events.filter(pl.col("event").is_in(["click", "cart", "purchase"]))
    for row in acted.iter_rows(named=True):
        item, kind = str(row["item_id"]), str(row["event"])
        when = row["timestamp"] if has_time else None
        if kind == "click":
            position = row.get("position")
            merit[item] += 1.0 / attention(int(position))[-1] if position else 1.0
        if kind in ("click", "purchase"):
            outcomes.append((when, item, kind, 1.0))
    return ServedLists(lists, times, dict(merit), tuple(outcomes))


@dataclass(frozen=True)
class GroupAudit:
    by: str
    rows: list[GroupRow]
    disparate_exposure: float  # among the TOP groups with the most merit
    awrf: float  # against the catalog's share of items by group
    over_time: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Audit:
    source: str
    merit_from: str
    n_lists: int
    n_items: int  # in the catalog
    n_shown: int  # distinct items shown
    exposure_gini: float  # over the catalog's items
    groups: list[GroupAudit]
    violations: dict[str, int] | None  # None: no rules given
    comparison: list[dict[str, Any]] | None = None  # replay: objectives with / without
    rule_hits: dict[str, int] | None = None  # replay: how often each rule moved an item

    def to_json(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        out = clean(asdict(self))
        for group, audit in zip(out["groups"], self.groups, strict=True):
            for row, typed in zip(group["rows"], audit.rows, strict=True):
                row["ratio"] = clean(typed.ratio)
        return out  # type: ignore[no-any-return]


def _bins(times: Sequence[datetime | None], n: int) -> list[int] | None:
    """Each list's time bin (equal numbers of lists per bin, in time order)."""
    if not times or any(t is None for t in times):
        return None
    order = sorted(range(len(times)), key=lambda i: times[i])  # type: ignore[arg-type,return-value]
    out = [0] * len(times)
    for rank, i in enumerate(order):
        out[i] = min(n - 1, rank * n // len(times))
    return out


def _over_time(
    served: ServedLists,
    labels: Mapping[str, str],
    drawn: Sequence[str],
    bins: int,
) -> list[dict[str, Any]]:
    where = _bins(served.times, bins)
    if where is None:
        return []
    exposure: list[defaultdict[str, float]] = [defaultdict(float) for _ in range(bins)]
    outcome: list[defaultdict[str, float]] = [defaultdict(float) for _ in range(bins)]
    starts: list[datetime | None] = [None] * bins
    for b, items, when in zip(where, served.lists, served.times, strict=True):
        if starts[b] is None or (when is not None and when < starts[b]):  # type: ignore[operator]
            starts[b] = when
        for weight, item in zip(attention(len(items)), items, strict=True):
            group = labels.get(item, OTHER)
            exposure[b][group if group in drawn else OTHER] += float(weight)
    bounds = [s for s in starts if s is not None]
    for when, item, _, amount in served.outcomes:
        if when is None or not bounds:
            continue
        b = max((n for n, s in enumerate(starts) if s is not None and s <= when), default=0)
        group = labels.get(item, OTHER)
        outcome[b][group if group in drawn else OTHER] += amount
    out = []
    for b in range(bins):
        total = sum(exposure[b].values()) or 1.0
        out.append(
            {
                "from": None if starts[b] is None else starts[b].isoformat(),  # type: ignore[union-attr]
                "exposure_share": {g: exposure[b][g] / total for g in [*drawn, OTHER]},
                "outcomes": {g: outcome[b][g] for g in [*drawn, OTHER]},
            }
        )
    return out


def audit_lists(
    served: ServedLists,
    records: Sequence[Mapping[str, object]],
    group_by: Sequence[GroupBy],
    *,
    source: str,
    constraints: ListConstraints | None = None,
    now: datetime | None = None,
    new_days: float = 90.0,
    bins: int = 10,
    comparison: list[dict[str, Any]] | None = None,
) -> Audit:
    """The audit of `served` over the catalog `records` (see the module docstring)."""
    if not served.lists:
        raise ValueError("no lists to audit")
    if not group_by:
        raise ValueError("name at least one group (seller_id, brand, new)")
    by_id = {str(r["item_id"]): r for r in records}
    exposure: defaultdict[str, float] = defaultdict(float)
    for items in served.lists:
        for weight, item in zip(attention(len(items)), items, strict=True):
            exposure[item] += float(weight)
    clicks: defaultdict[str, float] = defaultdict(float)
    purchases: defaultdict[str, float] = defaultdict(float)
    for _, item, kind, amount in served.outcomes:
        (clicks if kind == "click" else purchases)[item] += amount
    catalog = np.zeros(len(by_id))
    for n, item in enumerate(by_id):
        catalog[n] = exposure.get(item, 0.0)
    groups = []
    for by in group_by:
        labels = group_labels(records, by, now=now, new_days=new_days)
        rows = group_rows(labels, exposure, served.merit, clicks, purchases)
        e, m = shares(exposure, labels), shares(served.merit, labels)
        target = {g: v / len(labels) for g, v in Counter(labels.values()).items()}
        drawn = [r.group for r in rows[:LINES]]
        groups.append(
            GroupAudit(
                by.value,
                rows,
                disparate_exposure(e, m, TOP),
                awrf(served.lists, labels, target),
                _over_time(served, labels, drawn, bins),
            )
        )
    violations = None
    if constraints is not None:
        violations = rule_violations(served.lists, by_id, constraints)
    return Audit(
        source,
        served.merit_from,
        len(served.lists),
        len(by_id),
        len(exposure),
        gini(catalog),
        groups,
        violations,
        comparison,
    )


def _figure(audit: Audit) -> Figure:
    rows = len(audit.groups)
    figure = Figure(figsize=(15, 4.2 * rows))
    axes = figure.subplots(rows, 3, squeeze=False)
    for (left, middle, right), group in zip(axes, audit.groups, strict=True):
        top = group.rows[:TOP]
        x = np.arange(len(top))
        left.bar(x - 0.2, [r.merit_share for r in top], 0.4, label="merit share")
        left.bar(x + 0.2, [r.exposure_share for r in top], 0.4, label="exposure share")
        left.set_xticks(x, [r.group[:14] for r in top], rotation=45, ha="right", fontsize=7)
        left.set_title(
            f"{group.by}: exposure vs merit (disparate exposure {group.disparate_exposure:.2f})",
            fontsize=9,
        )
        left.legend(fontsize=7)
        for axis, key, title in (
            (middle, "exposure_share", "exposure share over time"),
            (right, "outcomes", "clicks + purchases over time"),
        ):
            if not group.over_time:
                axis.text(0.5, 0.5, "no times in the log", ha="center", va="center")
                axis.set_axis_off()
                continue
            names = list(group.over_time[0][key])
            for name in names:
                axis.plot(
                    range(1, len(group.over_time) + 1),
                    [b[key][name] for b in group.over_time],
                    marker="o",
                    label=name[:14],
                )
            axis.set_xlabel("time bin (equal numbers of lists)", fontsize=8)
            axis.set_title(f"{group.by}: {title}", fontsize=9)
            axis.legend(fontsize=6)
    figure.tight_layout()
    return figure


def _markdown(audit: Audit) -> str:
    lines = [
        "# Fairness audit",
        "",
        f"Source: {audit.source}. {audit.n_lists:,} lists; {audit.n_shown:,} of "
        f"{audit.n_items:,} catalog items shown; merit from {audit.merit_from}. "
        f"Exposure Gini over the catalog's items: {audit.exposure_gini:.3f}.",
        "",
    ]
    if audit.violations is not None:
        lines += ["## Rules", "", "| rule | lists that broke it |", "|---|---:|"]
        lines += [f"| {name} | {count:,} |" for name, count in audit.violations.items()]
        lines += [
            "",
            "Blocked or hidden items and caps are hard rules (must be 0); a fair top-k "
            "shortfall is allowed only where too few protected items were candidates.",
            "",
        ]
    if audit.rule_hits:
        lines += ["| rule | times it acted (replay) |", "|---|---:|"]
        lines += [f"| {name} | {count:,} |" for name, count in sorted(audit.rule_hits.items())]
        lines.append("")
    if audit.comparison:
        names = [k for k in audit.comparison[0] if k != "run"]
        lines += ["## The cost of the constraint (replay)", ""]
        lines += ["| run | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
        for row in audit.comparison:
            lines.append(
                f"| {row['run']} | "
                + " | ".join(f"{row[n]:.4g}" if row[n] is not None else "-" for n in names)
                + " |"
            )
        lines.append("")
    for group in audit.groups:
        if len(group.rows) < 2:
            only = group.rows[0].group if group.rows else "none"
            lines += [f"## By {group.by}", "", f"One group only ({only}): nothing to compare.", ""]
            continue
        lines += [
            f"## By {group.by}",
            "",
            f"Disparate exposure (top {TOP} groups by merit): {group.disparate_exposure:.3f}; "
            f"AWRF against the catalog's shares: {group.awrf:.4f}.",
            "",
            "| group | items | merit share | exposure share | exposure / merit | clicks | purchases |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in group.rows[:TOP]:
            lines.append(
                f"| {r.group} | {r.items:,} | {r.merit_share:.4f} | {r.exposure_share:.4f} | "
                f"{r.ratio:.2f} | {r.clicks:,.4g} | {r.purchases:,.4g} |"
            )
        if len(group.rows) > TOP:
            lines.append(f"| ({len(group.rows) - TOP} more) | | | | | | |")
        lines.append("")
    lines.append("Figure: audit.png (exposure vs merit; exposure and outcomes over time).")
    return "\n".join(lines) + "\n"


def write_audit(audit: Audit, out: Path) -> list[Path]:
    """audit.md, audit.json and audit.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "audit.md", out / "audit.json", out / "audit.png"]
    paths[0].write_text(_markdown(audit))
    paths[1].write_text(json.dumps(audit.to_json(), indent=2, default=str))
    _figure(audit).savefig(paths[2], dpi=90)
    return paths
