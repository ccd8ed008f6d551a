"""Off-policy estimators for ranked lists (slates), after obp 0.4.1's `estimators_slate`.

The log is long-format, one row per (slate, position): `slate_id`, `position`, the
reward r_ik earned at that position, and the two policies' probabilities of what was
shown there. The value is the expected total reward of a list, estimated as
V = (1 / n_slates) sum_i sum_k w_ik r_ik, with a weight that depends on what the
estimator assumes about how the reward at position k depends on the list:

- SIPS (standard): w_ik = pi_e(whole list i) / pi_b(whole list i); no assumption, the
  most variance. `pscore` / `evaluation_policy_pscore`: the list's probability, the
  same on every row of a slate. McInerney et al. (2020).
- IIPS (independent items): w_ik = pi_e(a_ik at k) / pi_b(a_ik at k), the marginal
  item-position propensities (`pscore_item_position`, the data contract's `propensity`);
  unbiased when r_ik depends only on the item at k (item-position / PBM click model).
  Li et al. (2018), "Offline evaluation of ranking policies with click models".
- RIPS (reward interaction, cascade): w_ik = pi_e(a_i1..a_ik) / pi_b(a_i1..a_ik), the
  probability of the list's top k (`pscore_cascade`: the product down to k of the
  probabilities given the items above, the data contract's `propensity_given_above`;
  see `cascade_pscore`); unbiased when r_ik depends only on the items at 1..k (cascade
  models). McInerney et al. (2020), "Counterfactual evaluation of slate recommendations
  with sequential reward interactions".

With one position per slate all three are the standard IPS. `lambda_` caps each weight
(w -> min(w, lambda_)); obp 0.4.1's slate estimators have no such cap, nor a `len_list`
argument that changes the result (it is only stored there), so there is none here. The
bootstrap resamples whole slates, as obp does.
"""

from __future__ import annotations

import math
from abc import ABC
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from paretorec.evaluate.ope.base import (
    FloatArray,
    IntArray,
    PolicyValueInterval,
    RoundTerms,
    as_float_vector,
    as_probabilities,
    as_probabilities_or_zero,
    bootstrap_interval,
    check_nonnegative_number,
)


@dataclass(frozen=True)
class SlateInputs:
    """Checked long-format slate inputs; `slate` holds 0..n_slates - 1 codes."""

    slate: IntArray
    position: IntArray
    reward: FloatArray
    pscore: FloatArray
    evaluation_pscore: FloatArray
    n_slates: int

    def terms(self, lambda_: float) -> RoundTerms:
        w = self.evaluation_pscore / self.pscore
        if lambda_ < math.inf:
            w = np.minimum(w, lambda_)
        per_slate = np.bincount(self.slate, weights=w * self.reward, minlength=self.n_slates)
        return RoundTerms(base=per_slate.astype(np.float64))


