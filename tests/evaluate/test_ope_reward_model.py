"""The cross-fitted reward model of DM and the doubly robust estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression, LogisticRegression

from paretorec.evaluate.ope import DM, DR, CrossFittedRewardModel


class Memorizer(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Predicts 1 for a row whose first feature (the round's id) it was trained on."""

    def fit(self, X: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Memorizer:
        self.seen_ = set(X[:, 0].tolist())
        return self

    def predict(self, X: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.array([1.0 if v in self.seen_ else 0.0 for v in X[:, 0]])


def log(n: int = 120, n_actions: int = 4, len_list: int = 2, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {
        "context": np.arange(n, dtype=float)[:, None],  # the round's id
        "action": rng.integers(0, n_actions, n),
        "reward": rng.binomial(1, 0.3, n).astype(float),
        "position": rng.integers(0, len_list, n),
        "n_actions": n_actions,
        "len_list": len_list,
    }


def test_no_round_is_predicted_by_a_model_that_saw_it() -> None:
    fitted = CrossFittedRewardModel(base_model=Memorizer(), n_folds=4, seed=1).fit_predict(**log())
    assert fitted.estimated_rewards.shape == (120, 4, 2)
    # every action and position of every round: never a model trained on that round
    assert (fitted.estimated_rewards == 0.0).all()
    assert sorted(np.bincount(fitted.fold).tolist()) == [30, 30, 30, 30]


def test_without_cross_fitting_the_memorizer_would_give_it_away() -> None:
    # sanity check of the test above: a model fitted on all rounds predicts 1 everywhere
    data = log()
    model = Memorizer().fit(data["context"], data["reward"])
    assert (model.predict(data["context"]) == 1.0).all()


def test_folds_are_seeded_and_respect_groups() -> None:
    model = CrossFittedRewardModel(n_folds=3, seed=4)
    assert (model.folds(30) == model.folds(30)).all()
    assert not (model.folds(30) == CrossFittedRewardModel(n_folds=3, seed=5).folds(30)).all()
    groups = np.repeat(np.arange(10), 3)
    fold = model.folds(30, groups)
    assert all(len(set(fold[groups == g].tolist())) == 1 for g in range(10))
    data = log(n=30)
    data["context"] = groups[:, None].astype(float)  # the group's id: a memorizer of groups
    fitted = CrossFittedRewardModel(base_model=Memorizer(), n_folds=3, seed=4).fit_predict(
        **data, groups=groups
    )
    assert (fitted.estimated_rewards == 0.0).all()


def test_logistic_default_gives_probabilities_that_follow_the_data() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    action = rng.integers(0, 3, n)
    reward = rng.binomial(1, np.array([0.1, 0.5, 0.9])[action]).astype(float)
    fitted = CrossFittedRewardModel(n_folds=2, seed=0).fit_predict(
        action=action, reward=reward, n_actions=3
    )
    q = fitted.estimated_rewards
    assert q.shape == (n, 3, 1)
    assert ((q > 0) & (q < 1)).all()
    assert q[:, :, 0].mean(axis=0) == pytest.approx([0.1, 0.5, 0.9], abs=0.05)


def test_any_regressor_and_shared_or_per_round_action_features() -> None:
    rng = np.random.default_rng(1)
    n, n_actions = 400, 5
    features = rng.normal(size=(n_actions, 2))
    action = rng.integers(0, n_actions, n)
    reward = features[action] @ np.array([1.0, -2.0]) + 0.5
    shared = CrossFittedRewardModel(base_model=LinearRegression(), n_folds=2).fit_predict(
        action=action, reward=reward, n_actions=n_actions, action_context=features
    )
    exact = features @ np.array([1.0, -2.0]) + 0.5
    assert shared.estimated_rewards[:, :, 0] == pytest.approx(np.tile(exact, (n, 1)))
    per_round = CrossFittedRewardModel(base_model=LinearRegression(), n_folds=2).fit_predict(
        action=action,
        reward=reward,
        n_actions=n_actions,
        action_context=np.tile(features, (n, 1, 1)),
    )
    assert per_round.estimated_rewards == pytest.approx(shared.estimated_rewards)


def test_a_fold_with_one_class_predicts_it() -> None:
    data = log(n=20)
    data["reward"] = np.zeros(20)
    fitted = CrossFittedRewardModel(n_folds=2).fit_predict(**data)
    assert (fitted.estimated_rewards == 0.0).all()


def test_feeds_dm_and_dr() -> None:
    data = log(n=300, len_list=1)
    data.pop("position")
    q = CrossFittedRewardModel(n_folds=3).fit_predict(**data).estimated_rewards
    dist = np.full((300, 4, 1), 0.25)
    dm = DM().estimate_policy_value(action_dist=dist, estimated_rewards_by_reg_model=q)
    dr = DR().estimate_policy_value(
        reward=data["reward"],
        action=data["action"],
        pscore=np.full(300, 0.25),
        action_dist=dist,
        estimated_rewards_by_reg_model=q,
    )
    assert 0.1 < dm < 0.5 and 0.1 < dr < 0.5


def test_bad_settings_and_inputs() -> None:
    with pytest.raises(ValueError, match="n_folds must be an integer of at least 2"):
        CrossFittedRewardModel(n_folds=1)
    with pytest.raises(ValueError, match="seed must be an integer"):
        CrossFittedRewardModel(seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scikit-learn estimator"):
        CrossFittedRewardModel(base_model=object())  # type: ignore[arg-type]
    model = CrossFittedRewardModel(base_model=LogisticRegression(), n_folds=2)
    data = log(n=10)
    with pytest.raises(ValueError, match="rewards of 0 or 1"):
        model.fit_predict(**{**data, "reward": np.linspace(0, 2, 10)})
    with pytest.raises(ValueError, match="reward must be finite"):
        model.fit_predict(**{**data, "reward": np.full(10, np.nan)})
    with pytest.raises(ValueError, match=r"action\[0\] = 9 is outside"):
        model.fit_predict(**{**data, "action": np.full(10, 9)})
    with pytest.raises(ValueError, match="reward has 5 rounds but action has 10"):
        model.fit_predict(**{**data, "reward": np.zeros(5)})
    with pytest.raises(ValueError, match="context must have shape"):
        model.fit_predict(**{**data, "context": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="action_context must have shape"):
        model.fit_predict(**data, action_context=np.zeros((7, 2)))
    with pytest.raises(ValueError, match="non-empty"):
        model.fit_predict(**{**data, "action": np.zeros(0, int)})
    with pytest.raises(ValueError, match="at least n_folds = 5"):
        CrossFittedRewardModel(n_folds=5).fit_predict(**log(n=3))
