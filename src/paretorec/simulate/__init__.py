"""A seeded e-commerce world and shopper behaviour model: the RL environment.

`generate_world` draws a shop (catalog with a category tree, brands, sellers, prices and
costs, stock, long-tailed popularity, readable titles; shoppers with latent tastes), or
`world_from_catalog` brings a real catalog to life. `RankingEnv` serves batches of
sessions, takes a ranked list per session, and returns named per-objective feedback
(clicks, carts, purchases, revenue, margin), sampled by `step` or exact by
`expected_feedback`. `simulate_dataset` writes logs of a logging policy with exact
propensities as a `Dataset` in the data contract. The default configuration is
calibrated to the Open Bandit Dataset's random/ALL click-through rates.
"""

from paretorec.simulate.behaviour import FEEDBACK_NAMES, Feedback, click_probabilities, list_fatigue
from paretorec.simulate.calibration import random_policy_ctr
from paretorec.simulate.config import (
    OBD_RANDOM_ALL_CTR,
    OBD_RANDOM_ALL_OVERALL_CTR,
    BehaviourConfig,
    CandidateMix,
    CatalogConfig,
    ClickCalibration,
    ClickModel,
    SessionConfig,
    UserConfig,
    WorldConfig,
)
from paretorec.simulate.dataset import simulate_dataset, simulate_logs
from paretorec.simulate.env import CandidateFeatures, Observation, RankingEnv, StepResult
from paretorec.simulate.generate import generate_world, world_from_catalog
from paretorec.simulate.logging_policy import (
    LoggingPolicyKind,
    Policy,
    SampledRanking,
    SoftmaxPolicy,
    UniformRandomPolicy,
    heuristic_scores,
    plackett_luce_marginals,
    policy_value,
)
from paretorec.simulate.world import World

__all__ = [
    "FEEDBACK_NAMES",
    "OBD_RANDOM_ALL_CTR",
    "OBD_RANDOM_ALL_OVERALL_CTR",
    "BehaviourConfig",
    "CandidateFeatures",
    "CandidateMix",
    "CatalogConfig",
    "ClickCalibration",
    "ClickModel",
    "Feedback",
    "LoggingPolicyKind",
    "Observation",
    "Policy",
    "RankingEnv",
    "SampledRanking",
    "SessionConfig",
    "SoftmaxPolicy",
    "StepResult",
    "UniformRandomPolicy",
    "UserConfig",
    "World",
    "WorldConfig",
    "click_probabilities",
    "generate_world",
    "heuristic_scores",
    "list_fatigue",
    "plackett_luce_marginals",
    "policy_value",
    "random_policy_ctr",
    "simulate_dataset",
    "simulate_logs",
    "world_from_catalog",
]
