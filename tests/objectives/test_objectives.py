"""Objectives: hand-checked values, [0, 1] and ideal-list invariants, bad inputs."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy

from paretorec.evaluate.metrics import ndcg_at_k
from paretorec.objectives.base import ListContext, Objective, evaluate_objectives
from paretorec.objectives.catalog import (
    MISCALIBRATION,
    NDCG,
    STANDARD_OBJECTIVES,
    calibration_kl,
    category_diversity,
    embedding_diversity,
    expected_clicks,
    expected_margin,
    expected_purchases,
    expected_revenue,
    exposure_fairness,
    miscalibration,
    ndcg,
    novelty,
)
from paretorec.objectives.kernels import Gain
from paretorec.types import Direction

LOG3 = math.log2(3)


def test_ndcg_by_hand_with_the_ideal_from_all_candidates() -> None:
    context = ListContext(grades=np.array([0.0, 1.0, 2.0, 0.0]))
    # list [1, 0]: gains (2^1-1, 0) -> DCG = 1; ideal of length 2: gains 3, 1 -> 3 + 1/log2(3)
    assert ndcg([1, 0], context) == pytest.approx(1 / (3 + 1 / LOG3), abs=1e-15)
    # linear gain: DCG = 1; ideal 2 + 1/log2(3)
    assert ndcg([1, 0], context, gain=Gain.LINEAR) == pytest.approx(1 / (2 + 1 / LOG3), abs=1e-15)
    assert ndcg([2, 1], context) == 1.0
    assert ndcg([0, 3], context) == 0.0
    assert ndcg([0], ListContext(grades=np.zeros(3))) == 0.0  # nothing to gain


def test_ndcg_objective_equals_the_metric_when_candidates_hold_every_relevant_item() -> None:
    grades = np.array([0.0, 3.0, 1.0, 2.0, 0.0, 1.0])
    ranking = [4, 2, 1, 0]
    relevant = np.flatnonzero(grades)
    metric = ndcg_at_k(ranking, relevant, k=4, grades=grades[relevant])
    assert ndcg(ranking, ListContext(grades=grades)) == pytest.approx(metric, abs=1e-15)


def test_expected_feedback_by_hand() -> None:
    context = ListContext(
        click_probs=np.array([0.1, 0.5, 0.2]),
        purchase_probs=np.array([1.0, 0.2, 0.5]),
        prices=np.array([10.0, 10.0, 100.0]),
        margins=np.array([1.0, 5.0, 0.0]),
        examination=np.array([1.0, 0.5]),
    )
    # clicks: 1 * 0.1 + 0.5 * 0.5 = 0.35; ideal 1 * 0.5 + 0.5 * 0.2 = 0.6
    assert expected_clicks([0, 1], context) == pytest.approx(0.35 / 0.6, abs=1e-15)
    # purchases c*b = (0.1, 0.1, 0.1): every list of two earns 1.5 * 0.1 -> 1
    assert expected_purchases([0, 2], context) == pytest.approx(1.0, abs=1e-15)
    # revenue c*b*price = (1, 1, 10): [0, 1] -> 1 + 0.5 = 1.5; ideal 10 + 0.5 = 10.5
    assert expected_revenue([0, 1], context) == pytest.approx(1.5 / 10.5, abs=1e-15)
    # margin c*b*margin = (0.1, 0.5, 0): [2, 0] -> 0 + 0.05; ideal 0.5 + 0.05
    assert expected_margin([2, 0], context) == pytest.approx(0.05 / 0.55, abs=1e-15)


def test_default_examination_is_the_log_discount() -> None:
    context = ListContext(click_probs=np.array([0.2, 0.4]))
    # [0, 1]: 0.2 + 0.4/log2(3); ideal 0.4 + 0.2/log2(3)
    expected = (0.2 + 0.4 / LOG3) / (0.4 + 0.2 / LOG3)
    assert expected_clicks([0, 1], context) == pytest.approx(expected, abs=1e-15)


def test_diversity_by_hand() -> None:
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    context = ListContext(embeddings=embeddings, categories=np.array(["a", "a", "b", "c"]))
    # cosine distances: (0,1) 1, (0,2) 1 - 1/sqrt2, (1,2) 1 - 1/sqrt2; halved
    expected = (1 + 2 * (1 - 1 / math.sqrt(2))) / 3 / 2
    assert embedding_diversity([0, 1, 2], context) == pytest.approx(expected, abs=1e-15)
    assert embedding_diversity([0, 3], context) == pytest.approx(0.0, abs=1e-15)  # same direction
    # categories a, a, b, c: 6 pairs, 1 of them same -> 5/6
    assert category_diversity([0, 1, 2, 3], context) == pytest.approx(5 / 6, abs=1e-15)


def test_novelty_by_hand() -> None:
    context = ListContext(popularity=np.array([0.5, 0.25, 0.125, 0.125]))
    # self-information 1, 2, 3, 3 bits; [0, 1] -> 1.5; the 2 most novel -> 3
    assert novelty([0, 1], context) == 0.5
    assert novelty([3, 2], context) == 1.0


def test_exposure_fairness_by_hand() -> None:
    context = ListContext(sellers=np.array(["x", "x", "y", "z"]))
    assert exposure_fairness([0, 1], context) == 0.0  # one seller has it all
    # [0, 2]: exposure 1 and 1/log2(3); entropy of the shares over ln 2
    shares = np.array([1.0, 1 / LOG3]) / (1 + 1 / LOG3)
    assert exposure_fairness([0, 2], context) == pytest.approx(
        entropy(shares) / math.log(2), abs=1e-15
    )
    # uniform examination: two sellers with equal exposure -> 1
    flat = ListContext(sellers=np.array(["x", "y"]), examination=np.array([0.5, 0.5]))
    assert exposure_fairness([1, 0], flat) == pytest.approx(1.0, abs=1e-15)
    assert exposure_fairness([0], flat) == 1.0  # one slot: as fair as it can be


def test_calibration_by_hand_and_against_scipy() -> None:
    context = ListContext(
        categories=np.array(["A", "A", "B"]), history_categories=np.array(["A", "A", "A", "B"])
    )
    # p = (3/4, 1/4), list [0, 1] -> q = (1, 0); q~ = 0.99 q + 0.01 p = (0.9975, 0.0025)
    kl = 0.75 * math.log(0.75 / 0.9975) + 0.25 * math.log(0.25 / 0.0025)
    assert calibration_kl([0, 1], context) == pytest.approx(kl, abs=1e-15)
    assert miscalibration([0, 1], context) == pytest.approx(1 - math.exp(-kl), abs=1e-15)
    p, q = np.array([0.75, 0.25]), np.array([0.5, 0.5])
    reference = entropy(p, 0.99 * q + 0.01 * p)  # scipy: sum p ln(p / q)
    assert calibration_kl([0, 2], context) == pytest.approx(reference, abs=1e-12)


# ---------------------------------------------------------------- invariants


@st.composite
def contexts(draw: st.DrawFn) -> tuple[ListContext, np.ndarray]:
    n = draw(st.integers(2, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    context = ListContext(
        grades=rng.integers(0, 4, n).astype(float),
        click_probs=rng.random(n),
        purchase_probs=rng.random(n),
        prices=rng.lognormal(3, 1, n),
        margins=rng.random(n) * 10,
        categories=rng.choice(["a", "b", "c"], n),
        sellers=rng.integers(0, 4, n),
        embeddings=rng.standard_normal((n, 3)),
        popularity=rng.dirichlet(np.ones(n)).clip(1e-9, 1),
        history_categories=rng.choice(["a", "b", "d"], draw(st.integers(1, 6))),
    )
    ranking = rng.permutation(n)[: draw(st.integers(2, n))]
    return context, ranking


@settings(max_examples=80)
@given(case=contexts())
def test_every_standard_objective_lies_in_the_unit_interval(
    case: tuple[ListContext, np.ndarray],
) -> None:
    context, ranking = case
    values = evaluate_objectives(STANDARD_OBJECTIVES, ranking, context)
    assert set(values) == {o.name for o in STANDARD_OBJECTIVES}
    assert all(0.0 <= v <= 1.0 for v in values.values())


@settings(max_examples=60)
@given(case=contexts())
def test_the_ideal_list_scores_one(case: tuple[ListContext, np.ndarray]) -> None:
    context, ranking = case
    length = ranking.size
    assert context.grades is not None and context.click_probs is not None
    assert context.popularity is not None
    best_grades = np.argsort(-context.grades, kind="stable")[:length]
    if context.grades.any():
        assert ndcg(best_grades, context) == pytest.approx(1.0, abs=1e-12)
    assert expected_clicks(np.argsort(-context.click_probs)[:length], context) == pytest.approx(
        1.0, abs=1e-12
    )
    assert novelty(np.argsort(context.popularity)[:length], context) == pytest.approx(
        1.0, abs=1e-12
    )


def test_directions_and_orientation() -> None:
    assert NDCG.direction is Direction.MAXIMIZE
    assert MISCALIBRATION.direction is Direction.MINIMIZE
    assert MISCALIBRATION.to_maximize(0.25) == 0.75
    assert NDCG.to_maximize(0.25) == 0.25
    names = [o.name for o in STANDARD_OBJECTIVES]
    assert len(names) == len(set(names))


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (dict, "at least one"),
        (lambda: {"grades": [1.0, -1.0]}, ">= 0"),
        (lambda: {"grades": [1.0, np.nan]}, "non-finite"),
        (lambda: {"click_probs": [0.5, 1.5]}, r"\[0, 1\]"),
        (lambda: {"popularity": [0.0, 0.5]}, r"\(0, 1\]"),
        (lambda: {"grades": [1.0], "prices": [1.0, 2.0]}, "differ in length"),
        (lambda: {"embeddings": [1.0, 2.0]}, "2-D"),
        (lambda: {"categories": [["a"]]}, "1-D"),
    ],
)
def test_bad_contexts_raise(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ListContext(**build())


@pytest.mark.parametrize(
    ("objective", "ranking", "context", "message"),
    [
        (ndcg, [], ListContext(grades=[1.0, 0.0]), "empty"),
        (ndcg, [0, 0], ListContext(grades=[1.0, 0.0]), "more than once"),
        (ndcg, [0, 2], ListContext(grades=[1.0, 0.0]), r"\[0, 2\)"),
        (ndcg, [0.5], ListContext(grades=[1.0, 0.0]), "integer"),
        (ndcg, [0], ListContext(click_probs=[0.1]), "ListContext.grades"),
        (
            expected_revenue,
            [0],
            ListContext(click_probs=[0.1]),
            "purchase_probs, ListContext.prices",
        ),
        (
            expected_clicks,
            [0, 1],
            ListContext(click_probs=[0.1, 0.2], examination=[1.0]),
            "covers 1",
        ),
        (embedding_diversity, [0], ListContext(embeddings=[[1.0, 0.0]]), "at least two"),
        (
            embedding_diversity,
            [0, 1],
            ListContext(embeddings=[[1.0, 0.0], [0.0, 0.0]]),
            "zero norm",
        ),
        (category_diversity, [0], ListContext(categories=["a"]), "at least two"),
        (
            miscalibration,
            [0],
            ListContext(categories=["a"], history_categories=np.array([], dtype=str)),
            "non-empty",
        ),
        (exposure_fairness, [0], ListContext(sellers=["s"], examination=[0.0]), "examination"),
    ],
)
def test_bad_rankings_and_missing_fields_raise(
    objective: Any, ranking: Any, context: ListContext, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        objective(ranking, context)


def test_an_objective_out_of_range_and_repeated_names_raise() -> None:
    broken = Objective("broken", Direction.MAXIMIZE, lambda ranking, context: 1.5)
    with pytest.raises(ValueError, match="outside"):
        broken([0], ListContext(grades=[1.0]))
    with pytest.raises(ValueError, match="repeat"):
        evaluate_objectives((NDCG, NDCG), [0], ListContext(grades=[1.0]))