def _slate_codes(slate_id: npt.ArrayLike) -> tuple[IntArray, int]:
    arr = np.asarray(slate_id)
    if arr.ndim != 1:
        raise ValueError(f"slate_id must be 1-dimensional, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError("the log is empty: no rows")
    _, codes = np.unique(arr, return_inverse=True)
    out: IntArray = codes.astype(np.int64).reshape(-1)
    return out, int(out.max()) + 1


def check_slate_inputs(
    *,
    slate_id: npt.ArrayLike,
    reward: npt.ArrayLike,
    position: npt.ArrayLike,
    pscore: npt.ArrayLike,
    evaluation_pscore: npt.ArrayLike,
    pscore_name: str,
) -> SlateInputs:
    """Checks and converts the inputs; raises ValueError saying what is wrong."""
    slate, n_slates = _slate_codes(slate_id)
    pos = np.asarray(position)
    if pos.ndim != 1 or not np.issubdtype(pos.dtype, np.integer):
        raise ValueError("position must be a 1-dimensional array of integers")
    if pos.size and pos.min() < 0:
        raise ValueError(f"position must be 0-based, got {pos.min()}")
    r = as_float_vector(reward, "reward")
    p = as_probabilities(pscore, pscore_name)
    e = as_probabilities_or_zero(evaluation_pscore, f"evaluation_policy_{pscore_name}")
    n = slate.shape[0]
    for name, v in (
        ("position", pos),
        ("reward", r),
        (pscore_name, p),
        (f"evaluation_policy_{pscore_name}", e),
    ):
        if v.shape[0] != n:
            raise ValueError(f"{name} has {v.shape[0]} rows but slate_id has {n}")
    key = slate * (int(pos.max()) + 1) + pos.astype(np.int64)
    if np.unique(key).shape[0] != n:
        raise ValueError("a slate repeats a position: each (slate_id, position) must be unique")
    return SlateInputs(
        slate=slate,
        position=pos.astype(np.int64),
        reward=r,
        pscore=p,
        evaluation_pscore=e,
        n_slates=n_slates,
    )


def _check_constant_in_slate(inputs: SlateInputs, values: FloatArray, name: str) -> None:
    lo = np.full(inputs.n_slates, np.inf)
    hi = np.full(inputs.n_slates, -np.inf)
    np.minimum.at(lo, inputs.slate, values)
    np.maximum.at(hi, inputs.slate, values)
    if (hi - lo > 1e-12 * np.maximum(hi, 1e-300)).any():
        raise ValueError(
            f"{name} must be the same on every row of a slate (the list's probability)"
        )


def _check_non_increasing(inputs: SlateInputs, values: FloatArray, name: str) -> None:
    order = np.lexsort((inputs.position, inputs.slate))
    s, v = inputs.slate[order], values[order]
    same = s[1:] == s[:-1]
    if (same & (v[1:] > v[:-1] * (1 + 1e-12))).any():
        raise ValueError(
            f"{name} must not increase down a slate: it is the probability of the list's top k"
        )


class SlateEstimator(ABC):
    """Shared code of the slate estimators."""

    estimator_name: ClassVar[str]
    lambda_: float

    def _value(self, inputs: SlateInputs) -> float:
        return inputs.terms(self.lambda_).value()

    def _interval(
        self, inputs: SlateInputs, alpha: float, n_bootstrap: int, seed: int
    ) -> PolicyValueInterval:
        return bootstrap_interval(
            inputs.terms(self.lambda_), alpha=alpha, n_bootstrap=n_bootstrap, seed=seed
        )


@dataclass(frozen=True)
class SIPS(SlateEstimator):
    """Standard slate IPS: V = mean over slates of sum_k (pi_e(list) / pi_b(list)) r_ik.
    McInerney et al. (2020); obp: SlateStandardIPS."""

    lambda_: float = math.inf
    estimator_name: ClassVar[str] = "sips"

    def __post_init__(self) -> None:
        check_nonnegative_number(self.lambda_, "lambda_", positive=True)

    def _check(
        self,
        slate_id: npt.ArrayLike,
        reward: npt.ArrayLike,
        position: npt.ArrayLike,
        pscore: npt.ArrayLike,
        evaluation_pscore: npt.ArrayLike,
    ) -> SlateInputs:
        inputs = check_slate_inputs(
            slate_id=slate_id,
            reward=reward,
            position=position,
            pscore=pscore,
            evaluation_pscore=evaluation_pscore,
            pscore_name="pscore",
        )
        _check_constant_in_slate(inputs, inputs.pscore, "pscore")
        _check_constant_in_slate(inputs, inputs.evaluation_pscore, "evaluation_policy_pscore")
        return inputs

    def estimate_policy_value(
        self,
        *,
        slate_id: npt.ArrayLike,
        reward: npt.ArrayLike,
        position: npt.ArrayLike,
        pscore: npt.ArrayLike,
        evaluation_policy_pscore: npt.ArrayLike,
    ) -> float:
        """The estimated expected total reward of a list under the evaluation policy."""
        return self._value(
            self._check(
                slate_id=slate_id,
                reward=reward,
                position=position,
                pscore=pscore,
                evaluation_pscore=evaluation_policy_pscore,
            )
        )

    def estimate_interval(
        self,
        *,
        slate_id: npt.ArrayLike,
        reward: npt.ArrayLike,
        position: npt.ArrayLike,
        pscore: npt.ArrayLike,
        evaluation_policy_pscore: npt.ArrayLike,
        alpha: float = 0.05,
        n_bootstrap: int = 1000,
        seed: int = 0,
    ) -> PolicyValueInterval:
        """The estimate and its percentile-bootstrap interval over slates."""
        inputs = self._check(
            slate_id=slate_id,
            reward=reward,
            position=position,
            pscore=pscore,
            evaluation_pscore=evaluation_policy_pscore,
        )
        return self._interval(inputs, alpha, n_bootstrap, seed)


@dataclass(frozen=True)
class IIPS(SlateEstimator):
    """Independent-item slate IPS: V = mean over slates of
    sum_k (pi_e(a_ik at k) / pi_b(a_ik at k)) r_ik (marginal item-position propensities).
    Li et al. (2018); obp: SlateIndependentIPS."""

    lambda_: float = math.inf
    estimator_name: ClassVar[str] = "iips"

    def __post_init__(self) -> None:
        check_nonnegative_number(self.lambda_, "lambda_", positive=True)

    def estimate_policy_value(
        self,
        *,
        slate_id: npt.ArrayLike,
        reward: npt.ArrayLike,
        position: npt.ArrayLike,
        pscore_item_position: npt.ArrayLike,
        evaluation_policy_pscore_item_position: npt.ArrayLike,
    ) -> float:
        """The estimated expected total reward of a list under the evaluation policy."""
        inputs = check_slate_inputs(
            slate_id=slate_id,
            reward=reward,
            position=position,
            pscore=pscore_item_position,
            evaluation_pscore=evaluation_policy_pscore_item_position,
            pscore_name="pscore_item_position",
        )
        return self._value(inputs)

    def estimate_interval(
        self,
        *,
        slate_id: npt.ArrayLike,
        reward: npt.ArrayLike,
        position: npt.ArrayLike,
        pscore_item_position: npt.ArrayLike,
        evaluation_policy_pscore_item_position: npt.ArrayLike,
        alpha: float = 0.05,
        n_bootstrap: int = 1000,
        seed: int = 0,
    ) -> PolicyValueInterval:
        """The estimate and its percentile-bootstrap interval over slates."""
        inputs = check_slate_inputs(
            slate_id=slate_id,
            reward=reward,
            position=position,
            pscore=pscore_item_position,
            evaluation_pscore=evaluation_policy_pscore_item_position,
            pscore_name="pscore_item_position",
        )
        return self._interval(inputs, alpha, n_bootstrap, seed)


@dataclass(frozen=True)
class RIPS(SlateEstimator):
    """Reward-interaction (cascade) slate IPS: V = mean over slates of
    sum_k (pi_e(a_i1..a_ik) / pi_b(a_i1..a_ik)) r_ik, each probability the product of
    the position-wise probabilities given the items above, down to k.
    McInerney et al. (2020); obp: SlateRewardInteractionIPS."""

    lambda_: float = math.inf
    estimator_name: ClassVar[str] = "rips"

    def __post_init__(self) -> None:
        check_nonnegative_number(self.lambda_, "lambda_", positive=True)

    def _check(
        self,
        slate_id: npt.ArrayLike,
        reward: npt.ArrayLike,
        position: npt.ArrayLike,
        pscore: npt.ArrayLike,
        evaluation_pscore: npt.ArrayLike,
    ) -> SlateInputs:
        inputs = check_slate_inputs(
            slate_id=slate_id,
            reward=reward,
            position=position,
            pscore=pscore,
            evaluation_pscore=evaluation_pscore,
            pscore_name="pscore_cascade",
        )
        _check_non_increasing(inputs, inputs.pscore, "pscore_cascade")
        _check_non_increasing(inputs, inputs.evaluation_pscore, "evaluation_policy_pscore_cascade")
        return inputs

    def estimate_policy_value(
        self,
        *,
        slate_id: npt.ArrayLike,
        reward: npt.ArrayLike,
        position: npt.ArrayLike,
        pscore_cascade: npt.ArrayLike,
        evaluation_policy_pscore_cascade: npt.ArrayLike,
    ) -> float:
        """The estimated expected total reward of a list under the evaluation policy."""
        return self._value(
            self._check(
                slate_id=slate_id,
                reward=reward,
                position=position,
                pscore=pscore_cascade,
                evaluation_pscore=evaluation_policy_pscore_cascade,
            )
        )

    def estimate_interval(
        self,
        *,
        slate_id: npt.ArrayLike,
        reward: npt.ArrayLike,
        position: npt.ArrayLike,
        pscore_cascade: npt.ArrayLike,
        evaluation_policy_pscore_cascade: npt.ArrayLike,
        alpha: float = 0.05,
        n_bootstrap: int = 1000,
        seed: int = 0,
    ) -> PolicyValueInterval:
        """The estimate and its percentile-bootstrap interval over slates."""
        inputs = self._check(
            slate_id=slate_id,
            reward=reward,
            position=position,
            pscore=pscore_cascade,
            evaluation_pscore=evaluation_policy_pscore_cascade,
        )
        return self._interval(inputs, alpha, n_bootstrap, seed)


def cascade_pscore(
    slate_id: npt.ArrayLike, position: npt.ArrayLike, pscore_given_above: npt.ArrayLike
) -> FloatArray:
    """obp's `pscore_cascade` from the probabilities given the items above: the product
    of `pscore_given_above` over the slate's positions 0..k, for each row (any row
    order). Every slate must have all its positions from 0 up to its last, since the
    product needs each of them."""
    slate, _ = _slate_codes(slate_id)
    pos = np.asarray(position)
    if pos.ndim != 1 or not np.issubdtype(pos.dtype, np.integer):
        raise ValueError("position must be a 1-dimensional array of integers")
    given = as_probabilities_or_zero(pscore_given_above, "pscore_given_above")
    if not pos.shape[0] == given.shape[0] == slate.shape[0]:
        raise ValueError("slate_id, position and pscore_given_above must have the same length")
    order = np.lexsort((pos, slate))
    s, k = slate[order], pos[order].astype(np.int64)
    first = np.ones(s.shape[0], dtype=bool)
    first[1:] = s[1:] != s[:-1]
    rank = np.arange(s.shape[0]) - np.maximum.accumulate(np.where(first, np.arange(s.shape[0]), 0))
    if (k != rank).any():
        i = int(order[np.argmax(k != rank)])
        raise ValueError(
            f"row {i}: slate {np.asarray(slate_id)[i]!r} lacks a position above {int(pos[i])}: "
            "the cascade propensity needs every position from 0 down to it"
        )
    # sorted by (slate, position) with no gaps, so row j - 1 is the position above row j
    prefix = given[order].copy()
    for level in range(1, int(k.max()) + 1):
        rows = np.flatnonzero(k == level)
        prefix[rows] *= prefix[rows - 1]
    out: FloatArray = np.empty(s.shape[0])
    out[order] = prefix
    return out
