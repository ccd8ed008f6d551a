"""The policy in the simulated shop: inputs from observations, objectives from feedback.

`SimulatorTask` bundles what training and measuring need: the world, the list size, the
objectives (the order of w), the predictor that fills the prediction columns, and the
reward scales. `sampled_objectives` shows lists and draws the shoppers' responses (the
training reward); `expected_objectives` gives the exact expectation without changing the
state (for measuring only: the policy never sees it). The relevance objective is the
list's NDCG against the shopper's true graded relevance (`RankingEnv.candidate_grades`,
what a judge who knew her intent would grade) in both, in search sessions only (0 in
browsing): the training reward of a shop whose search results are judged; the policy
reads only the predicted relevance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from paretorec.policy.inputs import FloatArray, IntArray, PolicyInput
from paretorec.policy.network import PolicyConfig, PolicyVariant
from paretorec.policy.predictors import (
    RELEVANCE_FEATURES,
    RELEVANCE_TASK,
    LoggedFeedbackModel,
    ObservationPredictor,
    RelevanceModel,
    fit_logged_feedback_model,
)
from paretorec.policy.rewards import (
    ListFacts,
    PolicyObjective,
    RewardScales,
    feedback_objective_values,
    list_ndcg,
    list_objective_values,
)
from paretorec.simulate import (
    Observation,
    RankingEnv,
    UniformRandomPolicy,
    World,
    WorldConfig,
    generate_world,
)
from paretorec.simulate.sessions import MAX_GRADE

CONTEXT_NAMES: tuple[str, ...] = ("search", "query_names_brand", "query_names_attribute")
ITEM_FEATURE_NAMES: tuple[str, ...] = (
    "leaf_match",
    "department_match",
    "brand_match",
    "attribute_match",
    "popularity_z",
    "rating",
    "price_z",
    "log_price_over_5",
    "margin_share",
    "in_stock",
    "age_years",
)
GROUP_NAMES: tuple[str, ...] = ("leaf", "brand", "seller")
LINKS: tuple[tuple[str, str], ...] = (
    (PolicyObjective.CLICKS.value, "click"),
    (PolicyObjective.PURCHASES.value, "purchase"),
    (PolicyObjective.REVENUE.value, "revenue"),
    (PolicyObjective.RELEVANCE.value, RELEVANCE_TASK),
)


@dataclass(frozen=True)
class SimulatorSpec:
    """How to rebuild the simulated shop a policy was trained in."""

    n_items: int = 2000
    n_users: int = 1000
    world_seed: int = 0
    lively: bool = True  # WorldConfig.lively(): enough clicks and purchases to learn from
    list_size: int = 10

    def world(self) -> World:
        config = WorldConfig.lively() if self.lively else WorldConfig()
        return generate_world(self.n_items, self.n_users, config=config, seed=self.world_seed)

    def to_json(self) -> dict[str, object]:
        return {
            "n_items": self.n_items,
            "n_users": self.n_users,
            "world_seed": self.world_seed,
            "lively": self.lively,
            "list_size": self.list_size,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> SimulatorSpec:
        return cls(
            n_items=int(str(data["n_items"])),
            n_users=int(str(data["n_users"])),
            world_seed=int(str(data["world_seed"])),
            lively=bool(data["lively"]),
            list_size=int(str(data["list_size"])),
        )


def context_features(obs: Observation) -> FloatArray:
    """(n, 3): a search session, its query names a brand, names an attribute."""
    return np.stack([obs.is_search, obs.query_brand >= 0, obs.query_attribute >= 0], axis=1).astype(
        np.float64
    )


def item_features(obs: Observation) -> FloatArray:
    """(n, c, len(ITEM_FEATURE_NAMES)) observable candidate features."""
    f = obs.features
    return np.stack(
        [
            f.leaf_match,
            f.department_match,
            f.brand_match,
            f.attribute_match,
            f.popularity_z,
            f.rating - 4.0,
            f.price_z,
            np.log1p(f.price) / 5.0,
            np.where(f.price > 0, f.margin / np.maximum(f.price, 1e-9), 0.0),
            f.in_stock.astype(np.float64),
            f.age_days / 365.0,
        ],
        axis=2,
    )


def policy_input(obs: Observation, predictor: ObservationPredictor) -> PolicyInput:
    """The policy's view of an observation: context, features, named predictions, groups."""
    f = obs.features
    return PolicyInput(
        context=context_features(obs),
        item_features=item_features(obs),
        predictions=predictor.predict_observation(obs),
        groups=np.stack([f.leaf, f.brand, f.seller], axis=2),
    )


