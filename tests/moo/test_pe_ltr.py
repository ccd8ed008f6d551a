"""PE-LTR: the simplex projection, the PECsolver's weights, and training under bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

from paretorec.moo import (
    PeLtrConfig,
    RankingProblem,
    pe_ltr_front,
    pec_solve,
    project_to_simplex,
    train_pe_ltr,
)


def test_projection_exact() -> None:
    np.testing.assert_allclose(project_to_simplex([0.2, 0.3]), [0.45, 0.55])
    np.testing.assert_allclose(project_to_simplex([2.0, -1.0]), [1.0, 0.0])
    np.testing.assert_allclose(project_to_simplex([0.5, 0.5, 5.0], total=0.4), [0.0, 0.0, 0.4])
    np.testing.assert_allclose(project_to_simplex([1.0, 2.0], total=0.0), [0.0, 0.0])


@given(arrays(np.float64, 4, elements=st.floats(-3, 3)), st.floats(0.1, 2.0))
@settings(max_examples=40, deadline=None)
def test_projection_is_the_nearest_point(x: np.ndarray, total: float) -> None:
    y = project_to_simplex(x, total)
    assert np.all(y >= 0) and y.sum() == pytest.approx(total)
    qp = minimize(
        lambda z: float(((z - x) ** 2).sum()),
        np.full(4, total / 4),
        constraints=[{"type": "eq", "fun": lambda z: z.sum() - total}],
        bounds=[(0, None)] * 4,
        method="SLSQP",
        options={"ftol": 1e-12},
    )
    assert ((y - x) ** 2).sum() <= ((qp.x - x) ** 2).sum() + 1e-7


def test_pec_hand_cases() -> None:
    # orthogonal gradients of equal length: the balanced point
    np.testing.assert_allclose(pec_solve([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0]), [0.5, 0.5])
    # unequal lengths: w ∝ 1/|g|²  -> (0.8, 0.2) for |g1| = 1, |g2| = 2
    np.testing.assert_allclose(pec_solve([[1.0, 0.0], [0.0, 2.0]], [0.0, 0.0]), [0.8, 0.2])
    # same direction: all weight on the shorter gradient (the relaxed optimum is outside)
    np.testing.assert_allclose(pec_solve([[1.0, 0.0], [2.0, 0.0]], [0.0, 0.0]), [1.0, 0.0])
    # ... unless a bound holds the other weight up
    np.testing.assert_allclose(pec_solve([[1.0, 0.0], [2.0, 0.0]], [0.0, 0.3]), [0.7, 0.3])
    # opposite gradients cancel
    np.testing.assert_allclose(pec_solve([[1.0, 1.0], [-1.0, -1.0]], [0.1, 0.1]), [0.5, 0.5])


@given(
    arrays(np.float64, (3, 4), elements=st.floats(-2, 2)),
    arrays(np.float64, 3, elements=st.floats(0, 0.3)),
)
@settings(max_examples=60, deadline=None)
def test_pec_weights_are_feasible(gradients: np.ndarray, bounds: np.ndarray) -> None:
    w = pec_solve(gradients, bounds)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(w >= bounds - 1e-12)


def test_pec_matches_the_exact_qp_when_the_relaxed_optimum_is_feasible() -> None:
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(200):
        g = rng.normal(size=(3, 5))
        c = np.full(3, 0.05)
        w = pec_solve(g, c)
        qp = minimize(
            lambda v, g=g: float(np.sum((v @ g) ** 2)),
            np.full(3, 1 / 3),
            constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}],
            bounds=[(0.05, 1)] * 3,
            method="SLSQP",
            options={"ftol": 1e-14, "maxiter": 500},
        )
        if np.all(w > 0.05 + 1e-6):  # bounds inactive: the closed form is the optimum
            np.testing.assert_allclose(w, qp.x, atol=1e-4)
            checked += 1
    assert checked > 10


def test_pec_bad_input() -> None:
    with pytest.raises(ValueError, match="sum to at most 1"):
        pec_solve(np.eye(2), [0.6, 0.6])
    with pytest.raises(ValueError, match=">= 0"):
        pec_solve(np.eye(2), [-0.1, 0.0])
    with pytest.raises(ValueError, match="2 finite"):
        pec_solve(np.eye(2), [0.1])


def test_training_follows_the_bounds(problem: RankingProblem) -> None:
    config = PeLtrConfig(n_steps=40, batch_size=12)
    toward_ndcg = train_pe_ltr(problem, lower_bounds=[0.9, 0.0, 0.0], config=config, seed=0)
    toward_revenue = train_pe_ltr(problem, lower_bounds=[0.0, 0.9, 0.0], config=config, seed=0)
    assert toward_ndcg.objective_weights[0] >= 0.9 - 1e-12
    assert toward_revenue.objective_weights[1] >= 0.9 - 1e-12
    assert toward_ndcg.losses.shape == (40, 3)
    # the favoured objective's loss falls
    assert toward_ndcg.losses[-5:, 0].mean() < toward_ndcg.losses[:5, 0].mean()

    def values(theta: np.ndarray) -> np.ndarray:
        return problem.evaluate(problem.rank_by(lambda r: r.signals @ theta))

    ndcg_side, revenue_side = values(toward_ndcg.theta), values(toward_revenue.theta)
    assert ndcg_side[0] > revenue_side[0]
    assert revenue_side[1] > ndcg_side[1]


def test_front_within_budget(problem: RankingProblem) -> None:
    calls: list[int] = []
    result = pe_ltr_front(
        problem,
        budget=7,
        config=PeLtrConfig(n_steps=10, batch_size=6),
        seed=1,
        on_progress=calls.append,
    )
    assert result.n_evaluations == 6 == sum(calls)  # the 3-objective lattice of 6 points
    assert result.parameter_names[3:] == (
        "lb_ndcg",
        "lb_expected_revenue",
        "lb_embedding_diversity",
    )
    np.testing.assert_allclose(result.parameters[:, 3:].sum(axis=1), 0.8)
    assert result.hypervolume.value > 0
    with pytest.raises(ValueError, match="bound_scale"):
        pe_ltr_front(problem, budget=7, bound_scale=1.5)
