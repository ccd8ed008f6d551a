"""The standard off-policy estimators: hand-computed values, invariants, bad inputs."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from paretorec.evaluate.ope import (
    DM,
    DR,
    IPS,
    SNDR,
    SNIPS,
    OffPolicyEstimator,
    PolicyValueInterval,
    SwitchDR,
)

# A log of 4 rounds, 2 actions, one position.
#   round  action  reward  pscore  pi_e(.)       q_hat(.)     w = pi_e(a)/pscore
#     0      0       1      0.5    [0.5, 0.5]    [0.6, 0.2]   0.5/0.5  = 1
#     1      1       1      0.25   [0.25, 0.75]  [0.1, 0.3]   0.75/0.25 = 3
#     2      1       1      0.5    [1.0, 0.0]    [0.5, 0.4]   0.0/0.5  = 0
#     3      0       0      0.8    [0.2, 0.8]    [0.2, 0.0]   0.2/0.8  = 0.25
REWARD = np.array([1.0, 1.0, 1.0, 0.0])
ACTION = np.array([0, 1, 1, 0])
PSCORE = np.array([0.5, 0.25, 0.5, 0.8])
PI_E = np.array([[0.5, 0.5], [0.25, 0.75], [1.0, 0.0], [0.2, 0.8]])
Q_HAT = np.array([[0.6, 0.2], [0.1, 0.3], [0.5, 0.4], [0.2, 0.0]])


def tiny(**changes: Any) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "reward": REWARD,
        "action": ACTION,
        "pscore": PSCORE,
        "action_dist": PI_E[:, :, None],
        "estimated_rewards_by_reg_model": Q_HAT[:, :, None],
    }
    kw.update(changes)
    return kw


# DM per round: 0.5*0.6 + 0.5*0.2 = 0.4; 0.25*0.1 + 0.75*0.3 = 0.25; 1.0*0.5 = 0.5;
#   0.2*0.2 + 0.8*0.0 = 0.04; mean 1.19 / 4 = 0.2975.
# residuals r - q_hat(a): 1 - 0.6 = 0.4, 1 - 0.3 = 0.7, 1 - 0.4 = 0.6, 0 - 0.2 = -0.2;
#   times w: 0.4, 2.1, 0, -0.05, sum 2.45.
@pytest.mark.parametrize(
    ("estimator", "expected"),
    [
        (IPS(), (1 * 1 + 3 * 1 + 0 * 1 + 0.25 * 0) / 4),  # 1.0
        (SNIPS(), 4 / (1 + 3 + 0 + 0.25)),  # 0.9411...
        (IPS(lambda_=2.0), (1 + 2 + 0 + 0) / 4),  # weight 3 capped at 2: 0.75
        (SNIPS(lambda_=2.0), 3 / (1 + 2 + 0 + 0.25)),  # 0.923...
        (DM(), 1.19 / 4),  # 0.2975
        (DR(), 0.2975 + 2.45 / 4),  # 0.91
        (DR(lambda_=2.0), 0.2975 + (0.4 + 2 * 0.7 + 0 - 0.05) / 4),  # 0.735
        (SNDR(), 0.2975 + 2.45 / 4.25),  # 0.8739...
        (SwitchDR(tau=1.0), 0.2975 + (0.4 + 0 - 0.05) / 4),  # round 1 (w = 3) drops: 0.385
        (SwitchDR(tau=math.inf), 0.91),  # = DR
        (SwitchDR(tau=0.0), 0.2975 + 0 / 4),  # only w = 0 rounds keep a correction: = DM
    ],
)
def test_values_on_a_hand_computed_log(estimator: OffPolicyEstimator, expected: float) -> None:
    assert estimator.estimate_policy_value(**tiny()) == pytest.approx(expected, abs=1e-12)


def test_position_selects_the_slot_of_action_dist() -> None:
    # two slots: pi_e at slot 0 is [1, 0], at slot 1 [0, 1]; the rounds were logged at
    # slots 0 and 1 with action 1, so w = 0 at round 0 and w = 1 / 0.5 = 2 at round 1
    dist = np.array([[[1.0, 0.0], [0.0, 1.0]]] * 2)
    value = IPS().estimate_policy_value(
        reward=np.array([1.0, 1.0]),
        action=np.array([1, 1]),
        position=np.array([0, 1]),
        pscore=np.array([0.5, 0.5]),
        action_dist=dist,
    )
    assert value == pytest.approx((0 + 2) / 2)


def test_ips_and_dr_are_unbiased_over_every_possible_log() -> None:
    """Enumerate all logs of 2 rounds (3 actions, 0/1 rewards): E[IPS] and E[DR], with
    any fixed reward model, equal the true value sum_a pi_e(a) q(a)."""
    pi_b = np.array([0.5, 0.3, 0.2])
    pi_e = np.array([0.1, 0.3, 0.6])
    q = np.array([0.2, 0.5, 0.9])
    q_hat = np.array([0.4, 0.1, 0.7])  # wrong on purpose
    truth = float(pi_e @ q)
    outcomes = [(a, r) for a in range(3) for r in (0, 1)]
    prob = {(a, r): pi_b[a] * (q[a] if r else 1 - q[a]) for a, r in outcomes}
    expected = {"ips": 0.0, "dr": 0.0, "dm": 0.0}
    for log in itertools.product(outcomes, repeat=2):
        p = math.prod(prob[o] for o in log)
        kw: dict[str, Any] = {
            "reward": np.array([r for _, r in log], dtype=float),
            "action": np.array([a for a, _ in log]),
            "pscore": pi_b[[a for a, _ in log]],
            "action_dist": np.tile(pi_e[None, :, None], (2, 1, 1)),
            "estimated_rewards_by_reg_model": np.tile(q_hat[None, :, None], (2, 1, 1)),
        }
        expected["ips"] += p * IPS().estimate_policy_value(**kw)
        expected["dr"] += p * DR().estimate_policy_value(**kw)
        expected["dm"] += p * DM().estimate_policy_value(**kw)
    assert expected["ips"] == pytest.approx(truth, abs=1e-12)
    assert expected["dr"] == pytest.approx(truth, abs=1e-12)
    assert expected["dm"] == pytest.approx(float(pi_e @ q_hat))  # DM is as good as q_hat


def test_snips_equals_ips_when_the_weights_average_to_one() -> None:
    # w = 0.25 / 0.5 = 0.5 and 0.75 / 0.5 = 1.5: mean 1
    kw: dict[str, Any] = {
        "reward": np.array([0.3, 0.9]),
        "action": np.array([0, 1]),
        "pscore": np.array([0.5, 0.5]),
        "action_dist": np.array([[[0.25], [0.75]], [[0.25], [0.75]]]),
    }
    assert SNIPS().estimate_policy_value(**kw) == pytest.approx(IPS().estimate_policy_value(**kw))


def test_dr_family_equals_dm_when_the_model_is_exact_on_the_logged_actions() -> None:
    q = Q_HAT.copy()
    q[np.arange(4), ACTION] = REWARD  # q_hat(x_i, a_i) = r_i: every residual is 0
    kw = tiny(estimated_rewards_by_reg_model=q[:, :, None])
    dm = DM().estimate_policy_value(**kw)
    for est in (DR(), SNDR(), SwitchDR(tau=1.0), DR(lambda_=2.0)):
        assert est.estimate_policy_value(**kw) == pytest.approx(dm)


def test_dr_equals_ips_when_the_model_is_zero() -> None:
    kw = tiny(estimated_rewards_by_reg_model=np.zeros((4, 2, 1)))
    assert DR().estimate_policy_value(**kw) == pytest.approx(IPS().estimate_policy_value(**kw))
    assert SNDR().estimate_policy_value(**kw) == pytest.approx(SNIPS().estimate_policy_value(**kw))
    assert DM().estimate_policy_value(**kw) == 0.0


def test_dm_needs_no_logged_rewards() -> None:
    value = DM().estimate_policy_value(
        action_dist=PI_E[:, :, None], estimated_rewards_by_reg_model=Q_HAT[:, :, None]
    )
    assert value == pytest.approx(0.2975)


def test_capping() -> None:
    rng = np.random.default_rng(0)
    n = 200
    dist = rng.dirichlet(np.ones(5), size=n)[:, :, None]
    kw: dict[str, Any] = {
        "reward": rng.random(n),
        "action": rng.integers(0, 5, n),
        "pscore": rng.uniform(0.05, 1.0, n),
        "action_dist": dist,
    }
    w = dist[np.arange(n), kw["action"], 0] / kw["pscore"]
    plain = IPS().estimate_policy_value(**kw)
    assert IPS(lambda_=math.inf).estimate_policy_value(**kw) == plain
    assert IPS(lambda_=float(w.max())).estimate_policy_value(**kw) == pytest.approx(plain)
    capped = IPS(lambda_=1.0).estimate_policy_value(**kw)
    assert capped == pytest.approx(float(np.mean(np.minimum(w, 1.0) * kw["reward"])))
    assert capped < plain  # rewards are positive and some weights exceed 1
    assert w.max() > 1.0


def test_interval_is_deterministic_under_a_seed_and_contains_the_estimate() -> None:
    rng = np.random.default_rng(1)
    n = 500
    kw: dict[str, Any] = {
        "reward": rng.binomial(1, 0.3, n).astype(float),
        "action": rng.integers(0, 4, n),
        "pscore": np.full(n, 0.25),
        "action_dist": np.tile(np.array([0.1, 0.2, 0.3, 0.4])[None, :, None], (n, 1, 1)),
        "estimated_rewards_by_reg_model": np.full((n, 4, 1), 0.3),
    }
    for est in (IPS(), SNIPS(), DM(), DR(), SNDR(), SwitchDR(tau=1.0)):
        first = est.estimate_interval(**kw, n_bootstrap=300, seed=7)
        again = est.estimate_interval(**kw, n_bootstrap=300, seed=7)
        other = est.estimate_interval(**kw, n_bootstrap=300, seed=8)
        assert isinstance(first, PolicyValueInterval)
        assert first == again
        assert first.mean == pytest.approx(est.estimate_policy_value(**kw))
        assert first.mean in first
        assert first.lower <= first.mean <= first.upper
        assert first.n_bootstrap == 300 and first.alpha == 0.05
        if not isinstance(est, DM):  # DM's terms are all equal here: a zero-width interval
            assert (first.lower, first.upper) != (other.lower, other.upper)
            assert first.standard_error > 0


def test_a_wider_confidence_gives_a_wider_interval() -> None:
    rng = np.random.default_rng(2)
    n = 300
    kw: dict[str, Any] = {
        "reward": rng.random(n),
        "action": np.zeros(n, dtype=int),
        "pscore": np.full(n, 0.5),
        "action_dist": np.tile(np.array([0.5, 0.5])[None, :, None], (n, 1, 1)),
    }
    narrow = IPS().estimate_interval(**kw, alpha=0.5, n_bootstrap=500, seed=0)
    wide = IPS().estimate_interval(**kw, alpha=0.01, n_bootstrap=500, seed=0)
    assert wide.lower < narrow.lower and narrow.upper < wide.upper


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pscore": np.array([0.5, 0.0, 0.5, 0.8])}, r"pscore must be in \(0, 1\]: pscore\[1\]"),
        ({"pscore": np.array([0.5, 1.5, 0.5, 0.8])}, r"pscore\[1\] is 1.5"),
        ({"pscore": np.array([0.5, np.nan, 0.5, 0.8])}, "pscore must be finite"),
        ({"reward": np.array([1.0, np.nan, 1.0, 0.0])}, r"reward must be finite: reward\[1\]"),
        ({"reward": np.array([1.0, 1.0, 1.0])}, "reward has 3 rounds but action_dist has 4"),
        ({"action": np.array([0, 1, 2, 0])}, r"action\[2\] = 2 is outside 0..1"),
        ({"action": np.array([0.0, 1.0, 1.0, 0.0])}, "action must hold integers"),
        ({"action_dist": PI_E[:, :, None] * 0.9}, r"action_dist\[0, :, 0\] sums to 0.9"),
        ({"action_dist": PI_E}, "action_dist must have shape"),
        ({"action_dist": -PI_E[:, :, None]}, r"probabilities in \[0, 1\]"),
        ({"estimated_rewards_by_reg_model": Q_HAT}, "estimated_rewards_by_reg_model has shape"),
        (
            {"estimated_rewards_by_reg_model": np.full((4, 2, 1), np.nan)},
            "estimated_rewards_by_reg_model must be finite",
        ),
        ({"position": np.array([0, 0, 1, 0])}, r"position\[2\] = 1 is outside 0..0"),
        ({"position": np.array([0, 0])}, "position has 2 rounds but action_dist has 4"),
    ],
)
def test_bad_inputs_are_named(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DR().estimate_policy_value(**tiny(**changes))


def test_empty_log() -> None:
    with pytest.raises(ValueError, match="empty"):
        IPS().estimate_policy_value(
            reward=np.zeros(0),
            action=np.zeros(0, dtype=int),
            pscore=np.zeros(0),
            action_dist=np.zeros((0, 2, 1)),
        )


def test_missing_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="IPS needs pscore"):
        IPS().estimate_policy_value(reward=REWARD, action=ACTION, action_dist=PI_E[:, :, None])
    with pytest.raises(ValueError, match="DM needs estimated_rewards_by_reg_model"):
        DM().estimate_policy_value(action_dist=PI_E[:, :, None])
    with pytest.raises(ValueError, match="position must be given"):
        IPS().estimate_policy_value(
            reward=REWARD, action=ACTION, pscore=PSCORE, action_dist=np.tile(PI_E[:, :, None], 2)
        )


def test_self_normalization_with_all_weights_zero_is_an_error() -> None:
    with pytest.raises(ValueError, match="sum to 0"):
        SNIPS().estimate_policy_value(
            reward=np.array([1.0]),
            action=np.array([1]),
            pscore=np.array([0.5]),
            action_dist=np.array([[[1.0], [0.0]]]),
        )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: IPS(lambda_=0.0), "lambda_ must be positive"),
        (lambda: SNIPS(lambda_=-1.0), "lambda_ must be positive"),
        (lambda: DR(lambda_=float("nan")), "lambda_ must not be NaN"),
        (lambda: SNDR(lambda_="big"), "lambda_ must be a number"),  # type: ignore[arg-type]
        (lambda: SwitchDR(tau=-0.5), "tau must be at least 0"),
        (lambda: SwitchDR(tau=float("nan")), "tau must not be NaN"),
    ],
)
def test_bad_hyperparameters_fail_when_built(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_bootstrap": 0}, "n_bootstrap must be at least 1"),
        ({"n_bootstrap": 2.5}, "n_bootstrap must be an integer"),
        ({"alpha": 0.0}, r"alpha must be a number in \(0, 1\)"),
        ({"alpha": 1.2}, r"alpha must be a number in \(0, 1\)"),
        ({"seed": "x"}, "seed must be an integer"),
    ],
)
def test_bad_interval_options(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IPS().estimate_interval(**tiny(), **options)


def test_one_bootstrap_replicate_is_allowed() -> None:
    interval = IPS().estimate_interval(**tiny(), n_bootstrap=1, seed=0)
    assert interval.lower == interval.upper
    assert math.isnan(interval.standard_error)


def test_estimators_are_frozen() -> None:
    est = IPS(lambda_=3.0)
    with pytest.raises(AttributeError):
        est.lambda_ = 4.0  # type: ignore[misc]