def list_facts(obs: Observation, examination: FloatArray) -> ListFacts:
    """Leaf categories, sellers and catalog popularity (as a share) of the candidates."""
    f = obs.features
    popularity = obs.world.items.popularity
    share = popularity / popularity.sum()
    return ListFacts(
        categories=f.leaf,
        sellers=f.seller,
        popularity=np.clip(share[obs.candidates], 1e-300, 1.0),
        examination=examination,
    )


@dataclass(frozen=True)
class SimulatorTask:
    """What training and measuring in the simulator need (see the module's notes)."""

    spec: SimulatorSpec
    world: World
    objectives: tuple[PolicyObjective, ...]
    predictor: ObservationPredictor
    scales: RewardScales

    def env(self, n_sessions: int, seed: int = 0) -> RankingEnv:
        return RankingEnv(
            self.world, n_sessions=n_sessions, list_size=self.spec.list_size, seed=seed
        )

    def inputs(self, obs: Observation) -> PolicyInput:
        return policy_input(obs, self.predictor)

    def sampled_objectives(
        self, env: RankingEnv, lists: IntArray
    ) -> dict[PolicyObjective, FloatArray]:
        """Show `lists` (indices into the candidates) and score the drawn responses."""
        obs = env.observation
        relevance = self._relevance(env, lists)  # before the step moves the observation on
        result = env.step(lists)
        values = feedback_objective_values(self.objectives, result.feedback.as_dict(), self.scales)
        values.update(
            list_objective_values(self.objectives, lists, list_facts(obs, env.examination))
        )
        values.update(relevance)
        return values

    def expected_objectives(
        self, env: RankingEnv, lists: IntArray
    ) -> dict[PolicyObjective, FloatArray]:
        """The exact expected objectives of showing `lists` now (the state is unchanged)."""
        obs = env.observation
        expected = env.expected_feedback(lists)
        values = feedback_objective_values(self.objectives, expected.as_dict(), self.scales)
        values.update(
            list_objective_values(self.objectives, lists, list_facts(obs, env.examination))
        )
        values.update(self._relevance(env, lists))
        return values

    def _relevance(self, env: RankingEnv, lists: IntArray) -> dict[PolicyObjective, FloatArray]:
        """The lists' NDCG against the true grades in search sessions, where relevance is
        an objective; 0 in browsing: there is no query to be relevant to, the policy's
        relevance input is 0 there, and grades against an intent it cannot see would
        reward what it cannot learn (a constant reward moves no list)."""
        if PolicyObjective.RELEVANCE not in self.objectives:
            return {}
        ndcg = list_ndcg(env.candidate_grades(), lists)
        return {PolicyObjective.RELEVANCE: np.where(env.observation.is_search, ndcg, 0.0)}


