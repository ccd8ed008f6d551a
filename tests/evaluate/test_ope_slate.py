"""The slate estimators (SIPS, IIPS, RIPS) and the cascade propensity."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from paretorec.evaluate.ope import IIPS, IPS, RIPS, SIPS, cascade_pscore

# Two slates of two positions.
#   slate pos reward  item-position pi_b / pi_e   given-above pi_b / pi_e   top-k pi_b / pi_e
#     0    0    1          0.5 / 0.25                 0.5 / 0.25              0.5 / 0.25
#     0    1    0          0.4 / 0.2                  0.4 / 0.2               0.2 / 0.05
#     1    0    0          0.5 / 1.0                  0.5 / 1.0               0.5 / 1.0
#     1    1    1          0.5 / 0.5                  0.5 / 0.5               0.25 / 0.5
SLATE = np.array([0, 0, 1, 1])
POSITION = np.array([0, 1, 0, 1])
REWARD = np.array([1.0, 0.0, 0.0, 1.0])
ITEM_B, ITEM_E = np.array([0.5, 0.4, 0.5, 0.5]), np.array([0.25, 0.2, 1.0, 0.5])
ABOVE_B, ABOVE_E = np.array([0.5, 0.4, 0.5, 0.5]), np.array([0.25, 0.2, 1.0, 0.5])
CASCADE_B, CASCADE_E = np.array([0.5, 0.2, 0.5, 0.25]), np.array([0.25, 0.05, 1.0, 0.5])
LIST_B, LIST_E = np.array([0.2, 0.2, 0.25, 0.25]), np.array([0.05, 0.05, 0.5, 0.5])
BASE: dict[str, Any] = {"slate_id": SLATE, "reward": REWARD, "position": POSITION}


def test_iips_by_hand() -> None:
    # slate 0: 1 * 0.25 / 0.5 = 0.5; slate 1: 1 * 0.5 / 0.5 = 1; mean (0.5 + 1) / 2
    value = IIPS().estimate_policy_value(
        **BASE, pscore_item_position=ITEM_B, evaluation_policy_pscore_item_position=ITEM_E
    )
    assert value == pytest.approx(0.75)


def test_rips_by_hand() -> None:
    # slate 0: 1 * 0.25 / 0.5 = 0.5; slate 1: 1 * 0.5 / 0.25 = 2; mean 1.25
    value = RIPS().estimate_policy_value(
        **BASE, pscore_cascade=CASCADE_B, evaluation_policy_pscore_cascade=CASCADE_E
    )
    assert value == pytest.approx(1.25)


def test_sips_by_hand() -> None:
    # slate 0: (1 + 0) * 0.05 / 0.2 = 0.25; slate 1: (0 + 1) * 0.5 / 0.25 = 2; mean 1.125
    value = SIPS().estimate_policy_value(**BASE, pscore=LIST_B, evaluation_policy_pscore=LIST_E)
    assert value == pytest.approx(1.125)


def test_capping_applies_to_each_weight() -> None:
    # RIPS weights 0.5, 0.25, 2, 2: capped at 1 -> slate 1 gives 1: (0.5 + 1) / 2
    value = RIPS(lambda_=1.0).estimate_policy_value(
        **BASE, pscore_cascade=CASCADE_B, evaluation_policy_pscore_cascade=CASCADE_E
    )
    assert value == pytest.approx(0.75)


def test_cascade_pscore_is_the_product_down_the_list_in_any_row_order() -> None:
    assert cascade_pscore(SLATE, POSITION, ABOVE_B) == pytest.approx(CASCADE_B)
    assert cascade_pscore(SLATE, POSITION, ABOVE_E) == pytest.approx(CASCADE_E)
    order = np.array([3, 0, 2, 1])
    shuffled = cascade_pscore(SLATE[order], POSITION[order], ABOVE_B[order])
    assert shuffled == pytest.approx(CASCADE_B[order])
    keys = np.array(["b", "b", "a", "a"])  # any hashable slate ids
    assert cascade_pscore(keys, POSITION, ABOVE_B) == pytest.approx(CASCADE_B)


def test_row_order_does_not_matter() -> None:
    order = np.array([2, 1, 3, 0])
    kw = {k: v[order] for k, v in BASE.items()}
    assert RIPS().estimate_policy_value(
        **kw, pscore_cascade=CASCADE_B[order], evaluation_policy_pscore_cascade=CASCADE_E[order]
    ) == pytest.approx(1.25)


def test_one_position_makes_every_slate_estimator_the_standard_ips() -> None:
    rng = np.random.default_rng(3)
    n, n_actions = 300, 6
    pi_b = rng.dirichlet(np.ones(n_actions), size=n)
    pi_e = rng.dirichlet(np.ones(n_actions), size=n)
    action = np.array([rng.choice(n_actions, p=p) for p in pi_b])
    reward = rng.binomial(1, 0.4, n).astype(float)
    rows = np.arange(n)
    ips = IPS().estimate_policy_value(
        reward=reward, action=action, pscore=pi_b[rows, action], action_dist=pi_e[:, :, None]
    )
    slate: dict[str, Any] = {"slate_id": rows, "reward": reward, "position": np.zeros(n, int)}
    b, e = pi_b[rows, action], pi_e[rows, action]
    assert SIPS().estimate_policy_value(
        **slate, pscore=b, evaluation_policy_pscore=e
    ) == pytest.approx(ips)
    assert IIPS().estimate_policy_value(
        **slate, pscore_item_position=b, evaluation_policy_pscore_item_position=e
    ) == pytest.approx(ips)
    assert RIPS().estimate_policy_value(
        **slate, pscore_cascade=b, evaluation_policy_pscore_cascade=e
    ) == pytest.approx(ips)
    ips_ci = IPS().estimate_interval(
        reward=reward,
        action=action,
        pscore=b,
        action_dist=pi_e[:, :, None],
        n_bootstrap=200,
        seed=5,
    )
    slate_ci = IIPS().estimate_interval(
        **slate,
        pscore_item_position=b,
        evaluation_policy_pscore_item_position=e,
        n_bootstrap=200,
        seed=5,
    )
    assert slate_ci.lower == pytest.approx(ips_ci.lower)
    assert slate_ci.upper == pytest.approx(ips_ci.upper)


def test_interval_resamples_slates_deterministically() -> None:
    kw: dict[str, Any] = dict(
        BASE, pscore_item_position=ITEM_B, evaluation_policy_pscore_item_position=ITEM_E
    )
    first = IIPS().estimate_interval(**kw, n_bootstrap=200, seed=1)
    assert first == IIPS().estimate_interval(**kw, n_bootstrap=200, seed=1)
    assert first.mean == pytest.approx(0.75)
    # each replicate is the mean of two slate totals drawn from {0.5, 1}
    assert 0.5 <= first.lower <= first.mean <= first.upper <= 1.0


def test_ips_unbiased_on_enumerated_slates() -> None:
    """Lists of 2 from 3 items under Plackett-Luce logging: the expectation of RIPS and
    SIPS over every possible list equals the evaluation policy's true value."""
    w_b, w_e = np.array([1.0, 2.0, 3.0]), np.array([3.0, 1.0, 1.0])
    # the reward at position 2 depends on the item above it (a cascade-like interaction)
    q = {(i, j): (0.1 * i + 0.2, 0.3 if i == 0 else 0.05 * j) for i in range(3) for j in range(3)}

    def plackett_luce(w: np.ndarray, i: int, j: int) -> tuple[float, float]:
        first = w[i] / w.sum()
        return first, w[j] / (w.sum() - w[i])

    lists = [(i, j) for i in range(3) for j in range(3) if i != j]
    truth = sum(np.prod(plackett_luce(w_e, i, j)) * sum(q[(i, j)]) for i, j in lists)
    expected = {"rips": 0.0, "sips": 0.0}
    for i, j in lists:
        b1, b2 = plackett_luce(w_b, i, j)
        e1, e2 = plackett_luce(w_e, i, j)
        for r1 in (0, 1):
            for r2 in (0, 1):
                p1, p2 = q[(i, j)]
                p = b1 * b2 * (p1 if r1 else 1 - p1) * (p2 if r2 else 1 - p2)
                kw: dict[str, Any] = {
                    "slate_id": np.array([0, 0]),
                    "reward": np.array([r1, r2], dtype=float),
                    "position": np.array([0, 1]),
                }
                expected["rips"] += p * RIPS().estimate_policy_value(
                    **kw,
                    pscore_cascade=np.array([b1, b1 * b2]),
                    evaluation_policy_pscore_cascade=np.array([e1, e1 * e2]),
                )
                expected["sips"] += p * SIPS().estimate_policy_value(
                    **kw,
                    pscore=np.array([b1 * b2] * 2),
                    evaluation_policy_pscore=np.array([e1 * e2] * 2),
                )
    assert expected["rips"] == pytest.approx(truth, abs=1e-12)
    assert expected["sips"] == pytest.approx(truth, abs=1e-12)


