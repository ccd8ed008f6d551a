"""The preference-conditioned ranking policy and its reinforcement learning.

pi(list | context, candidates, w; theta) takes the objective weights w as input, so one
trained model serves any trade-off per request. `PolicyInput` is what it reads (context,
candidate features, named per-objective predictions, group labels); `PreferencePolicy`
scores (Plackett-Luce, or list-aware: the next position given the items placed);
`rank` serves greedy lists with per-objective contributions; `train_on_policy` learns in
the simulator (REINFORCE with a baseline, or PPO), `train_off_policy` from logs (top-K
off-policy correction); `served_front` measures a saved policy's front over a grid of w.
"""

from paretorec.policy.checkpoint import load_policy, save_policy
from paretorec.policy.front import ServedFront, front_of, policy_rank_fn, served_front
from paretorec.policy.inputs import PolicyInput
from paretorec.policy.logs import (
    LoggedData,
    OffPolicyEstimate,
    action_distribution,
    estimate_ctr,
    read_logged_data,
    rounds,
    smoothed_click_rates,
    split_in_time,
)
from paretorec.policy.network import (
    INTERACTION,
    Baseline,
    PolicyConfig,
    PolicyVariant,
    PreferencePolicy,
)
from paretorec.policy.offpolicy import (
    LoggedRounds,
    OffPolicyConfig,
    top_k_off_policy_loss,
    train_off_policy,
)
from paretorec.policy.onpolicy import (
    Algorithm,
    OnPolicyConfig,
    Progress,
    TrainingResult,
    train_on_policy,
)
from paretorec.policy.plackett_luce import pl_greedy, pl_log_prob, pl_sample, top_k_multiplier
from paretorec.policy.predictors import (
    LoggedFeedbackModel,
    ObservationPredictor,
    fit_logged_feedback_model,
)
from paretorec.policy.ranker_predictor import RankerPredictor, fit_ranker_from_random_logs
from paretorec.policy.rewards import PolicyObjective, RewardScales, parse_objectives
from paretorec.policy.serving import RankedLists, rank
from paretorec.policy.simulator import (
    PredictorKind,
    SimulatorSpec,
    SimulatorTask,
    fit_from_random_logs,
    make_task,
    policy_config,
    simulator_meta,
)

__all__ = [
    "INTERACTION",
    "Algorithm",
    "Baseline",
    "LoggedData",
    "LoggedFeedbackModel",
    "LoggedRounds",
    "ObservationPredictor",
    "OffPolicyConfig",
    "OffPolicyEstimate",
    "OnPolicyConfig",
    "PolicyConfig",
    "PolicyInput",
    "PolicyObjective",
    "PolicyVariant",
    "PredictorKind",
    "PreferencePolicy",
    "Progress",
    "RankedLists",
    "RankerPredictor",
    "RewardScales",
    "ServedFront",
    "SimulatorSpec",
    "SimulatorTask",
    "TrainingResult",
    "action_distribution",
    "estimate_ctr",
    "fit_from_random_logs",
    "fit_logged_feedback_model",
    "fit_ranker_from_random_logs",
    "front_of",
    "load_policy",
    "make_task",
    "parse_objectives",
    "pl_greedy",
    "pl_log_prob",
    "pl_sample",
    "policy_config",
    "policy_rank_fn",
    "rank",
    "read_logged_data",
    "rounds",
    "save_policy",
    "served_front",
    "simulator_meta",
    "smoothed_click_rates",
    "split_in_time",
    "top_k_multiplier",
    "top_k_off_policy_loss",
    "train_off_policy",
    "train_on_policy",
]
