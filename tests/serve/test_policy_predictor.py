"""A simulator-trained policy is fed the predictions of the predictor it was trained with
(applied to the features the service rebuilds), not another model's."""

import numpy as np
import polars as pl
import torch

from paretorec.policy import PolicyConfig, PreferencePolicy
from paretorec.policy.predictors import LoggedFeedbackModel, LogisticModel
from paretorec.serve.adapters import PolicyAdapter
from paretorec.serve.policy_features import CONTEXT_DIM, ITEM_DIM
from paretorec.serve.stages import CandidateSet, RequestContext
from paretorec.types import Catalog

N_POSITIONS = 10


def _predictor() -> LoggedFeedbackModel:
    # Clicks follow the first feature, the candidate's share of the best first-stage score.
    click = LogisticModel((8.0,) + (0.0,) * (ITEM_DIM - 1 + N_POSITIONS), -4.0)
    purchase = LogisticModel((0.0,) * ITEM_DIM, -3.0)
    return LoggedFeedbackModel(click, purchase, N_POSITIONS)


def test_the_policy_reads_its_own_predictors_predictions() -> None:
    torch.manual_seed(0)
    config = PolicyConfig(
        objectives=("clicks",), prediction_names=("click",), context_dim=CONTEXT_DIM,
        item_dim=ITEM_DIM, links=(("clicks", "click"),), prior_scale=50.0,
    )  # fmt: skip
    policy = PreferencePolicy(config)
    catalog = Catalog(
        pl.DataFrame({"item_id": ["a", "b", "c"], "title": ["x", "y", "z"], "price": [5.0] * 3})
    )
    candidates = CandidateSet(
        ("a", "b", "c"), np.array([0.2, 1.0, 0.6]), ("search",) * 3, lambda ids: catalog
    )
    context = RequestContext("query", None, None, ())
    ranker = {"click": np.array([0.9, 0.01, 0.5])}  # another model's view: "a" first
    weights = np.array([1.0])

    own = PolicyAdapter(policy, default=None, predictor=_predictor())
    chosen = own.choose(context, candidates, ranker, weights, 3)
    assert [candidates.item_ids[i] for i in chosen.order] == ["b", "c", "a"]

    without = PolicyAdapter(policy, default=None)  # no predictor saved: the ranker's
    chosen = without.choose(context, candidates, ranker, weights, 3)
    assert [candidates.item_ids[i] for i in chosen.order] == ["a", "c", "b"]