# ------------------------------------------------------------------------ bad input


def test_bad_slate_inputs() -> None:
    good: dict[str, Any] = dict(
        BASE, pscore_item_position=ITEM_B, evaluation_policy_pscore_item_position=ITEM_E
    )
    cases: list[tuple[dict[str, Any], str]] = [
        ({"pscore_item_position": np.array([0.5, 0.0, 0.5, 0.5])}, r"must be in \(0, 1\]"),
        ({"pscore_item_position": np.array([0.5, 1.2, 0.5, 0.5])}, r"must be in \(0, 1\]"),
        (
            {"evaluation_policy_pscore_item_position": np.array([0.5, 1.2, 0.5, 0.5])},
            r"must be in \[0, 1\]",
        ),
        ({"reward": np.array([1.0, np.nan, 0.0, 1.0])}, "reward must be finite"),
        ({"reward": np.array([1.0, 0.0])}, "reward has 2 rows but slate_id has 4"),
        ({"position": np.array([0, 0, 0, 1])}, "repeats a position"),
        ({"position": np.array([0.0, 1.0, 0.0, 1.0])}, "position must be a 1-dimensional"),
        ({"position": np.array([-1, 0, 0, 1])}, "0-based"),
    ]
    for change, message in cases:
        with pytest.raises(ValueError, match=message):
            IIPS().estimate_policy_value(**{**good, **change})
    with pytest.raises(ValueError, match="empty"):
        IIPS().estimate_policy_value(
            slate_id=np.zeros(0, int),
            reward=np.zeros(0),
            position=np.zeros(0, int),
            pscore_item_position=np.zeros(0),
            evaluation_policy_pscore_item_position=np.zeros(0),
        )
    with pytest.raises(ValueError, match="n_bootstrap must be at least 1"):
        IIPS().estimate_interval(**good, n_bootstrap=0)


def test_sips_needs_one_list_probability_per_slate() -> None:
    with pytest.raises(ValueError, match="pscore must be the same on every row"):
        SIPS().estimate_policy_value(**BASE, pscore=CASCADE_B, evaluation_policy_pscore=LIST_E)


def test_rips_needs_non_increasing_cascade_propensities() -> None:
    with pytest.raises(ValueError, match="pscore_cascade must not increase"):
        RIPS().estimate_policy_value(
            **BASE,
            pscore_cascade=np.array([0.2, 0.5, 0.5, 0.25]),
            evaluation_policy_pscore_cascade=CASCADE_E,
        )


def test_cascade_pscore_needs_every_position_above() -> None:
    with pytest.raises(ValueError, match="lacks a position above 2"):
        cascade_pscore(np.array([0, 0]), np.array([0, 2]), np.array([0.5, 0.5]))


def test_bad_lambda() -> None:
    with pytest.raises(ValueError, match="lambda_ must be positive"):
        RIPS(lambda_=0.0)
