"""Per-objective predictions as policy input, and a predictor learned from logs.

The policy reads a ranker's per-objective predictions as named columns. Anything with
`tasks` and `predict_observation(obs) -> {task: (n, c)}` serves in the simulator
(`ObservationPredictor`); the multi-task ranker is adapted to it where it is available.

`LoggedFeedbackModel` is the fallback that never peeks at the simulator's truth: two
logistic regressions fitted on a uniformly random policy's logged sessions, on the
observable candidate features only (`simulator.ITEM_FEATURE_NAMES`) — P(click) with the
position as a feature (predicted at the top position), and P(purchase | click) — giving
"click", "purchase" (= click x purchase given click) and "revenue" (= purchase x price).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.linear_model import LogisticRegression

from paretorec.policy.inputs import FloatArray
from paretorec.simulate import Observation

LOGGED_TASKS: tuple[str, ...] = ("click", "purchase", "revenue")


class ObservationPredictor(Protocol):
    """Per-objective predictions for the candidates of simulator observations."""

    @property
    def tasks(self) -> tuple[str, ...]: ...

    def predict_observation(self, obs: Observation) -> dict[str, FloatArray]: ...


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))
    return out


@dataclass(frozen=True)
class LogisticModel:
    """A fitted logistic regression: sigmoid(x @ coef + intercept)."""

    coef: tuple[float, ...]
    intercept: float

    def predict(self, x: FloatArray) -> FloatArray:
        return _sigmoid(x @ np.asarray(self.coef) + self.intercept)

    @classmethod
    def fit(cls, x: FloatArray, y: FloatArray, *, c: float = 1.0) -> LogisticModel:
        if y.min() == y.max():
            raise ValueError("the logs hold only one outcome: nothing to learn a predictor from")
        model = LogisticRegression(C=c, max_iter=500)
        model.fit(x, y)
        return cls(tuple(float(v) for v in model.coef_[0]), float(model.intercept_[0]))


@dataclass(frozen=True)
class LoggedFeedbackModel:
    """Click and purchase predictions learned from logs (see the module's notes)."""

    click: LogisticModel  # on item features + one-hot position (predicted at position 1)
    purchase_given_click: LogisticModel  # on item features
    n_positions: int

    @property
    def tasks(self) -> tuple[str, ...]:
        return LOGGED_TASKS

    def predict_features(self, features: FloatArray, price: FloatArray) -> dict[str, FloatArray]:
        """Predictions from item features (n, c, d) and prices (n, c)."""
        n, c, d = features.shape
        flat = features.reshape(-1, d)
        top = np.zeros((flat.shape[0], self.n_positions))
        top[:, 0] = 1.0
        click = self.click.predict(np.concatenate([flat, top], axis=1)).reshape(n, c)
        purchase = click * self.purchase_given_click.predict(flat).reshape(n, c)
        return {"click": click, "purchase": purchase, "revenue": purchase * price}

    def predict_observation(self, obs: Observation) -> dict[str, FloatArray]:
        from paretorec.policy.simulator import item_features

        return self.predict_features(item_features(obs), obs.features.price)

    def to_json(self) -> dict[str, object]:
        return {
            "kind": "logged_feedback_logistic",
            "n_positions": self.n_positions,
            "click": {"coef": list(self.click.coef), "intercept": self.click.intercept},
            "purchase_given_click": {
                "coef": list(self.purchase_given_click.coef),
                "intercept": self.purchase_given_click.intercept,
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LoggedFeedbackModel:
        def model(key: str) -> LogisticModel:
            part = data[key]
            assert isinstance(part, dict)
            return LogisticModel(tuple(float(v) for v in part["coef"]), float(part["intercept"]))

        if data.get("kind") != "logged_feedback_logistic":
            raise ValueError(f"not a logged feedback model: kind {data.get('kind')!r}")
        return cls(model("click"), model("purchase_given_click"), int(str(data["n_positions"])))


def fit_logged_feedback_model(
    features: FloatArray,
    position: np.ndarray,
    clicked: FloatArray,
    purchased: FloatArray,
    *,
    n_positions: int,
) -> LoggedFeedbackModel:
    """Fit on logged impressions: features (r, d), 0-based position (r,), click and
    purchase outcomes (r,) (a purchase implies a click)."""
    onehot = np.eye(n_positions)[position]
    click = LogisticModel.fit(np.concatenate([features, onehot], axis=1), clicked)
    rows = clicked > 0
    purchase = LogisticModel.fit(features[rows], purchased[rows])
    return LoggedFeedbackModel(click, purchase, n_positions)
