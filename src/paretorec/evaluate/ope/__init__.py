"""Off-policy evaluation: what a ranking policy would earn, estimated from another
policy's logs (after Open Bandit Pipeline's estimators and conventions).

Standard estimators (one action per round, optionally at a position): `IPS`, `SNIPS`,
`DM`, `DR`, `SNDR`, `SwitchDR`; slate estimators for ranked lists: `SIPS`, `IIPS`,
`RIPS`. Each has `estimate_policy_value(...)` and `estimate_interval(..., alpha,
n_bootstrap, seed)` giving a `PolicyValueInterval`. `CrossFittedRewardModel` fits the
reward model of DM and the DR family on separate folds; `feedback_from_events` turns the
data contract's events into the estimators' arrays.
"""

from paretorec.evaluate.ope.adapter import LoggedFeedback, feedback_from_events
from paretorec.evaluate.ope.base import PolicyValueInterval
from paretorec.evaluate.ope.estimators import (
    DM,
    DR,
    IPS,
    SNDR,
    SNIPS,
    OffPolicyEstimator,
    SwitchDR,
)
from paretorec.evaluate.ope.reward_model import CrossFittedRewardModel, CrossFittedRewards
from paretorec.evaluate.ope.slate import IIPS, RIPS, SIPS, SlateEstimator, cascade_pscore

__all__ = [
    "DM",
    "DR",
    "IIPS",
    "IPS",
    "RIPS",
    "SIPS",
    "SNDR",
    "SNIPS",
    "CrossFittedRewardModel",
    "CrossFittedRewards",
    "LoggedFeedback",
    "OffPolicyEstimator",
    "PolicyValueInterval",
    "SlateEstimator",
    "SwitchDR",
    "cascade_pscore",
    "feedback_from_events",
]