def fit_from_random_logs(
    world: World,
    *,
    list_size: int,
    n_sessions: int,
    seed: int,
    batch_size: int = 2000,
    relevance: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[LoggedFeedbackModel, RewardScales]:
    """Log `n_sessions` sessions of the uniformly random policy, fit the click and
    purchase predictors on the logged impressions (with `relevance`, the relevance model
    on the judged grades of the search results), and take the random policy's mean
    clicks, purchases and revenue per list as the reward scales."""
    if n_sessions < 1:
        raise ValueError("n_sessions must be at least 1")
    rng = np.random.default_rng(seed)
    env = RankingEnv(world, n_sessions=batch_size, list_size=list_size, seed=seed)
    feats, pos, click, buy, revenue, judged, grades = [], [], [], [], [], [], []
    done = 0
    while done < n_sessions:
        obs = env.reset(seed=int(rng.integers(2**31)))
        lists = UniformRandomPolicy().sample(obs, list_size, rng).actions
        x = np.take_along_axis(item_features(obs), lists[:, :, None], axis=1)
        graded = np.take_along_axis(env.candidate_grades(), lists, axis=1)
        fb = env.step(lists).feedback
        take = min(batch_size, n_sessions - done)
        feats.append(x[:take].reshape(-1, x.shape[2]))
        pos.append(np.tile(np.arange(list_size), take))
        click.append(fb.clicks[:take].ravel())
        buy.append(fb.purchases[:take].ravel())
        revenue.append(fb.revenue[:take].ravel())
        searched = np.flatnonzero(obs.is_search[:take])
        judged.append(x[searched].reshape(-1, x.shape[2]))
        grades.append(graded[searched].ravel())
        done += take
        if on_progress is not None:
            on_progress(take)
    clicks, purchases, money = (np.concatenate(v) for v in (click, buy, revenue))
    model = fit_logged_feedback_model(
        np.concatenate(feats), np.concatenate(pos), clicks, purchases, n_positions=list_size
    )
    if relevance:
        model = replace(
            model, relevance=fit_relevance_model(np.concatenate(judged), np.concatenate(grades))
        )
    scales = RewardScales(
        clicks=float(clicks.sum() / n_sessions),
        purchases=float(max(purchases.sum(), 1.0) / n_sessions),
        revenue=float(max(money.sum(), 1e-9) / n_sessions),
    )
    return model, scales


def fit_relevance_model(features: FloatArray, grades: FloatArray) -> RelevanceModel:
    """The relevance model on judged search results: item features (r, d) in the
    simulator's layout and their true grades (r,)."""
    columns = [ITEM_FEATURE_NAMES.index(name) for name in RELEVANCE_FEATURES]
    return RelevanceModel.fit(features, grades, max_grade=MAX_GRADE, columns=columns)


def relevance_from_random_logs(
    world: World, *, list_size: int, n_sessions: int, seed: int
) -> RelevanceModel:
    """`fit_relevance_model` on `n_sessions` sessions of the uniformly random policy
    (for a predictor that learns the rest elsewhere, such as the ranker)."""
    model, _ = fit_from_random_logs(
        world, list_size=list_size, n_sessions=n_sessions, seed=seed, relevance=True
    )
    assert model.relevance is not None
    return model.relevance


class PredictorKind(StrEnum):
    LOGGED = "logged"  # LoggedFeedbackModel: logistic regressions on the logs
    RANKER = "ranker"  # RankerPredictor: a paretorec.rank multi-task ranker on the logs


def make_task(
    spec: SimulatorSpec,
    objectives: tuple[PolicyObjective, ...],
    *,
    log_sessions: int = 20_000,
    seed: int = 0,
    predictor: PredictorKind = PredictorKind.LOGGED,
    world: World | None = None,
) -> SimulatorTask:
    """The world of `spec` (or `world`, for instance a shop selling a real catalog's items,
    `paretorec.simulate.world_from_catalog`), with a predictor (`predictor`) and reward
    scales learned from `log_sessions` sessions of the uniformly random policy's logs; with
    a relevance objective, the predictor predicts relevance too."""
    world = world if world is not None else spec.world()
    fitted: ObservationPredictor
    relevance = PolicyObjective.RELEVANCE in objectives  # the predictor learns it too
    if PredictorKind(predictor) is PredictorKind.RANKER:
        from paretorec.policy.ranker_predictor import fit_ranker_from_random_logs

        ranker, scales = fit_ranker_from_random_logs(
            world, list_size=spec.list_size, n_sessions=log_sessions, seed=seed
        )
        if relevance:
            ranker = replace(
                ranker,
                relevance=relevance_from_random_logs(
                    world, list_size=spec.list_size, n_sessions=log_sessions, seed=seed
                ),
            )
        fitted = ranker
    else:
        fitted, scales = fit_from_random_logs(
            world,
            list_size=spec.list_size,
            n_sessions=log_sessions,
            seed=seed,
            relevance=relevance,
        )
    return SimulatorTask(spec, world, objectives, fitted, scales)


def policy_config(
    task: SimulatorTask,
    *,
    variant: PolicyVariant = PolicyVariant.PLACKETT_LUCE,
    hidden: int = 64,
    layers: int = 2,
) -> PolicyConfig:
    """The config of a policy for `task`: its objectives, the predictor's columns, the
    simulator's features and groups, the links of the objectives it predicts."""
    names = tuple(o.value for o in task.objectives)
    return PolicyConfig(
        objectives=names,
        prediction_names=tuple(task.predictor.tasks),
        context_dim=len(CONTEXT_NAMES),
        item_dim=len(ITEM_FEATURE_NAMES),
        links=tuple((o, p) for o, p in LINKS if o in names and p in task.predictor.tasks),
        n_groups=len(GROUP_NAMES),
        variant=variant,
        hidden=hidden,
        layers=layers,
    )


def simulator_meta(task: SimulatorTask) -> dict[str, object]:
    """What `front.task_from_saved` needs to rebuild `task` (JSON-able)."""
    if not isinstance(task.predictor, LoggedFeedbackModel):
        raise ValueError(
            "only a LoggedFeedbackModel predictor can be saved with a policy (a policy "
            f"trained on a {type(task.predictor).__name__} cannot be served from its folder yet)"
        )
    return {
        "simulator": {
            "spec": task.spec.to_json(),
            "scales": {
                "clicks": task.scales.clicks,
                "purchases": task.scales.purchases,
                "revenue": task.scales.revenue,
            },
            "predictor": task.predictor.to_json(),
        }
    }
