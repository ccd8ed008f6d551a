"""Exposure-fairness metrics on hand-checked cases, their invariants (hypothesis), and
the audit built from an event log."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.constraints import Cap, FairTopK, ListConstraints, RuleSet
from paretorec.evaluate.audit import ServedLists, audit_lists, served_from_events
from paretorec.evaluate.fairness import (
    GroupBy,
    awrf,
    disparate_exposure,
    gini,
    group_labels,
    group_rows,
    rule_violations,
)

W2 = 1 / math.log2(3)  # attention at position 2


def test_gini_hand_checked() -> None:
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)  # (n - 1) / n: one item has it all
    assert gini([1, 3]) == pytest.approx(0.25)  # mean |xi - xj| / (2 mean) = (2 * 2 / 4) / 4
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=1, max_size=40), st.floats(0.1, 10))
def test_gini_is_in_range_and_scale_free(values: list[float], scale: float) -> None:
    g = gini(values)
    assert 0.0 <= g <= 1.0 - 1.0 / len(values) + 1e-9
    assert gini([v * scale for v in values]) == pytest.approx(g, abs=1e-9)


def test_disparate_exposure_hand_checked() -> None:
    merit = {"a": 0.5, "b": 0.25, "c": 0.25}
    assert disparate_exposure({"a": 0.5, "b": 0.25, "c": 0.25}, merit) == pytest.approx(1.0)
    # a: 0.6 / 0.5 = 1.2, b: 0.3 / 0.25 = 1.2, c: 0.1 / 0.25 = 0.4 -> 3
    assert disparate_exposure({"a": 0.6, "b": 0.3, "c": 0.1}, merit) == pytest.approx(3.0)
    assert disparate_exposure({"a": 0.6, "b": 0.3, "c": 0.1}, merit, top=2) == pytest.approx(1.0)
    assert disparate_exposure({"a": 1.0}, merit) == math.inf  # b, c never shown


def test_awrf_is_zero_for_a_list_mirroring_the_target_and_one_for_disjoint_groups() -> None:
    labels = {"x": "a", "y": "b"}
    # weights 1 and W2: a list (x, y) has a-share 1/(1+W2); a target of that share is met
    share = 1 / (1 + W2)
    assert awrf([("x", "y")], labels, {"a": share, "b": 1 - share}) == pytest.approx(0.0)
    assert awrf([("x",)], labels, {"b": 1.0}) == pytest.approx(1.0)  # JSD base 2 of disjoint
    with pytest.raises(ValueError, match="positive mass"):
        awrf([("x",)], labels, {"a": 0.0})


def test_group_labels_new_vs_established() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    records: list[dict[str, object]] = [
        {"item_id": "a", "created_at": now - timedelta(days=10)},
        {"item_id": "b", "created_at": now - timedelta(days=400)},
        {"item_id": "c", "created_at": None, "seller_id": "s"},
    ]
    assert group_labels(records, GroupBy.NEW, now=now) == {
        "a": "new",
        "b": "established",
        "c": "(unknown)",
    }
    assert group_labels(records, GroupBy.SELLER)["c"] == "s"
    with pytest.raises(ValueError, match="unknown group"):
        GroupBy.parse("colour")


def test_group_rows_shares() -> None:
    labels = {"x": "a", "y": "a", "z": "b"}
    rows = group_rows(labels, {"x": 1.0, "z": 3.0}, {"x": 1.0, "y": 1.0}, {"x": 2.0}, {})
    assert [(r.group, r.items, r.merit_share, r.exposure_share) for r in rows] == [
        ("a", 2, 1.0, 0.25),
        ("b", 1, 0.0, 0.75),
    ]
    assert rows[0].clicks == 2.0 and rows[1].ratio == math.inf


def test_rule_violations_count_lists() -> None:
    records: dict[str, dict[str, object]] = {
        "x": {"item_id": "x", "seller_id": "s1"},
        "y": {"item_id": "y", "seller_id": "s1"},
        "z": {"item_id": "z", "seller_id": "s2", "stock": 0},
    }
    rules = RuleSet(hide_out_of_stock=True, caps=(Cap("one per seller", "seller_id", 1, 2),))
    fair = FairTopK("seller_id", frozenset({"s2"}), 0.7, adjust=False)  # m(2) = 1
    lists = [("x", "y"), ("x", "z"), ("y", "x", "gone")]
    found = rule_violations(lists, records, ListConstraints(rules, fair))
    # (x, y) breaks the cap and has no s2 by position 2; (x, z) shows an out-of-stock
    # item; the third breaks the cap, shows an item no longer in the catalog, lacks s2
    assert found == {"blocked or hidden": 2, "one per seller": 2, "fair top-k": 2}


def _log() -> pl.DataFrame:
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows: list[tuple[object, ...]] = []
    for n, items in enumerate([("x", "y", "z"), ("z", "x", "y")]):
        for position, item in enumerate(items, start=1):
            rows.append(("u1", item, "impression", t0 + timedelta(hours=n), f"s{n}", position))
    rows.append(("u1", "y", "click", t0, "s0", 2))
    rows.append(("u1", "y", "purchase", t0, "s0", None))
    rows.append(("u1", "z", "click", t0 + timedelta(hours=1), "s1", 1))
    return pl.DataFrame(
        rows,
        schema=["user_id", "item_id", "event", "timestamp", "session_id", "position"],
        orient="row",
    )


def test_lists_and_merit_from_an_event_log() -> None:
    served = served_from_events(_log())
    assert served.lists == (("x", "y", "z"), ("z", "x", "y"))
    # a click at position 2 counts 1 / attention(2) = log2(3); at position 1 it counts 1
    assert served.merit == pytest.approx({"y": math.log2(3), "z": 1.0})
    assert sorted((o[1], o[2]) for o in served.outcomes) == [
        ("y", "click"),
        ("y", "purchase"),
        ("z", "click"),
    ]
    with pytest.raises(ValueError, match="no impressions"):
        served_from_events(_log().filter(pl.col("event") != "impression"))
    with pytest.raises(ValueError, match="no position"):
        served_from_events(_log().drop("position"))


def test_the_audit_of_a_log() -> None:
    records = [
        {"item_id": "x", "seller_id": "a"},
        {"item_id": "y", "seller_id": "a"},
        {"item_id": "z", "seller_id": "b"},
        {"item_id": "w", "seller_id": "b"},
    ]
    audit = audit_lists(
        served_from_events(_log()),
        records,
        [GroupBy.SELLER],
        source="test",
        constraints=ListConstraints(RuleSet(caps=(Cap("one per seller", "seller_id", 1, 2),))),
        bins=2,
    )
    w3 = 1 / math.log2(4)
    exposure_a = (1 + W2) + (W2 + w3)  # x at 1 then 2, y at 2 then 3
    total = 2 * (1 + W2 + w3)
    (group,) = audit.groups
    a = next(r for r in group.rows if r.group == "a")
    assert a.exposure_share == pytest.approx(exposure_a / total)
    assert a.merit_share == pytest.approx(math.log2(3) / (math.log2(3) + 1))
    assert audit.violations == {"blocked or hidden": 0, "one per seller": 1}
    assert audit.n_shown == 3 and audit.n_items == 4
    assert len(group.over_time) == 2 and group.over_time[1]["outcomes"]["b"] == 1.0
    catalog = np.array([1 + W2, W2 + w3, 1 + w3, 0.0])  # x, y, z, w
    assert audit.exposure_gini == pytest.approx(gini(catalog))
    with pytest.raises(ValueError, match="no lists"):
        audit_lists(ServedLists((), (), {}), records, [GroupBy.SELLER], source="t")
