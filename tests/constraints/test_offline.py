"""The shop's rules in offline evaluation: each weighting's lists are built as the
service builds them (blocked items out, FA*IR, caps, pins, the exposure controller
over the stream of requests), and `paretorec pareto --rules` uses them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.constraints import (
    Cap,
    ExposureSpec,
    ListConstraints,
    Pin,
    RuleSet,
    constrained_list,
    list_arranger,
)
from paretorec.data.formats import FileFormat
from paretorec.data.io import write_dataset
from paretorec.simulate import simulate_dataset


def _records(sellers: list[str], stock: list[int] | None = None) -> list[dict[str, object]]:
    return [
        {"item_id": f"i{n}", "seller_id": s, "stock": 1 if stock is None else stock[n]}
        for n, s in enumerate(sellers)
    ]


def test_blocked_items_are_left_out_and_caps_and_pins_hold() -> None:
    rules = RuleSet(
        hide_out_of_stock=True,
        caps=(Cap("one per seller", "seller_id", 1, 2),),
        pins=(Pin("promo", "i3", 1, frozenset({"hose"})),),
    )
    candidates = [_records(["a", "a", "b", "c"], [0, 1, 1, 1])] * 2
    arranger = list_arranger(ListConstraints(rules), candidates, ["hose", "drill"])
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    # i0 is out of stock; the pin puts i3 first for "hose" only
    assert arranger(0, scores, 3).tolist() == [3, 1, 2]
    assert arranger(1, scores, 3).tolist() == [1, 2, 3]


@settings(max_examples=100, deadline=None)
@given(
    sellers=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=12),
    stock=st.lists(st.integers(0, 2), min_size=12, max_size=12),
    scores=st.lists(st.floats(0, 1), min_size=12, max_size=12),
    k=st.integers(1, 8),
    most=st.integers(1, 3),
)
def test_offline_lists_are_the_services_lists(
    sellers: list[str], stock: list[int], scores: list[float], k: int, most: int
) -> None:
    n = len(sellers)
    records = _records(sellers, stock[:n])
    constraints = ListConstraints(
        RuleSet(hide_out_of_stock=True, caps=(Cap("cap", "seller_id", most, 5),))
    )
    got = list_arranger(constraints, [records], [None])(0, np.array(scores[:n]), k).tolist()
    assert all(records[i]["stock"] for i in got)
    for window in range(1, min(5, len(got)) + 1):
        shown = [sellers[i] for i in got[:window]]
        assert max(shown.count(s) for s in set(shown)) <= most
    # what the service does: allowed candidates in score order, then constrained_list
    order = [i for i in np.argsort(-np.array(scores[:n]), kind="stable") if stock[i] > 0]
    expected = constrained_list(order, {"seller_id": sellers}, k, constraints, {})
    assert got == list(expected.order)


def test_the_exposure_controller_runs_over_the_stream_and_restarts_each_pass() -> None:
    records = _records(["a", "a", "a", "b", "b", "b"])
    scores = np.array([0.9, 0.85, 0.8, 0.5, 0.45, 0.4])
    merit = [np.ones(6)] * 40  # equal merit: b deserves half the exposure
    arranger = list_arranger(
        ListConstraints(RuleSet()),
        [records] * 40,
        [None] * 40,
        exposure=ExposureSpec("seller_id", strength=2.0),
        merit=merit,
    )
    first = [arranger(i, scores, 2).tolist() for i in range(40)]
    assert first[0] == [0, 1]  # nothing counted yet: the model's order
    assert any(3 in lst for lst in first[1:])  # b's deficit lifts its best item
    again = [arranger(i, scores, 2).tolist() for i in range(40)]
    assert again == first  # a new pass (request 0) starts from zero
    with pytest.raises(ValueError, match="merit"):
        list_arranger(ListConstraints(RuleSet()), [records], [None], exposure=ExposureSpec("x"))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    write_dataset(simulate_dataset(200, 60, 200, seed=2), folder, FileFormat.CSV)
    return folder


def test_pareto_with_rules_evaluates_the_constrained_lists(shop: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps({"caps": [{"name": "one per seller", "field": "seller_id", "most": 1}]})
    )
    values: dict[str, dict[str, float]] = {}
    for name, extra in (("off", []), ("on", ["--rules", str(rules)])):
        out = tmp_path / name
        args = ["pareto", "--data", str(shop), "--objectives", "clicks,fairness", "--budget",
                "3", "--requests", "20", "--k", "5", "--out", str(out), *extra]  # fmt: skip
        done = CliRunner().invoke(app, args)
        assert done.exit_code == 0, done.output
        values[name] = json.loads((out / "metrics.json").read_text())["chosen"]
    # one item per seller in every list: within-list seller fairness can only rise
    assert values["on"]["exposure_fairness"] > values["off"]["exposure_fairness"]
    refused = CliRunner().invoke(
        app, ["pareto", "--data", str(shop), "--method", "mmr", "--rules", str(rules)]
    )
    assert refused.exit_code == 1 and "builds its own lists" in refused.output


def test_constrain_orders_builds_each_sessions_list_from_the_models_order() -> None:
    from paretorec.constraints import constrain_orders

    records = _records(["a", "a", "b", "c"], [1, 1, 1, 0])
    rules = ListConstraints(
        RuleSet(hide_out_of_stock=True, caps=(Cap("one per seller", "seller_id", 1),))
    )
    orders = np.array([[1, 0, 3, 2], [3, 2, 1, 0]])
    out = constrain_orders(orders, [records, records], 2, rules)
    # row 0: 1 (a), 0 is a second "a", 3 is out of stock, then 2 (b); row 1: 2, then 1
    assert out.tolist() == [[1, 2], [2, 1]]
    with pytest.raises(ValueError, match="leave session 0 2 of the 3 items"):
        constrain_orders(orders, [records, records], 3, rules)
