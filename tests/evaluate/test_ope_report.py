"""The off-policy evaluation report: folds, target policies, estimates and report files."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from paretorec.evaluate.ope_report import (
    OpeAnalysis,
    TargetPolicy,
    analyse_ope,
    smoothed_rates,
    target_distribution,
    write_ope_report,
)
from paretorec.simulate import WorldConfig, simulate_dataset
from paretorec.types import Catalog, Dataset, Events, EventType

REPO_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "obd"
N_BOOT = 200
PSCORE = {"a": 0.8, "b": 0.2}  # the logger shows a with 0.8, b with 0.2, at its one slot


def parse_rounds(text: str) -> list[tuple[str, int]]:
    """'a1 b0' -> [("a", 1), ("b", 0)]: the item shown, then 1 if it was clicked."""
    return [(r[0], int(r[1])) for r in text.split()]


# Twenty rounds, one a minute, each its own session and list: (item, clicked).
# First fold (rounds 1-10):  a shown 8 times, clicked once; b shown 2 times, clicked once.
# Second fold (rounds 11-20): a shown 7 times, clicked twice; b shown 3 times, clicked once.
FIT_ROUNDS = parse_rounds("a1 a0 b1 a0 a0 a0 b0 a0 a0 a0")
EVAL_ROUNDS = parse_rounds("a1 b0 a0 a1 b1 a0 a0 b0 a0 a0")


def tiny(
    rounds: list[tuple[str, int]] | None = None, *, items: tuple[str, ...] = ("a", "b")
) -> Dataset:
    """The rounds as contract events: an impression at minute i, its click 30 s later."""
    rows: dict[str, list[Any]] = {
        k: [] for k in ("user_id", "item_id", "event", "session_id", "timestamp")
    }
    rows |= {"position": [], "propensity": []}
    for i, (item, clicked) in enumerate(FIT_ROUNDS + EVAL_ROUNDS if rounds is None else rounds):
        for event in ["impression", "click"][: 1 + clicked]:
            rows["user_id"].append(f"u{i}")
            rows["item_id"].append(item)
            rows["event"].append(event)
            rows["session_id"].append(f"s{i}")
            rows["timestamp"].append(60 * i + (30 if event == "click" else 0))
            rows["position"].append(1 if event == "impression" else None)
            rows["propensity"].append(PSCORE[item] if event == "impression" else None)
    catalog = Catalog(pl.DataFrame({"item_id": list(items), "title": [f"item {i}" for i in items]}))
    return Dataset(items=catalog, events=Events(pl.DataFrame(rows)), name="tiny")


def value(analysis: OpeAnalysis, estimator: str) -> float:
    return analysis.estimate(estimator).mean


def test_ips_of_a_uniform_target_by_hand() -> None:
    analysis = analyse_ope(tiny(), target=TargetPolicy.UNIFORM, n_bootstrap=N_BOOT, clip=2.0)
    assert (analysis.n_rounds_fit, analysis.n_rounds_eval) == (10, 10)
    assert (analysis.n_actions, analysis.len_list) == (2, 1)
    # the second fold: 3 clicks in 10 rounds
    assert analysis.logged.mean == pytest.approx(0.3)
    # uniform target: pi_e = 1/2 for each item, so w_a = 0.5 / 0.8 = 0.625, w_b = 0.5 / 0.2 = 2.5
    # IPS = (2 clicks on a x 0.625 + 1 click on b x 2.5) / 10 rounds = 3.75 / 10
    assert value(analysis, "IPS") == pytest.approx(0.375)
    # SNIPS divides by the weights' sum instead: 7 x 0.625 + 3 x 2.5 = 11.875
    assert value(analysis, "SNIPS") == pytest.approx(3.75 / 11.875)
    # clipped at 2: b's weight becomes 2, (2 x 0.625 + 2) / 10
    assert value(analysis, "clipped IPS") == pytest.approx(0.325)
    assert analysis.table["ratio_to_logged"][0] == pytest.approx(0.375 / 0.3)
    assert analysis.weights.mean == pytest.approx(11.875 / 10)
    assert analysis.weights.max == pytest.approx(2.5)
    assert analysis.weights.clipped == pytest.approx(0.3)
    assert analysis.table["estimator"].to_list() == [
        "IPS",
        "SNIPS",
        "DM",
        "DR",
        "SNDR",
        "Switch-DR",
        "clipped IPS",
    ]
    for row in analysis.table.iter_rows(named=True):
        assert row["lower"] <= row["upper"]
        assert row["standard_error"] >= 0


def test_greedy_target_by_hand() -> None:
    analysis = analyse_ope(tiny(), target=TargetPolicy.GREEDY_CTR, n_bootstrap=N_BOOT)
    # first fold: pooled rate 2/10, so 1/p = 5 pseudo-impressions and one pseudo-click each:
    # a (1 + 1) / (8 + 5) = 2/13, b (1 + 1) / (2 + 5) = 2/7: greedy shows b
    rates = dict(zip(analysis.rates["item_id"], analysis.rates["rate"], strict=True))
    assert rates == pytest.approx({"a": 2 / 13, "b": 2 / 7})
    assert analysis.rates["target_probability"].to_list() == [0.0, 1.0]
    # w_b = 1 / 0.2 = 5, b clicked once in the second fold: IPS = 5 / 10; SNIPS = 5 / (3 x 5)
    assert value(analysis, "IPS") == pytest.approx(0.5)
    assert value(analysis, "SNIPS") == pytest.approx(1 / 3)
    assert analysis.description.startswith("greedy-ctr")


def test_the_target_is_fitted_on_the_first_fold_only() -> None:
    base = analyse_ope(tiny(), target=TargetPolicy.GREEDY_CTR, n_bootstrap=N_BOOT)
    assert base.rates["fit_impressions"].to_list() == [8, 2]
    assert base.rates["fit_rewards"].to_list() == [1.0, 1.0]
    # new clicks in the second fold change the estimates, never the target's rates
    more = [(item, 1) for item, _ in EVAL_ROUNDS]
    judged = analyse_ope(
        tiny(FIT_ROUNDS + more), target=TargetPolicy.GREEDY_CTR, n_bootstrap=N_BOOT
    )
    assert judged.rates.equals(base.rates)
    assert value(judged, "IPS") == pytest.approx(3 * 5 / 10)
    # clicks on a in the first fold make a the greedy choice
    fit = [(item, 1 if item == "a" else 0) for item, _ in FIT_ROUNDS]
    refit = analyse_ope(tiny(fit + EVAL_ROUNDS), target=TargetPolicy.GREEDY_CTR, n_bootstrap=N_BOOT)
    assert refit.rates["target_probability"].to_list() == [1.0, 0.0]
    assert value(refit, "IPS") == pytest.approx(2 * 1.25 / 10)


def test_folds_follow_time_not_row_order() -> None:
    data = tiny()
    assert data.events is not None
    # the rounds' rows, last first (each click still after its impression)
    rounds = pl.col("session_id").str.slice(1).cast(pl.Int64)
    backwards = data.events.frame.sort(rounds, "timestamp", descending=[True, False])
    moved = Dataset(items=data.items, events=Events(backwards), name="tiny")
    a = analyse_ope(data, target=TargetPolicy.GREEDY_CTR, n_bootstrap=N_BOOT)
    b = analyse_ope(moved, target=TargetPolicy.GREEDY_CTR, n_bootstrap=N_BOOT)
    assert a.rates.equals(b.rates)
    assert value(b, "IPS") == pytest.approx(0.5)


def test_fit_fraction_moves_the_cut() -> None:
    analysis = analyse_ope(
        tiny(), target=TargetPolicy.UNIFORM, fit_fraction=0.3, n_bootstrap=N_BOOT
    )
    assert (analysis.n_rounds_fit, analysis.n_rounds_eval) == (6, 14)


def test_policies() -> None:
    rate = np.array([0.1, 0.3, 0.2])
    assert target_distribution(TargetPolicy.UNIFORM, rate, 2).tolist() == [[1 / 3] * 2] * 3
    greedy = target_distribution(TargetPolicy.GREEDY_CTR, rate, 4)
    assert greedy.argmax(axis=0).tolist() == [1, 2, 0, 1]  # k-th best, again from the top
    soft = target_distribution(TargetPolicy.SOFTMAX_CTR, rate, 2, temperature=0.5)
    # standardized: mean 0.2, std sqrt(0.02/3); z = (-1.2247, 1.2247, 0); logits z / 0.5
    z = (rate - 0.2) / np.sqrt(0.02 / 3)
    expected = np.exp(z / 0.5) / np.exp(z / 0.5).sum()
    assert soft[:, 0] == pytest.approx(expected)
    assert soft[:, 1] == pytest.approx(expected)
    assert smoothed_rates([10, 30], [0, 2]) == pytest.approx([1 / 30, 3 / 50])
    assert smoothed_rates([10, 30], [0, 0]).tolist() == [0.0, 0.0]


@pytest.fixture(scope="module")
def simulated() -> Dataset:
    return simulate_dataset(40, 300, 3000, seed=1, list_size=3, config=WorldConfig.lively())


def test_uniform_target_on_uniform_logs_gives_the_logged_value(simulated: Dataset) -> None:
    analysis = analyse_ope(simulated, target=TargetPolicy.UNIFORM, n_bootstrap=N_BOOT)
    assert analysis.n_actions == 40 and analysis.len_list == 3
    assert analysis.n_rounds_fit + analysis.n_rounds_eval == 9000
    assert analysis.n_rounds_fit % 3 == 0  # lists are not split between the folds
    # pi_e = 1/40 = the logger's propensity: every weight is 1, IPS is the on-policy mean
    assert analysis.weights.max == 1.0 and analysis.weights.mean == 1.0
    ips = analysis.estimate("IPS")
    assert ips.mean == analysis.logged.mean
    assert (ips.lower, ips.upper) == (analysis.logged.lower, analysis.logged.upper)
    assert value(analysis, "SNIPS") == pytest.approx(analysis.logged.mean, rel=1e-12)
    assert 0.05 < analysis.logged.mean < 0.15  # the lively shop: CTR about 0.08


def test_deterministic_under_a_seed(simulated: Dataset) -> None:
    run = {
        seed: analyse_ope(
            simulated,
            target=TargetPolicy.SOFTMAX_CTR,
            temperature=0.02,
            n_bootstrap=N_BOOT,
            seed=seed,
        )
        for seed in (3, 4)
    }
    again = analyse_ope(
        simulated, target=TargetPolicy.SOFTMAX_CTR, temperature=0.02, n_bootstrap=N_BOOT, seed=3
    )
    assert again.table.equals(run[3].table)
    assert again.logged == run[3].logged
    assert not run[4].table.equals(run[3].table)
    # the point estimates of the weighting estimators do not depend on the seed
    assert value(run[4], "IPS") == value(run[3], "IPS")


def test_report_files(simulated: Dataset, tmp_path: Path) -> None:
    analysis = analyse_ope(simulated, target=TargetPolicy.GREEDY_CTR, n_bootstrap=N_BOOT, clip=20.0)
    folder = tmp_path / "report"
    written = write_ope_report(analysis, folder)
    assert sorted(p.name for p in written) == ["ope.json", "ope.md", "ope.png"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [
        "ope.json",
        "ope.md",
        "ope.png",
    ]
    assert all(p.parent == folder for p in written)
    assert (folder / "ope.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((folder / "ope.json").read_text())
    assert set(data) >= {
        "dataset",
        "target",
        "description",
        "reward_event",
        "n_rounds_fit",
        "n_rounds_eval",
        "logged",
        "estimates",
        "weights",
        "settings",
        "rates",
    }
    assert data["target"] == "greedy-ctr"
    assert set(data["logged"]) == {"mean", "lower", "upper", "standard_error"}
    assert [e["estimator"] for e in data["estimates"]] == analysis.table["estimator"].to_list()
    assert set(data["estimates"][0]) == {
        "estimator",
        "estimate",
        "lower",
        "upper",
        "standard_error",
        "ratio_to_logged",
    }
    page = (folder / "ope.md").read_text()
    assert "| estimator | estimate | 95% interval | standard error | ratio to logged |" in page
    assert "| logged (on-policy) |" in page
    for name in analysis.table["estimator"]:
        assert f"\n| {name} | " in page
        assert f"- {name}: " in page
    assert "![estimates](ope.png)" in page


def test_nothing_earned_gives_null_ratios_in_json(tmp_path: Path) -> None:
    quiet = [(item, 0) for item, _ in EVAL_ROUNDS]
    analysis = analyse_ope(
        tiny(FIT_ROUNDS + quiet), target=TargetPolicy.UNIFORM, n_bootstrap=N_BOOT
    )
    assert analysis.logged.mean == 0.0
    assert np.isnan(analysis.table["ratio_to_logged"].to_numpy()).all()
    write_ope_report(analysis, tmp_path)
    data = json.loads((tmp_path / "ope.json").read_text())
    assert {e["ratio_to_logged"] for e in data["estimates"]} == {None}


def _without_events() -> Dataset:
    return Dataset(items=tiny().items, name="tiny")


def _drop(column: str) -> Dataset:
    data = tiny()
    assert data.events is not None
    return Dataset(items=data.items, events=Events(data.events.frame.drop(column)), name="tiny")


def _only_clicks() -> Dataset:
    data = tiny()
    assert data.events is not None
    frame = data.events.frame.filter(pl.col("event") == "click")
    return Dataset(items=data.items, events=Events(frame), name="tiny")


@pytest.mark.parametrize(
    ("make", "options", "message"),
    [
        (_without_events, {}, "has no events table"),
        (lambda: _drop("propensity"), {}, "no 'propensity' column"),
        (lambda: _drop("position"), {}, "no 'position' column"),
        (_only_clicks, {}, "hold no impressions"),
        (tiny, {"fit_fraction": 0.0}, r"fit_fraction must be in \(0, 1\)"),
        (tiny, {"fit_fraction": 1.0}, r"fit_fraction must be in \(0, 1\)"),
        (tiny, {"fit_fraction": 0.99}, "leaves the second fold empty"),
        (tiny, {"temperature": 0.0}, "temperature must be positive"),
        (tiny, {"temperature": -1.0}, "temperature must be positive"),
        (tiny, {"clip": 0.0}, "clip must be positive"),
        (tiny, {"switch_tau": -1.0}, "switch_tau must be at least 0"),
        (tiny, {"alpha": 1.5}, "alpha must be"),
        (tiny, {"n_bootstrap": 0}, "n_bootstrap must be"),
        (tiny, {"reward_event": EventType.IMPRESSION}, "not impression"),
        (tiny, {"target": "best"}, "unknown target policy 'best'"),
        (
            lambda: tiny([(item, 0) for item, _ in FIT_ROUNDS] + EVAL_ROUNDS),
            {"target": TargetPolicy.GREEDY_CTR},
            "first fold \\(10 rounds\\) has no click events",
        ),
        (
            tiny,
            {"target": TargetPolicy.SOFTMAX_CTR, "reward_event": EventType.PURCHASE},
            "has no purchase events",
        ),
    ],
)
def test_bad_input_is_explained(make: Any, options: dict[str, Any], message: str) -> None:
    kwargs: dict[str, Any] = {"target": TargetPolicy.UNIFORM, "n_bootstrap": N_BOOT} | options
    with pytest.raises(ValueError, match=message):
        analyse_ope(make(), **kwargs)


def test_a_uniform_target_needs_no_rewards_to_fit() -> None:
    data = tiny([(item, 0) for item, _ in FIT_ROUNDS] + EVAL_ROUNDS)
    analysis = analyse_ope(data, target=TargetPolicy.UNIFORM, n_bootstrap=N_BOOT)
    assert value(analysis, "IPS") == pytest.approx(0.375)


@pytest.mark.network
def test_greedy_target_on_the_open_bandit_dataset(tmp_path: Path) -> None:
    from paretorec.data.datasets import BuiltinDataset, load_builtin

    data = load_builtin(BuiltinDataset.OBD_RANDOM_ALL, cache=REPO_CACHE)
    start = time.perf_counter()
    analysis = analyse_ope(data, target=TargetPolicy.GREEDY_CTR, n_bootstrap=N_BOOT)
    seconds = time.perf_counter() - start
    assert seconds < 15
    assert (analysis.n_rounds_fit, analysis.n_rounds_eval) == (5000, 5000)
    assert (analysis.n_actions, analysis.len_list) == (80, 3)
    assert analysis.logged.mean == pytest.approx(19 / 5000)  # 38 clicks in 10,000 rounds
    assert analysis.logged.lower <= analysis.logged.mean <= analysis.logged.upper
    for row in analysis.table.iter_rows(named=True):
        assert row["lower"] <= row["estimate"] <= row["upper"], row
    # the logger is uniform over 80 items: greedy's weight is 80 where it agrees, else 0
    assert analysis.weights.max == pytest.approx(80.0)
    assert write_ope_report(analysis, tmp_path)
