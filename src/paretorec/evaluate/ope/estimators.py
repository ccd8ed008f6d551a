"""Off-policy estimators of a policy's value from logged bandit feedback (obp's conventions).

A log has n rounds; in round i the logging policy pi_b showed action a_i at position k_i
(0-based, one of len_list slots) with propensity p_i = pi_b(a_i at k_i | x_i) and the round
earned reward r_i. The evaluation policy pi_e is given as `action_dist`, shape
(n, n_actions, len_list): pi_e(a at k | x_i), each [i, :, k] summing to 1. The value
estimated is the mean reward per round under pi_e, V = E_x E_{a ~ pi_e(. at k | x)} q(x, a, k).
With w_i = pi_e(a_i at k_i | x_i) / p_i the importance weight, q_hat a reward model
(`estimated_rewards_by_reg_model`, same shape as `action_dist`) and
q_hat(x_i, pi_e) = sum_a pi_e(a at k_i | x_i) q_hat(x_i, a, k_i):

- IPS      mean_i  w_i r_i                                   (Horvitz & Thompson 1952;
                                                              Precup et al. 2000)
- SNIPS    sum_i w_i r_i / sum_i w_i                          (Swaminathan & Joachims 2015)
- DM       mean_i  q_hat(x_i, pi_e)                           (Beygelzimer & Langford 2009)
- DR       mean_i  q_hat(x_i, pi_e) + w_i (r_i - q_hat(x_i, a_i, k_i))   (Dudik et al. 2014)
- SNDR     mean_i  q_hat(x_i, pi_e) + sum_i w_i (r_i - q_hat_i) / sum_i w_i
- Switch-DR mean_i q_hat(x_i, pi_e) + 1{w_i <= tau} w_i (r_i - q_hat_i)  (Wang et al. 2017)

`lambda_` caps the weights, w_i -> min(w_i, lambda_) (obp's weight clipping, "IPS with
clipping", Strehl et al. 2010; for DR, the pessimistic shrinkage of Su et al. 2020). These
are obp 0.4.1's definitions (`obp.ope.estimators`); obp 0.4.1 has no `lambda_` (it came
in 0.5), Switch-DR's `tau` thresholds the weight as there.

Each estimator is a frozen dataclass checked when built; `estimate_policy_value` gives
the value and `estimate_interval` a seeded percentile-bootstrap interval. They share one
keyword signature (what an estimator does not use may be left out), so a list of them can
be run over the same inputs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from paretorec.evaluate.ope.base import (
    FloatArray,
    IntArray,
    PolicyValueInterval,
    RoundTerms,
    as_action_dist,
    as_float_vector,
    as_index_vector,
    as_probabilities,
    bootstrap_interval,
    check_nonnegative_number,
)


@dataclass(frozen=True)
class BanditInputs:
    """Checked inputs of the standard estimators (what one of them needs may be None)."""

    action_dist: FloatArray
    position: IntArray
    reward: FloatArray | None
    action: IntArray | None
    pscore: FloatArray | None
    estimated_rewards: FloatArray | None

    @property
    def n_rounds(self) -> int:
        return int(self.action_dist.shape[0])

    def logged(self) -> tuple[FloatArray, IntArray, FloatArray]:
        assert self.reward is not None and self.action is not None and self.pscore is not None
        return self.reward, self.action, self.pscore

    def importance_weights(self, lambda_: float = math.inf) -> FloatArray:
        """min(pi_e(a_i at k_i | x_i) / pscore_i, lambda_)."""
        _, action, pscore = self.logged()
        rows = np.arange(self.n_rounds)
        w: FloatArray = self.action_dist[rows, action, self.position] / pscore
        return np.minimum(w, lambda_) if lambda_ < math.inf else w

    def q_hat_policy(self) -> FloatArray:
        """q_hat(x_i, pi_e) = sum_a pi_e(a at k_i | x_i) q_hat(x_i, a, k_i)."""
        assert self.estimated_rewards is not None
        rows = np.arange(self.n_rounds)
        pi = self.action_dist[rows, :, self.position]
        q = self.estimated_rewards[rows, :, self.position]
        out: FloatArray = np.einsum("ia,ia->i", pi, q)
        return out

    def q_hat_factual(self) -> FloatArray:
        """q_hat(x_i, a_i, k_i)."""
        assert self.estimated_rewards is not None
        _, action, _ = self.logged()
        out: FloatArray = self.estimated_rewards[np.arange(self.n_rounds), action, self.position]
        return out


def check_bandit_inputs(
    *,
    action_dist: npt.ArrayLike,
    position: npt.ArrayLike | None,
    reward: npt.ArrayLike | None,
    action: npt.ArrayLike | None,
    pscore: npt.ArrayLike | None,
    estimated_rewards_by_reg_model: npt.ArrayLike | None,
    need_logged: bool,
    need_reward_model: bool,
    who: str,
) -> BanditInputs:
    """Checks and converts the inputs; raises ValueError saying what is wrong."""
    dist = as_action_dist(action_dist)
    n, n_actions, len_list = dist.shape
    if position is None:
        if len_list > 1:
            raise ValueError(f"position must be given when action_dist has {len_list} positions")
        pos: IntArray = np.zeros(n, dtype=np.int64)
    else:
        pos = as_index_vector(position, "position", len_list, "the positions of action_dist")
        if pos.shape[0] != n:
            raise ValueError(f"position has {pos.shape[0]} rounds but action_dist has {n}")
    r = a = p = None
    if need_logged:
        missing = [
            name
            for name, v in (("reward", reward), ("action", action), ("pscore", pscore))
            if v is None
        ]
        if missing:
            raise ValueError(f"{who} needs {', '.join(missing)}")
    if reward is not None:
        r = as_float_vector(reward, "reward")
    if action is not None:
        a = as_index_vector(action, "action", n_actions, "the actions of action_dist")
    if pscore is not None:
        p = as_probabilities(pscore, "pscore")
    for name, v in (("reward", r), ("action", a), ("pscore", p)):
        if v is not None and v.shape[0] != n:
            raise ValueError(f"{name} has {v.shape[0]} rounds but action_dist has {n}")
    q: FloatArray | None = None
    if estimated_rewards_by_reg_model is not None:
        q = np.asarray(estimated_rewards_by_reg_model, dtype=np.float64)
        if q.shape != dist.shape:
            raise ValueError(
                f"estimated_rewards_by_reg_model has shape {q.shape}, action_dist {dist.shape}: "
                "they must be the same"
            )
        if q.size and not (math.isfinite(float(q.min())) and math.isfinite(float(q.max()))):
            raise ValueError("estimated_rewards_by_reg_model must be finite")
    elif need_reward_model:
        raise ValueError(f"{who} needs estimated_rewards_by_reg_model")
    return BanditInputs(
        action_dist=dist, position=pos, reward=r, action=a, pscore=p, estimated_rewards=q
    )


class OffPolicyEstimator(ABC):
    """The contract of the standard (per-round) estimators."""

    estimator_name: ClassVar[str]
    needs_logged: ClassVar[bool] = True
    needs_reward_model: ClassVar[bool] = False

    @abstractmethod
    def round_terms(self, inputs: BanditInputs) -> RoundTerms:
        """The per-round pieces of the estimate (see `paretorec.evaluate.ope.base`)."""

    def check(
        self,
        *,
        action_dist: npt.ArrayLike,
        reward: npt.ArrayLike | None = None,
        action: npt.ArrayLike | None = None,
        pscore: npt.ArrayLike | None = None,
        position: npt.ArrayLike | None = None,
        estimated_rewards_by_reg_model: npt.ArrayLike | None = None,
    ) -> BanditInputs:
        return check_bandit_inputs(
            action_dist=action_dist,
            position=position,
            reward=reward,
            action=action,
            pscore=pscore,
            estimated_rewards_by_reg_model=estimated_rewards_by_reg_model,
            need_logged=self.needs_logged,
            need_reward_model=self.needs_reward_model,
            who=type(self).__name__,
        )

    def estimate_policy_value(
        self,
        *,
        action_dist: npt.ArrayLike,
        reward: npt.ArrayLike | None = None,
        action: npt.ArrayLike | None = None,
        pscore: npt.ArrayLike | None = None,
        position: npt.ArrayLike | None = None,
        estimated_rewards_by_reg_model: npt.ArrayLike | None = None,
    ) -> float:
        """The estimated mean reward per round of the evaluation policy.

        reward, action, pscore, position: shape (n_rounds,); position 0-based (may be
        left out when len_list is 1). action_dist and estimated_rewards_by_reg_model:
        shape (n_rounds, n_actions, len_list).
        """
        inputs = self.check(
            action_dist=action_dist,
            reward=reward,
            action=action,
            pscore=pscore,
            position=position,
            estimated_rewards_by_reg_model=estimated_rewards_by_reg_model,
        )
        return self.round_terms(inputs).value()

    def estimate_interval(
        self,
        *,
        action_dist: npt.ArrayLike,
        reward: npt.ArrayLike | None = None,
        action: npt.ArrayLike | None = None,
        pscore: npt.ArrayLike | None = None,
        position: npt.ArrayLike | None = None,
        estimated_rewards_by_reg_model: npt.ArrayLike | None = None,
        alpha: float = 0.05,
        n_bootstrap: int = 1000,
        seed: int = 0,
    ) -> PolicyValueInterval:
        """The estimate and its (1 - alpha) percentile-bootstrap interval over rounds
        (`n_bootstrap` replicates drawn from `seed`; the same seed, the same interval)."""
        inputs = self.check(
            action_dist=action_dist,
            reward=reward,
            action=action,
            pscore=pscore,
            position=position,
            estimated_rewards_by_reg_model=estimated_rewards_by_reg_model,
        )
        return bootstrap_interval(
            self.round_terms(inputs), alpha=alpha, n_bootstrap=n_bootstrap, seed=seed
        )


@dataclass(frozen=True)
class IPS(OffPolicyEstimator):
    """Inverse propensity scoring: V = mean_i min(w_i, lambda_) r_i.

    Unbiased when pi_b gives every action pi_e may take a positive probability (and
    lambda_ is infinite). Horvitz & Thompson (1952); Precup, Sutton & Singh (2000);
    clipping: Strehl, Langford, Li & Kakade (2010). obp: InverseProbabilityWeighting.
    """

    lambda_: float = math.inf
    estimator_name: ClassVar[str] = "ipw"

    def __post_init__(self) -> None:
        check_nonnegative_number(self.lambda_, "lambda_", positive=True)

    def round_terms(self, inputs: BanditInputs) -> RoundTerms:
        reward, _, _ = inputs.logged()
        return RoundTerms(base=inputs.importance_weights(self.lambda_) * reward)


@dataclass(frozen=True)
class SNIPS(OffPolicyEstimator):
    """Self-normalized IPS: V = sum_i w_i r_i / sum_i w_i, with w_i = min(w_i, lambda_).

    Consistent, slightly biased, far less variance than IPS when weights are large;
    equal to IPS when the weights average to 1. Swaminathan & Joachims (2015), "The
    self-normalized estimator for counterfactual learning". obp:
    SelfNormalizedInverseProbabilityWeighting.
    """

    lambda_: float = math.inf
    estimator_name: ClassVar[str] = "snipw"

    def __post_init__(self) -> None:
        check_nonnegative_number(self.lambda_, "lambda_", positive=True)

    def round_terms(self, inputs: BanditInputs) -> RoundTerms:
        reward, _, _ = inputs.logged()
        w = inputs.importance_weights(self.lambda_)
        return RoundTerms(base=np.zeros(inputs.n_rounds), correction=w * reward, norm=w)


@dataclass(frozen=True)
class DM(OffPolicyEstimator):
    """Direct method: V = mean_i sum_a pi_e(a at k_i | x_i) q_hat(x_i, a, k_i).

    Uses only the reward model (biased as it is, no variance from weights); the logged
    reward, action and pscore are not needed. Beygelzimer & Langford (2009). obp:
    DirectMethod.
    """

    estimator_name: ClassVar[str] = "dm"
    needs_logged: ClassVar[bool] = False
    needs_reward_model: ClassVar[bool] = True

    def round_terms(self, inputs: BanditInputs) -> RoundTerms:
        return RoundTerms(base=inputs.q_hat_policy())


@dataclass(frozen=True)
class DR(OffPolicyEstimator):
    """Doubly robust: V = mean_i q_hat(x_i, pi_e) + w_i (r_i - q_hat(x_i, a_i, k_i)),
    w_i = min(w_i, lambda_).

    Unbiased when the weights are exact, whatever the reward model; equal to DM when the
    model is exact on the logged actions. Dudik, Langford & Li (2011/2014), "Doubly
    robust policy evaluation and optimization". obp: DoublyRobust.
    """

    lambda_: float = math.inf
    estimator_name: ClassVar[str] = "dr"
    needs_reward_model: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_nonnegative_number(self.lambda_, "lambda_", positive=True)

    def round_terms(self, inputs: BanditInputs) -> RoundTerms:
        reward, _, _ = inputs.logged()
        w = inputs.importance_weights(self.lambda_)
        return RoundTerms(base=inputs.q_hat_policy() + w * (reward - inputs.q_hat_factual()))


@dataclass(frozen=True)
class SNDR(OffPolicyEstimator):
    """Self-normalized doubly robust: V = mean_i q_hat(x_i, pi_e)
    + sum_i w_i (r_i - q_hat(x_i, a_i, k_i)) / sum_i w_i, w_i = min(w_i, lambda_).

    DR with the correction's weights normalized as in SNIPS (Kallus & Uehara 2019,
    "Intrinsically efficient, stable, and bounded off-policy evaluation"; obp:
    SelfNormalizedDoublyRobust).
    """

    lambda_: float = math.inf
    estimator_name: ClassVar[str] = "sndr"
    needs_reward_model: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_nonnegative_number(self.lambda_, "lambda_", positive=True)

    def round_terms(self, inputs: BanditInputs) -> RoundTerms:
        reward, _, _ = inputs.logged()
        w = inputs.importance_weights(self.lambda_)
        return RoundTerms(
            base=inputs.q_hat_policy(),
            correction=w * (reward - inputs.q_hat_factual()),
            norm=w,
        )


@dataclass(frozen=True)
class SwitchDR(OffPolicyEstimator):
    """Switch doubly robust: V = mean_i q_hat(x_i, pi_e)
    + 1{w_i <= tau} w_i (r_i - q_hat(x_i, a_i, k_i)).

    DR where the weight is small enough, DM alone where it exceeds `tau` (tau = inf is
    DR, tau = 0 is DM). Wang, Agarwal & Dudik (2017), "Optimal and adaptive off-policy
    evaluation in contextual bandits". obp: SwitchDoublyRobust (same `tau`, default 1).
    """

    tau: float = 1.0
    estimator_name: ClassVar[str] = "switch-dr"
    needs_reward_model: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_nonnegative_number(self.tau, "tau")

    def round_terms(self, inputs: BanditInputs) -> RoundTerms:
        reward, _, _ = inputs.logged()
        w = inputs.importance_weights()
        kept = np.where(w <= self.tau, w, 0.0)
        return RoundTerms(base=inputs.q_hat_policy() + kept * (reward - inputs.q_hat_factual()))
