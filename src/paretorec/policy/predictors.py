"""Per-objective predictions as policy input, and a predictor learned from logs.

The policy reads a ranker's per-objective predictions as named columns. Anything with
`tasks` and `predict_observation(obs) -> {task: (n, c)}` serves in the simulator
(`ObservationPredictor`); the multi-task ranker is adapted to it where it is available.

`LoggedFeedbackModel` is the fallback that never peeks at the simulator's truth: two
logistic regressions fitted on a uniformly random policy's logged sessions, on the
observable candidate features only (`simulator.ITEM_FEATURE_NAMES`) — P(click) with the
position as a feature (predicted at the top position), and P(purchase | click) — giving
"click", "purchase" (= click x purchase given click) and "revenue" (= purchase x price).

For a policy with a relevance objective it also predicts "relevance": the graded relevance
of a candidate to the query, as a share of the largest grade, by least squares on the
candidate's match features (`RELEVANCE_FEATURES`: how well its category, brand and
attribute match the query) fitted on the judged grades of the logged search results, and
clipped to [0, 1]. At serving time those match features are the first stage's score as a
share of the best candidate's (`paretorec.policy.request_features`), so the served
relevance is this model's linear reading of that share (and of a brand the query names);
how close it comes to the true grades on the demo shop is measured by
`benchmarks/bench_relevance.py`, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.linear_model import LogisticRegression

from paretorec.policy.inputs import FloatArray
from paretorec.simulate import Observation

LOGGED_TASKS: tuple[str, ...] = ("click", "purchase", "revenue")
RELEVANCE_TASK = "relevance"
# the candidate features that say how well it matches the query (simulator.ITEM_FEATURE_NAMES)
RELEVANCE_FEATURES: tuple[str, ...] = (
    "leaf_match",
    "department_match",
    "brand_match",
    "attribute_match",
)


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
class RelevanceModel:
    """Predicted graded relevance as a share of the largest grade: clip(x @ coef +
    intercept, 0, 1) over the item features, coef 0 outside `RELEVANCE_FEATURES`."""

    coef: tuple[float, ...]
    intercept: float

    def predict(self, features: FloatArray) -> FloatArray:
        """Item features (..., d) -> predicted relevance (...) in [0, 1]."""
        out: FloatArray = np.clip(features @ np.asarray(self.coef) + self.intercept, 0.0, 1.0)
        return out

    @classmethod
    def fit(
        cls, features: FloatArray, grades: FloatArray, *, max_grade: float, columns: list[int]
    ) -> RelevanceModel:
        """Least squares of grade / max_grade on the feature `columns` (r, d) of judged
        items (r,) and an intercept."""
        if features.shape[0] < len(columns) + 1:
            raise ValueError(
                f"{features.shape[0]} judged items cannot fit a relevance model on "
                f"{len(columns)} features: log more search sessions"
            )
        x = np.concatenate([features[:, columns], np.ones((features.shape[0], 1))], axis=1)
        solution = np.linalg.lstsq(x, grades / max_grade, rcond=None)[0]
        coef = np.zeros(features.shape[1])
        coef[columns] = solution[:-1]
        return cls(tuple(float(v) for v in coef), float(solution[-1]))

    def to_json(self) -> dict[str, object]:
        return {"coef": list(self.coef), "intercept": self.intercept}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> RelevanceModel:
        coef = data["coef"]
        assert isinstance(coef, list)
        return cls(tuple(float(v) for v in coef), float(str(data["intercept"])))


@dataclass(frozen=True)
class LoggedFeedbackModel:
    """Click and purchase predictions learned from logs (see the module's notes), and
    relevance where it was fitted (absent from models saved before it existed)."""

    click: LogisticModel  # on item features + one-hot position (predicted at position 1)
    purchase_given_click: LogisticModel  # on item features
    n_positions: int
    relevance: RelevanceModel | None = None

    @property
    def tasks(self) -> tuple[str, ...]:
        return LOGGED_TASKS if self.relevance is None else (*LOGGED_TASKS, RELEVANCE_TASK)

    def predict_features(self, features: FloatArray, price: FloatArray) -> dict[str, FloatArray]:
        """Predictions from item features (n, c, d) and prices (n, c)."""
        n, c, d = features.shape
        flat = features.reshape(-1, d)
        top = np.zeros((flat.shape[0], self.n_positions))
        top[:, 0] = 1.0
        click = self.click.predict(np.concatenate([flat, top], axis=1)).reshape(n, c)
        purchase = click * self.purchase_given_click.predict(flat).reshape(n, c)
        out = {"click": click, "purchase": purchase, "revenue": purchase * price}
        if self.relevance is not None:
            out[RELEVANCE_TASK] = self.relevance.predict(features)
        return out

    def predict_observation(self, obs: Observation) -> dict[str, FloatArray]:
        from paretorec.policy.simulator import item_features

        return self.predict_features(item_features(obs), obs.features.price)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "kind": "logged_feedback_logistic",
            "n_positions": self.n_positions,
            "click": {"coef": list(self.click.coef), "intercept": self.click.intercept},
            "purchase_given_click": {
                "coef": list(self.purchase_given_click.coef),
                "intercept": self.purchase_given_click.intercept,
            },
        }
        if self.relevance is not None:
            out["relevance"] = self.relevance.to_json()
        return out

    @classmethod
    def from_json(cls, data: dict[str, object]) -> LoggedFeedbackModel:
        def model(key: str) -> LogisticModel:
            part = data[key]
            assert isinstance(part, dict)
            return LogisticModel(tuple(float(v) for v in part["coef"]), float(part["intercept"]))

        if data.get("kind") != "logged_feedback_logistic":
            raise ValueError(f"not a logged feedback model: kind {data.get('kind')!r}")
        relevance = data.get("relevance")  # absent: saved before the relevance objective
        return cls(
            model("click"),
            model("purchase_given_click"),
            int(str(data["n_positions"])),
            RelevanceModel.from_json(relevance) if isinstance(relevance, dict) else None,
        )


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
