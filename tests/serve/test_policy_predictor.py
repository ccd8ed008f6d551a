"""A simulator-trained policy is fed the predictions of the predictor it was trained with
(applied to the features the service rebuilds), not another model's."""

import numpy as np
import polars as pl
import torch

from paretorec.policy import PolicyConfig, PreferencePolicy
from paretorec.policy.predictors import LoggedFeedbackModel, LogisticModel
from paretorec.policy.request_features import dimensions
from paretorec.policy.served import ServedPolicy
from paretorec.preference import Preference
from paretorec.serve.catalog import ItemStore
from paretorec.stages import CandidateSet, RequestContext
from paretorec.types import Catalog

N_POSITIONS = 10
CONTEXT_DIM, ITEM_DIM, _ = dimensions()


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
    store = ItemStore(
        Catalog(
            pl.DataFrame({"item_id": ["a", "b", "c"], "title": ["x", "y", "z"], "price": [5.0] * 3})
        )
    )
    candidates = CandidateSet(
        ("a", "b", "c"),
        store.rows_of(["a", "b", "c"]),
        np.array([0.2, 1.0, 0.6]),
        ("search",) * 3,
    )
    context = RequestContext("query", None, None, ())
    ranker = {"click": np.array([0.9, 0.01, 0.5])}  # another model's view: "a" first
    only_clicks = Preference(("clicks",), np.array([1.0]))

    own = ServedPolicy(policy, store, predictor=_predictor())
    chosen = own.choose(context, candidates, ranker, only_clicks, 3)
    assert [candidates.item_ids[i] for i in chosen.order] == ["b", "c", "a"]

    without = ServedPolicy(policy, store)  # no predictor saved: the ranker's
    chosen = without.choose(context, candidates, ranker, only_clicks, 3)
    assert [candidates.item_ids[i] for i in chosen.order] == ["a", "c", "b"]
