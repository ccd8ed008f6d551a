"""Cross-fitted reward models for DM and the doubly robust estimators.

q_hat(x, a, k) is learned from the log by any scikit-learn classifier (its predicted
probability of the positive class, rewards 0/1) or regressor, on the features
[context x, the action's one-hot (or its `action_context` row), the position's one-hot
(when len_list > 1)], as obp's `RegressionModel` does (which fits one model per position
instead of a position feature). Cross-fitting: the rounds are split at random into
`n_folds` folds, seeded, and each fold's predictions, for every action and position, come
from a model fitted on the other folds only, so no round is predicted by a model that saw
it (Chernozhukov et al. 2018; obp's `fit_predict(n_folds=...)`). With `groups` (e.g. the
slate of each row) a group's rows share a fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sklearn.base import clone, is_classifier
from sklearn.linear_model import LogisticRegression

from paretorec.evaluate.ope.base import FloatArray, IntArray, as_float_vector, as_index_vector


class SklearnModel(Protocol):
    """A scikit-learn estimator: `fit(X, y)`, then `predict` (or `predict_proba`)."""

    def fit(self, X: Any, y: Any) -> Any: ...

    def predict(self, X: Any) -> Any: ...


def default_base_model() -> SklearnModel:
    """Logistic regression (lbfgs, 1000 iterations): the default for 0/1 rewards."""
    model: SklearnModel = LogisticRegression(max_iter=1000)
    return model


@dataclass(frozen=True)
class CrossFittedRewards:
    """q_hat for every round, action and position, shape (n_rounds, n_actions, len_list),
    and the fold each round was held out in (its predictions come from the model fitted
    on the other folds)."""

    estimated_rewards: FloatArray
    fold: IntArray


@dataclass(frozen=True)
class CrossFittedRewardModel:
    """Fits `base_model` (cloned, never changed) on all folds but one and predicts the
    held-out fold, for each of `n_folds` folds drawn from `seed`."""

    base_model: SklearnModel = field(default_factory=default_base_model)
    n_folds: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if not (hasattr(self.base_model, "fit") and hasattr(self.base_model, "predict")):
            raise ValueError("base_model must be a scikit-learn estimator with fit and predict")
        if isinstance(self.n_folds, bool) or not isinstance(self.n_folds, int) or self.n_folds < 2:
            raise ValueError(
                f"n_folds must be an integer of at least 2 (cross-fitting), got {self.n_folds!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")

    def folds(self, n_rounds: int, groups: npt.ArrayLike | None = None) -> IntArray:
        """The fold of each round (0..n_folds - 1): a seeded shuffle cut into n_folds
        near-equal parts, of the rounds or, with `groups`, of the groups."""
        rng = np.random.default_rng(self.seed)
        if groups is None:
            codes = np.arange(n_rounds)
        else:
            g = np.asarray(groups)
            if g.shape != (n_rounds,):
                raise ValueError(f"groups must have shape ({n_rounds},), got {g.shape}")
            _, codes = np.unique(g, return_inverse=True)
            codes = codes.reshape(-1)
        n_units = int(codes.max()) + 1 if codes.size else 0
        if n_units < self.n_folds:
            raise ValueError(
                f"cross-fitting needs at least n_folds = {self.n_folds} rounds (or groups), "
                f"got {n_units}"
            )
        unit_fold = np.empty(n_units, dtype=np.int64)
        for f, part in enumerate(np.array_split(rng.permutation(n_units), self.n_folds)):
            unit_fold[part] = f
        out: IntArray = unit_fold[codes]
        return out

    def fit_predict(
        self,
        *,
        action: npt.ArrayLike,
        reward: npt.ArrayLike,
        n_actions: int,
        context: npt.ArrayLike | None = None,
        position: npt.ArrayLike | None = None,
        len_list: int = 1,
        action_context: npt.ArrayLike | None = None,
        groups: npt.ArrayLike | None = None,
    ) -> CrossFittedRewards:
        """Cross-fitted q_hat(x_i, a, k) for every logged round i, action a and position k.

        context: (n_rounds, n_features) or None; action, reward, position (0-based):
        (n_rounds,); action_context: None (one-hot actions), (n_actions, n_action_features)
        shared by all rounds, or (n_rounds, n_actions, n_action_features) per round (when
        the candidates differ between rounds).
        """
        a = np.asarray(action)
        if a.ndim != 1 or a.shape[0] == 0:
            raise ValueError("action must be a non-empty 1-dimensional array")
        n = a.shape[0]
        if isinstance(n_actions, bool) or not isinstance(n_actions, int) or n_actions < 1:
            raise ValueError(f"n_actions must be a positive integer, got {n_actions!r}")
        if isinstance(len_list, bool) or not isinstance(len_list, int) or len_list < 1:
            raise ValueError(f"len_list must be a positive integer, got {len_list!r}")
        act = as_index_vector(a, "action", n_actions, "0..n_actions - 1")
        r = as_float_vector(reward, "reward")
        pos = (
            np.zeros(n, dtype=np.int64)
            if position is None
            else as_index_vector(position, "position", len_list, "0..len_list - 1")
        )
        x = _context(context, n)
        ac = _action_context(action_context, n, n_actions)
        for name, v in (("reward", r), ("position", pos)):
            if v.shape[0] != n:
                raise ValueError(f"{name} has {v.shape[0]} rounds but action has {n}")
        classifier = bool(is_classifier(self.base_model))
        if classifier and not np.isin(r, (0.0, 1.0)).all():
            raise ValueError(
                "a classifier reward model needs rewards of 0 or 1; use a regressor otherwise"
            )
        fold = self.folds(n, groups)
        features = _Features(x, ac, n_actions, len_list)
        q = np.empty((n, n_actions, len_list))
        for f in range(self.n_folds):
            train, test = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            predict = self._fit(features, train, act[train], pos[train], r[train], classifier)
            for action_ in range(n_actions):
                values = predict(features.every_position(test, action_))
                q[test, action_, :] = values.reshape(test.shape[0], len_list)
        return CrossFittedRewards(estimated_rewards=q, fold=fold)

    def _fit(
        self,
        features: _Features,
        rows: IntArray,
        action: IntArray,
        position: IntArray,
        reward: FloatArray,
        classifier: bool,
    ) -> Any:
        """A function from features to q_hat, fitted on `rows`."""
        values = np.unique(reward)
        if classifier and values.shape[0] == 1:  # one class only: it is the prediction
            constant = float(values[0])
            return lambda X: np.full(X.shape[0], constant)
        model: Any = clone(self.base_model)
        model.fit(features.build(rows, action, position), reward)
        if classifier:
            positive = int(np.flatnonzero(np.asarray(model.classes_) == 1.0)[0])
            return lambda X: np.asarray(model.predict_proba(X))[:, positive]
        return lambda X: np.asarray(model.predict(X), dtype=np.float64).reshape(-1)


def _context(context: npt.ArrayLike | None, n: int) -> FloatArray | None:
    if context is None:
        return None
    x = np.asarray(context, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] != n:
        raise ValueError(f"context must have shape ({n}, n_features), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("context must be finite")
    return x


def _action_context(values: npt.ArrayLike | None, n: int, n_actions: int) -> FloatArray | None:
    if values is None:
        return None
    ac = np.asarray(values, dtype=np.float64)
    if not (
        (ac.ndim == 2 and ac.shape[0] == n_actions)
        or (ac.ndim == 3 and ac.shape[:2] == (n, n_actions))
    ):
        raise ValueError(
            f"action_context must have shape ({n_actions}, d) or ({n}, {n_actions}, d), "
            f"got {ac.shape}"
        )
    if not np.isfinite(ac).all():
        raise ValueError("action_context must be finite")
    return ac


@dataclass(frozen=True)
class _Features:
    context: FloatArray | None
    action_context: FloatArray | None
    n_actions: int
    len_list: int

    def _without_position(self, rows: IntArray, action: IntArray) -> FloatArray:
        parts: list[FloatArray] = []
        if self.context is not None:
            parts.append(self.context[rows])
        if self.action_context is None:
            parts.append(np.eye(self.n_actions)[action])
        elif self.action_context.ndim == 2:
            parts.append(self.action_context[action])
        else:
            parts.append(self.action_context[rows, action])
        out: FloatArray = np.concatenate(parts, axis=1)
        return out

    def build(self, rows: IntArray, action: IntArray, position: IntArray) -> FloatArray:
        """[context of `rows`, the action's features, the position's one-hot]."""
        base = self._without_position(rows, action)
        if self.len_list == 1:
            return base
        out: FloatArray = np.concatenate([base, np.eye(self.len_list)[position]], axis=1)
        return out

    def every_position(self, rows: IntArray, action: int) -> FloatArray:
        """`build` for `action` at every position of each of `rows`, row-major:
        (len(rows) * len_list, n_features)."""
        base = self._without_position(rows, np.full(rows.shape[0], action, dtype=np.int64))
        if self.len_list == 1:
            return base
        m, d, k = base.shape[0], base.shape[1], self.len_list
        out: FloatArray = np.empty((m, k, d + k))
        out[:, :, :d] = base[:, None, :]
        out[:, :, d:] = np.eye(k)[None, :, :]
        return out.reshape(m * k, d + k)
