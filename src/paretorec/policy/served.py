"""`ServedPolicy`: a simulator-trained policy as the serving `Policy` stage.

Its features come from `paretorec.policy.request_features` (the simulator's layout, the
item side prepared once); its prediction inputs from the predictor it was trained with,
where the version holds one (a simulator policy's logged-feedback model, applied to the
same features): a policy fed another model's predictions than in training learns to
correct for the wrong ones (in the demo it buried the best-matching items). Without one,
the ranker's predictions are its inputs (and, for a policy that weighs relevance, the
request's relevance the service adds beside them: the first stage's score as a share of
the best candidate's).

A policy trained with a relevance objective predicts relevance with its predictor's
relevance model on the match features; at serving those are the first stage's score as a
share of the best candidate's (and whether the query names the item's brand), so its
relevance is a linear reading of that share, not the share itself. `predicted_relevance`
gives the service that same number, which it then reports, explains and floors (one
relevance everywhere). Without a query (/recommend) there is nothing to be relevant to:
the match features of its relevance are 0, as in the browsing sessions it was trained on.
Lists are decoded greedily, each item's score explained by its per-objective
contributions and the learned remainder.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from paretorec.policy.inputs import FloatArray, PolicyInput
from paretorec.policy.network import PolicyVariant, PreferencePolicy
from paretorec.policy.predictors import RELEVANCE_FEATURES, RELEVANCE_TASK, LoggedFeedbackModel
from paretorec.policy.request_features import RequestFeatures, dimensions
from paretorec.policy.serving import rank
from paretorec.policy.simulator import ITEM_FEATURE_NAMES
from paretorec.preference import Preference
from paretorec.stages import CandidateSet, IntArray, ItemRows, Predictions, Ranking, RequestContext

__all__ = ["ServedPolicy"]

_MATCH_COLUMNS = [ITEM_FEATURE_NAMES.index(name) for name in RELEVANCE_FEATURES]


class ServedPolicy:
    """A `PreferencePolicy` as a `paretorec.stages.Policy` (see the module docstring)."""

    def __init__(
        self,
        policy: PreferencePolicy,
        items: ItemRows,
        *,
        default: Preference | None = None,
        predictor: LoggedFeedbackModel | None = None,
    ) -> None:
        config = policy.config
        context_dim, item_dim, n_groups = dimensions()
        if (config.context_dim, config.item_dim) != (context_dim, item_dim) or (
            config.n_groups not in (0, n_groups)
        ):
            raise ValueError(
                f"the policy reads {config.context_dim} context and {config.item_dim} item "
                f"features and {config.n_groups} groups; served requests give the simulator's "
                f"{context_dim}, {item_dim} and {n_groups} (paretorec.policy.request_features)"
            )
        if default is not None and default.names != tuple(config.objectives):
            raise ValueError(
                f"default weights name {default.names}, the policy weighs {config.objectives}"
            )
        self.policy = policy
        self.predictor = predictor
        self.features = RequestFeatures(items)
        self._default = default
        self.now: datetime | None = None  # fixed for reproducible ages in tests

    @property
    def objectives(self) -> tuple[str, ...]:
        return tuple(self.policy.config.objectives)

    @property
    def prediction_names(self) -> tuple[str, ...]:
        return tuple(self.policy.config.prediction_names)

    @property
    def default_preference(self) -> Preference | None:
        return self._default

    @property
    def plackett_luce(self) -> bool:
        return self.policy.config.variant is PolicyVariant.PLACKETT_LUCE

    def refresh(self, rows: IntArray) -> None:
        self.features.refresh(rows)

    def predicted_relevance(
        self, context: RequestContext, candidates: CandidateSet
    ) -> FloatArray | None:
        """The relevance this policy weighs for each candidate (c,), from its predictor's
        relevance model on the request features; None where its predictor has none."""
        if self.predictor is None or self.predictor.relevance is None:
            return None
        served = self.features(context, candidates, now=self.now)
        out: FloatArray = self._relevance(context, served.items)[0]
        return out

    def _relevance(self, context: RequestContext, items: FloatArray) -> FloatArray:
        assert self.predictor is not None and self.predictor.relevance is not None
        if context.query is None:  # browsing: no match, as in the sessions it trained on
            items = items.copy()
            items[..., _MATCH_COLUMNS] = 0.0
        return self.predictor.relevance.predict(items)

    def choose(
        self,
        context: RequestContext,
        candidates: CandidateSet,
        predictions: Predictions,
        preference: Preference,
        k: int,
    ) -> Ranking:
        served = self.features(context, candidates, now=self.now)
        if self.predictor is not None:
            own = self.predictor.predict_features(served.items, served.price)
            if RELEVANCE_TASK in own:
                own[RELEVANCE_TASK] = self._relevance(context, served.items)
            inputs_predictions = {n: np.asarray(own[n]) for n in self.prediction_names}
        else:
            inputs_predictions = {
                n: np.asarray(predictions[n])[None, :] for n in self.prediction_names
            }
        inputs = PolicyInput(
            context=served.context,
            item_features=served.items,
            predictions=inputs_predictions,
            groups=served.groups if self.policy.config.n_groups else None,
        )
        lists = rank(self.policy, inputs, preference.weights, k)
        return Ranking(
            lists.items[0].astype(np.int64),
            lists.scores[0],
            {name: values[0] for name, values in lists.contributions.items()},
            places={name: values[0] for name, values in lists.places.items()},
        )
