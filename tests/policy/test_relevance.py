"""Relevance as an objective of the policy (#19): the list's NDCG against the shopper's
true grades in the reward, a predicted relevance as the policy's input, and a policy that
ranks more relevant lists as w_relevance grows."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.objectives import ListContext
from paretorec.objectives.catalog import ndcg
from paretorec.policy import (
    OnPolicyConfig,
    PolicyObjective,
    PreferencePolicy,
    SimulatorTask,
    front_of,
    make_task,
    parse_objectives,
    policy_config,
    policy_rank_fn,
    rank,
    save_policy,
    served_front,
    simulator_meta,
    train_on_policy,
)
from paretorec.policy.predictors import (
    LOGGED_TASKS,
    RELEVANCE_TASK,
    LoggedFeedbackModel,
    RelevanceModel,
)
from paretorec.policy.rewards import list_ndcg, scalarize
from paretorec.policy.simulator import ITEM_FEATURE_NAMES, fit_relevance_model
from paretorec.simulate.sessions import MAX_GRADE, graded_relevance
from tests.policy.conftest import TINY_SPEC

Obj = PolicyObjective
OBJECTIVES = (Obj.CLICKS, Obj.DIVERSITY, Obj.RELEVANCE)


@pytest.fixture(scope="module")
def relevance_task() -> SimulatorTask:
    return make_task(TINY_SPEC, OBJECTIVES, log_sessions=3000, seed=1)


@pytest.fixture(scope="module")
def trained(relevance_task: SimulatorTask) -> PreferencePolicy:
    torch.manual_seed(0)
    policy = PreferencePolicy(policy_config(relevance_task))
    train_on_policy(policy, relevance_task, OnPolicyConfig(steps=30, batch_sessions=128, seed=0))
    return policy


def test_list_ndcg_on_a_hand_checked_case() -> None:
    grades = np.array([[3.0, 0.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    lists = np.array([[1, 0], [2, 3]])
    # gains 2^g - 1 = (7, 0, 1, 3); the list (0, 7) against the ideal (7, 3)
    expected = (7 / math.log2(3)) / (7 + 3 / math.log2(3))
    np.testing.assert_allclose(list_ndcg(grades, lists), [expected, 0.0], rtol=1e-12)
    assert list_ndcg(grades[:1], np.array([[0, 3]]))[0] == pytest.approx(1.0)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 8), st.integers(1, 8))
def test_list_ndcg_is_the_packages_ndcg(seed: int, c: int, k: int) -> None:
    k = min(k, c)
    rng = np.random.default_rng(seed)
    grades = rng.choice([0.0, 0.4, 0.9, 2.0, 3.5], size=(3, c))
    lists = np.argsort(rng.random((3, c)), axis=1)[:, :k]
    want = [ndcg(lists[i], ListContext(grades=grades[i])) for i in range(3)]
    np.testing.assert_allclose(list_ndcg(grades, lists), want, rtol=1e-12, atol=1e-15)


def test_list_ndcg_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        list_ndcg(np.array([[-1.0, 1.0]]), np.array([[0, 1]]))
    with pytest.raises(ValueError, match="must match"):
        list_ndcg(np.ones((2, 3)), np.zeros((1, 2), dtype=np.int64))


def test_relevance_is_a_known_objective() -> None:
    assert parse_objectives(["clicks", "relevance"]) == (Obj.CLICKS, Obj.RELEVANCE)
    with pytest.raises(ValueError, match="relevance"):  # the message lists it as known
        parse_objectives(["ndcg"])


def test_the_reward_holds_the_lists_ndcg_against_the_true_grades(
    relevance_task: SimulatorTask,
) -> None:
    env = relevance_task.env(64, seed=5)
    obs = env.reset(seed=5)
    rng = np.random.default_rng(0)
    lists = np.argsort(rng.random((64, obs.n_candidates)), axis=1)[:, :5]
    truth = graded_relevance(relevance_task.world, env._intent, obs.candidates)  # type: ignore[arg-type]
    np.testing.assert_array_equal(env.candidate_grades(), truth)
    ndcg_all = list_ndcg(truth, lists)
    # search sessions only: in browsing the grades are against an intent the policy cannot
    # see (its relevance input is 0 there), so the reward there is 0, not that NDCG
    browsing = ~obs.is_search
    assert browsing.any() and obs.is_search.any() and (ndcg_all[browsing] > 0).any()
    want = np.where(obs.is_search, ndcg_all, 0.0)
    expected = relevance_task.expected_objectives(env, lists)
    np.testing.assert_array_equal(expected[Obj.RELEVANCE], want)
    sampled = relevance_task.sampled_objectives(env, lists)  # graded before the step
    np.testing.assert_array_equal(sampled[Obj.RELEVANCE], want)
    # R = sum_k w_k y_k holds w_relevance * y_relevance
    w = np.tile([0.2, 0.3, 0.5], (64, 1))
    reward = scalarize(expected, OBJECTIVES, w)
    np.testing.assert_allclose(
        reward, 0.2 * expected[Obj.CLICKS] + 0.3 * expected[Obj.DIVERSITY] + 0.5 * want
    )


def test_the_true_grade_on_a_hand_checked_item(relevance_task: SimulatorTask) -> None:
    from paretorec.simulate.sessions import Intent

    world = relevance_task.world
    it = world.items
    item = 7
    other = int(np.flatnonzero(it.department != it.department[item])[0])
    attribute = int(it.attributes[item, 0])
    intent = Intent(
        leaf=np.array([it.leaf[item]]),
        brand=np.array([it.brand[item]]),
        attribute=np.array([attribute]),
        is_search=np.array([True]),
    )
    grades = graded_relevance(world, intent, np.array([[item, other]]))
    brand = 1.0 if it.brand[item] >= 0 else 0.0
    assert grades[0, 0] == pytest.approx(2.0 + brand + (0.5 if attribute >= 0 else 0.0))
    assert grades[0, 1] == (0.5 if (it.attributes[other] == attribute).any() else 0.0) + (
        1.0 if it.brand[item] >= 0 and it.brand[other] == it.brand[item] else 0.0
    )
    assert grades.max() <= MAX_GRADE


def test_the_predictor_learns_relevance_from_the_match_features(
    relevance_task: SimulatorTask,
) -> None:
    predictor = relevance_task.predictor
    assert isinstance(predictor, LoggedFeedbackModel) and predictor.relevance is not None
    assert predictor.tasks == (*LOGGED_TASKS, RELEVANCE_TASK)
    coef = dict(zip(ITEM_FEATURE_NAMES, predictor.relevance.coef, strict=True))
    # only the match features count, and a leaf match counts most (2 of 3.5 grade points)
    assert all(coef[n] == 0.0 for n in ("popularity_z", "rating", "price_z", "in_stock"))
    assert coef["leaf_match"] + coef["department_match"] == pytest.approx(2 / 3.5, abs=0.05)
    assert coef["brand_match"] == pytest.approx(1 / 3.5, abs=0.05)
    env = relevance_task.env(32, seed=2)
    inputs = relevance_task.inputs(env.reset(seed=2))
    values = inputs.predictions[RELEVANCE_TASK]
    assert values.min() >= 0.0 and values.max() <= 1.0
    again = LoggedFeedbackModel.from_json(predictor.to_json())
    assert again == predictor


def test_a_model_saved_before_relevance_loads_without_it() -> None:
    data = {
        "kind": "logged_feedback_logistic",
        "n_positions": 2,
        "click": {"coef": [0.0] * 13, "intercept": -1.0},
        "purchase_given_click": {"coef": [0.0] * 11, "intercept": -1.0},
    }
    old = LoggedFeedbackModel.from_json(data)
    assert old.relevance is None and old.tasks == LOGGED_TASKS
    predicted = old.predict_features(np.zeros((1, 3, 11)), np.ones((1, 3)))
    assert set(predicted) == set(LOGGED_TASKS)


def test_the_relevance_fit_recovers_an_additive_grade() -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(500, 11)).astype(np.float64)
    grades = 2.0 * x[:, 0] + 1.0 * x[:, 2] + 0.5 * x[:, 3]
    model = fit_relevance_model(x, grades)
    np.testing.assert_allclose(model.coef[:4], [2 / 3.5, 0.0, 1 / 3.5, 0.5 / 3.5], atol=1e-9)
    assert model.intercept == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="judged items"):
        RelevanceModel.fit(x[:3], grades[:3], max_grade=3.5, columns=[0, 1, 2, 3])


def test_raising_w_relevance_raises_the_lists_relevance(
    relevance_task: SimulatorTask, trained: PreferencePolicy
) -> None:
    grid = np.array([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5], [0.0, 0.0, 1.0]])
    front = front_of(relevance_task, policy_rank_fn(trained, 5), grid, n_sessions=600, seed=9)
    relevance = front.values[:, OBJECTIVES.index(Obj.RELEVANCE)]
    assert relevance[0] < relevance[1] < relevance[2], relevance
    assert relevance[2] - relevance[0] > 0.1


def test_the_explanation_has_a_relevance_part(
    relevance_task: SimulatorTask, trained: PreferencePolicy
) -> None:
    inputs = relevance_task.inputs(relevance_task.env(8, seed=3).reset(seed=3))
    lists = rank(trained, inputs, np.array([0.3, 0.3, 0.4]), 5)
    assert set(lists.contributions) == {"clicks", "diversity", "relevance"}
    total = sum(lists.contributions.values())
    np.testing.assert_allclose(total, lists.scores, atol=1e-5)
    assert np.abs(lists.contributions["relevance"]).sum() > 0
    assert set(lists.places) == {"clicks", "diversity", "relevance"}
    off = rank(trained, inputs, np.array([0.5, 0.5, 0.0]), 5)
    assert np.all(off.contributions["relevance"] == 0.0)  # no weight, no part


def test_a_saved_relevance_policy_serves_its_front(
    relevance_task: SimulatorTask, trained: PreferencePolicy, tmp_path: Path
) -> None:
    save_policy(tmp_path, trained, extra=simulator_meta(relevance_task))
    front = served_front(tmp_path, np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]), n_sessions=300)
    assert front.objectives == ("clicks", "diversity", "relevance")
    assert front.values[1, 2] > front.values[0, 2]


def test_pareto_draws_the_relevance_of_a_policy_trained_on_it(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from paretorec.cli import app

    models, out = tmp_path / "models", tmp_path / "report"
    runner = CliRunner()
    train = ["train", "policy", "--simulator", "--models", str(models), "--sessions", "128",
             "--batch", "64", "--items", "400", "--users", "100", "--seed", "1",
             "--log-sessions", "2000", "--objectives", "clicks,diversity,relevance"]  # fmt: skip
    assert runner.invoke(app, train).exit_code == 0
    args = ["pareto", "--policy", "promoted", "--models", str(models), "--divisions", "1",
            "--sessions", "30", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"w_relevance", "relevance"} <= set(metrics["chosen"])
    assert 0.0 <= metrics["chosen"]["relevance"] <= 1.0


def test_the_ranker_predictor_gains_the_relevance_column() -> None:
    from paretorec.policy import PredictorKind, RankerPredictor

    task = make_task(
        TINY_SPEC, (Obj.CLICKS, Obj.RELEVANCE), log_sessions=1500, seed=2,
        predictor=PredictorKind.RANKER,
    )  # fmt: skip
    assert isinstance(task.predictor, RankerPredictor) and task.predictor.relevance is not None
    assert task.predictor.tasks == ("click", "purchase", "revenue", RELEVANCE_TASK)
    config = policy_config(task, hidden=8)
    assert ("relevance", RELEVANCE_TASK) in config.links
    obs = task.env(6).reset(seed=4)
    predicted = task.predictor.predict_observation(obs)
    # computed apart from the predictor's code path: the fitted coefficients on the
    # observation's own match fields, clipped to [0, 1]
    model = task.predictor.relevance
    coef = dict(zip(ITEM_FEATURE_NAMES, model.coef, strict=True))
    f = obs.features
    raw = model.intercept + sum(
        coef[name] * getattr(f, name)
        for name in ("leaf_match", "department_match", "brand_match", "attribute_match")
    )
    want = np.clip(raw, 0.0, 1.0)
    assert predicted[RELEVANCE_TASK].shape == obs.candidates.shape
    assert not np.allclose(want, want.flat[0])  # the check has something to tell apart
    np.testing.assert_allclose(predicted[RELEVANCE_TASK], want, atol=1e-12)
