"""The multi-task ranker's per-objective predictions for the simulator's candidates.

`RankerPredictor` adapts a `paretorec.rank.Ranker` to `ObservationPredictor`: every
candidate of an observation becomes a (user, query text, item) row built by
`paretorec.rank.build_candidate_features` against the logs the ranker was trained on
(the catalog, and the exposures behind popularity), scored at the serving position, and
its P(click) and P(purchase) over the exposure space become the "click" and "purchase"
columns, with "revenue" = P(purchase) x price: the same names `LoggedFeedbackModel` gives,
so the policy's links are the same.

`fit_ranker_from_random_logs` logs a uniformly random policy in the world
(`paretorec.simulate.simulate_logs`), builds the ranker's features from those logs
(`build_ranker_features`, no text encoder: hashed ids and dense features), trains it
(`train_ranker`) and takes the random policy's mean clicks, purchases and revenue per
list as the reward scales. The query text of a search session is not part of an
`Observation` (it holds the query's key): it is decoded with the simulator's own
`decode_query_keys` / `query_texts`, the functions that write the logs' queries table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from paretorec.policy.inputs import FloatArray
from paretorec.policy.predictors import RELEVANCE_TASK, RelevanceModel
from paretorec.policy.rewards import RewardScales
from paretorec.rank import (
    Architecture,
    Ranker,
    RankerConfig,
    TrainConfig,
    build_candidate_features,
    build_ranker_features,
    train_ranker,
)
from paretorec.simulate import Observation, UniformRandomPolicy, World, simulate_logs
from paretorec.simulate.sessions import decode_query_keys, query_texts
from paretorec.types import Dataset

RANKER_TASKS: tuple[str, ...] = ("click", "purchase", "revenue")


@dataclass(frozen=True, eq=False)
class RankerPredictor:
    """A trained multi-task ranker as the policy's predictor (see the module's notes)."""

    ranker: Ranker
    logs: Dataset  # what the ranker was trained on: catalog and exposure history
    user_ids: pl.Series = field(repr=False)  # the world's user ids by row
    # predicted relevance for a policy with a relevance objective (the ranker has no such
    # head): the logged predictor's model (`predictors.RelevanceModel`) on the same features
    relevance: RelevanceModel | None = None

    def __post_init__(self) -> None:
        missing = {"click", "purchase"} - set(self.ranker.tasks)
        if missing:
            raise ValueError(f"the ranker must predict click and purchase, lacks {missing}")

    @property
    def tasks(self) -> tuple[str, ...]:
        return RANKER_TASKS if self.relevance is None else (*RANKER_TASKS, RELEVANCE_TASK)

    def predict_observation(self, obs: Observation) -> dict[str, FloatArray]:
        n, c = obs.candidates.shape
        texts: list[str | None] = [None] * n
        searched = np.flatnonzero(obs.query >= 0)
        if searched.size:
            decoded = query_texts(obs.world, decode_query_keys(obs.world, obs.query[searched]))
            for i, text in zip(searched.tolist(), decoded.to_list(), strict=True):
                texts[i] = text
        features = build_candidate_features(
            self.logs,
            self.ranker.spec,
            item_ids=obs.world.item_ids.gather(obs.candidates.ravel()).to_list(),
            user_ids=np.repeat(self.user_ids.gather(obs.user).to_numpy(), c).tolist(),
            query_texts=[t for t in texts for _ in range(c)],
        )
        p = self.ranker.predict(features)
        click = p["click"].astype(np.float64).reshape(n, c)
        purchase = p["purchase"].astype(np.float64).reshape(n, c)
        out = {"click": click, "purchase": purchase, "revenue": purchase * obs.features.price}
        if self.relevance is not None:
            from paretorec.policy.simulator import item_features

            out[RELEVANCE_TASK] = self.relevance.predict(item_features(obs))
        return out


def fit_ranker_from_random_logs(
    world: World,
    *,
    list_size: int,
    n_sessions: int,
    seed: int,
    config: RankerConfig | None = None,
    train: TrainConfig | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[RankerPredictor, RewardScales]:
    """Log `n_sessions` sessions of the uniformly random policy, train a multi-task
    ranker (click, cart, purchase; MMoE by default) on them, and take the random policy's
    mean clicks, purchases and revenue per list as the reward scales."""
    if n_sessions < 1:
        raise ValueError("n_sessions must be at least 1")
    logs = simulate_logs(
        world,
        n_sessions,
        seed=seed,
        list_size=list_size,
        policy=UniformRandomPolicy(),
        on_progress=on_progress,
    )
    features = build_ranker_features(logs)
    ranker = train_ranker(
        features,
        config=config or RankerConfig(architecture=Architecture.MMOE, hidden=(64, 32)),
        train=train or TrainConfig(epochs=3, batch_size=2048, seed=seed),
    )
    assert logs.events is not None
    events = logs.events.frame
    clicks = events.filter(pl.col("event") == "click").height
    bought = events.filter(pl.col("event") == "purchase")
    revenue = float(bought["value"].fill_null(0.0).sum())
    scales = RewardScales(
        clicks=max(clicks, 1) / n_sessions,
        purchases=max(bought.height, 1) / n_sessions,
        revenue=max(revenue, 1e-9) / n_sessions,
    )
    return RankerPredictor(ranker, logs, world.users_frame()["user_id"]), scales
