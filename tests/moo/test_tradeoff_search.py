"""The trade-off searches on a synthetic problem: budgets, result shape, fronts, errors."""

from __future__ import annotations

import numpy as np
import pytest

from paretorec.moo import (
    NoFeasiblePointError,
    RankingProblem,
    RankingRequest,
    Reranker,
    Scalarization,
    epsilon_constraint_search,
    make_result,
    nsga2_front,
    pareto_front,
    rerank_front,
    resolve_objectives,
    scalarization_grid,
)
from paretorec.preference import simplex_lattice
from paretorec.types import Direction


def test_resolve_objectives() -> None:
    names = [o.name for o in resolve_objectives("ndcg, revenue,expected_margin")]
    assert names == ["ndcg", "expected_revenue", "expected_margin"]
    with pytest.raises(ValueError, match="no objectives given; known: ndcg"):
        resolve_objectives("")
    with pytest.raises(ValueError, match=r"unknown objective 'profit'; known: .*revenue"):
        resolve_objectives(["ndcg", "profit"])
    with pytest.raises(ValueError, match="named twice"):
        resolve_objectives("revenue,expected_revenue")


def test_request_checks() -> None:
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        RankingRequest("q", np.array([[1.5, 0.0]]))
    with pytest.raises(ValueError, match="embeddings must be"):
        RankingRequest("q", np.zeros((3, 2)), np.ones((2, 4)))


def test_problem_checks(problem: RankingProblem) -> None:
    with pytest.raises(ValueError, match="signal column"):
        RankingProblem(problem.objectives[:2], problem.requests, 5, problem.evaluator)
    with pytest.raises(ValueError, match="no objectives given"):
        RankingProblem((), problem.requests, 5, problem.evaluator)
    with pytest.raises(ValueError, match="fewer than k"):
        RankingProblem(problem.objectives, problem.requests, 50, problem.evaluator)
    with pytest.raises(ValueError, match="not in this problem"):
        problem.index("novelty")


def test_result_front_and_hypervolume_by_hand() -> None:
    values = np.array([[0.5, 0.5], [1.0, 0.0], [0.4, 0.4], [0.0, 1.0]])
    result = make_result(
        "x", ["a", "b"], [Direction.MAXIMIZE] * 2, ["a", "b"], np.zeros((4, 2)), values
    )
    assert result.front.tolist() == [0, 1, 3]
    # reference (0, 0): only (0.5, 0.5) encloses area; the extremes sit on the axes
    assert result.hypervolume.value == pytest.approx(0.25)
    table = result.table(front_only=True)
    assert table.columns == ["method", "w_a", "w_b", "a", "b"] and table.height == 3
    assert result.best_at("b", {"a": 0.5}).index == 0
    assert result.best_at("b", {"a": 0.5}, best={"a": 0.8}).index == 0
    with pytest.raises(NoFeasiblePointError):
        result.best_at("b", {"a": 0.5}, best={"a": 10.0})
    with pytest.raises(ValueError, match="unknown objective"):
        result.best_at("c", {"a": 0.5})


def test_simplex_lattice() -> None:
    lattice = simplex_lattice(3, 30)
    assert lattice.shape == (28, 3)  # 7 partitions: C(9, 2) = 36 > 30 >= C(8, 2)
    np.testing.assert_allclose(lattice.sum(axis=1), 1.0)
    assert simplex_lattice(2, 2).tolist() in ([[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="corners"):
        simplex_lattice(3, 2)


@pytest.mark.parametrize("how", list(Scalarization))
def test_grid(problem: RankingProblem, how: Scalarization) -> None:
    result = scalarization_grid(problem, scalarization=how, budget=15)
    assert result.n_evaluations == 15 and result.values.shape == (15, 3)
    np.testing.assert_allclose(result.parameters.sum(axis=1), 1.0)
    assert np.all((result.values >= 0) & (result.values <= 1))
    assert result.front.tolist() == pareto_front(result.values, result.directions).tolist()
    # the corner (1, 0, 0) ranks by the grade signal: the best NDCG of the grid
    corner = int(np.flatnonzero(np.all(result.parameters == [1.0, 0.0, 0.0], axis=1))[0])
    assert result.values[corner, 0] == pytest.approx(result.values[:, 0].max())


def test_nsga2_budget_and_seed(problem: RankingProblem) -> None:
    calls: list[int] = []
    result = nsga2_front(problem, budget=23, pop_size=8, seed=4, on_progress=calls.append)
    assert result.n_evaluations == 23 == sum(calls)
    np.testing.assert_allclose(result.parameters.sum(axis=1), 1.0)
    again = nsga2_front(problem, budget=23, pop_size=8, seed=4)
    np.testing.assert_array_equal(result.values, again.values)
    assert result.hypervolume.value > 0
    with pytest.raises(ValueError, match="budget"):
        nsga2_front(problem, budget=4, pop_size=8)


def test_epsilon_constraint_search(problem: RankingProblem) -> None:
    result = epsilon_constraint_search(
        problem, target="revenue", at_least={"ndcg": 0.97}, budget=10
    )
    assert result.n_evaluations <= 10
    chosen = result.best_at("expected_revenue", {"ndcg": 0.97})
    best_ndcg = result.values[:, 0].max()
    assert chosen.point[0] >= 0.97 * best_ndcg - 1e-12
    # at least as much revenue as the pure-NDCG ranking (the first weighting)
    assert chosen.point[1] >= result.values[0, 1] - 1e-12 or result.values[0, 0] < best_ndcg
    with pytest.raises(ValueError, match="target"):
        epsilon_constraint_search(problem, target="ndcg", at_least={"ndcg": 0.9}, budget=10)
    with pytest.raises(ValueError, match="fraction"):
        epsilon_constraint_search(problem, target="revenue", at_least={"ndcg": 1.5}, budget=10)


@pytest.mark.parametrize("reranker", list(Reranker))
def test_rerank_front(problem: RankingProblem, reranker: Reranker) -> None:
    result = rerank_front(problem, reranker=reranker, budget=12)
    assert 2 <= result.n_evaluations <= 12
    assert result.parameter_names[-1] in ("trade_off", "theta")
    strength = result.parameters[:, -1]
    diversity = result.values[:, 2]
    # strength 1 is no diversification, strength 0 only diversity: more diverse lists
    for base in np.unique(result.parameters[:, :3], axis=0):
        rows = np.all(result.parameters[:, :3] == base, axis=1)
        pure = diversity[rows][np.argmin(strength[rows])]
        assert pure > diversity[rows][np.argmax(strength[rows])]
        assert pure >= np.quantile(diversity[rows], 0.5)


def test_rerank_needs_embeddings(problem: RankingProblem) -> None:
    bare = RankingProblem(
        problem.objectives,
        tuple(RankingRequest(r.key, r.signals) for r in problem.requests),
        problem.k,
        problem.evaluator,
    )
    with pytest.raises(ValueError, match="embeddings"):
        rerank_front(bare, reranker=Reranker.MMR, budget=6)
