"""Chunked full-catalog top-K: equal to a naive full sort, exclusion, bounds, bad inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.evaluate.metrics import batch_ranking_metrics
from paretorec.evaluate.topk import (
    TopK,
    TopKBackend,
    evaluate_ranked,
    evaluate_top_k,
    top_k_dot,
    top_k_scores,
    users_with_relevance,
)

BACKENDS = list(TopKBackend)


def naive_top_k(scores: np.ndarray, exclude: sp.csr_array | None, k: int) -> np.ndarray:
    """Full stable sort of every row (ties: smaller item first), excluded items last."""
    masked = scores.astype(np.float64).copy()
    if exclude is not None:
        masked[exclude.toarray() != 0] = -np.inf
    return np.argsort(-masked, axis=1, kind="stable")[:, :k]


def assert_correct_top_k(
    top: TopK, scores: np.ndarray, exclude: sp.csr_array | None, k: int
) -> None:
    """A valid top-K: distinct, not excluded, the scores it reports, and the same sorted
    scores as the naive path (so only exact ties may be ordered differently)."""
    naive = naive_top_k(scores, exclude, k)[top.users]
    rows = scores[top.users]
    assert top.items.shape == top.scores.shape == (top.users.size, k)
    np.testing.assert_array_equal(np.take_along_axis(rows, top.items, axis=1), top.scores)
    np.testing.assert_array_equal(top.scores, np.take_along_axis(rows, naive, axis=1))
    assert (np.diff(top.scores, axis=1) <= 0).all()
    assert all(np.unique(row).size == k for row in top.items)
    if exclude is not None:
        banned = exclude.toarray()[top.users] != 0
        assert not np.take_along_axis(banned, top.items, axis=1).any()


@st.composite
def scored_cases(draw: st.DrawFn) -> dict[str, Any]:
    n_users, n_items = draw(st.integers(1, 25)), draw(st.integers(1, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    ties = draw(st.booleans())  # few distinct values: many exact ties
    scores = (
        rng.integers(0, 4, (n_users, n_items)) if ties else rng.standard_normal((n_users, n_items))
    )
    excluded = rng.random((n_users, n_items)) < draw(st.sampled_from([0.0, 0.2, 0.5]))
    k_max = n_items - int(excluded.sum(axis=1).max())
    if k_max < 1:
        excluded[:] = False
        k_max = n_items
    return {
        "scores": scores.astype(np.float64),
        "exclude": sp.csr_array(excluded.astype(np.float64)) if excluded.any() else None,
        "k": draw(st.integers(1, k_max)),
        "chunk_size": draw(st.integers(1, 9)),
    }


@settings(max_examples=60, deadline=None)
@given(case=scored_cases(), backend=st.sampled_from(BACKENDS))
def test_chunked_top_k_equals_a_naive_full_sort(case: dict[str, Any], backend: TopKBackend) -> None:
    scores, exclude, k = case["scores"], case["exclude"], case["k"]
    top = top_k_scores(
        lambda users: scores[users],
        n_users=scores.shape[0],
        n_items=scores.shape[1],
        k=k,
        exclude=exclude,
        chunk_size=case["chunk_size"],
        backend=backend,
    )
    assert_correct_top_k(top, scores, exclude, k)
    # every backend breaks ties like a stable sort: the smaller item index first
    np.testing.assert_array_equal(top.items, naive_top_k(scores, exclude, k))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), backend=st.sampled_from(BACKENDS), chunk=st.integers(1, 50))
def test_dot_path_equals_naive_on_exact_scores(seed: int, backend: TopKBackend, chunk: int) -> None:
    # small integer vectors: every dot product is exact in float32, whatever the order
    rng = np.random.default_rng(seed)
    users = rng.integers(-3, 4, (40, 4)).astype(np.float64)
    items = rng.integers(-3, 4, (30, 4)).astype(np.float64)
    exclude = sp.random_array((40, 30), density=0.2, rng=rng, format="csr")
    top = top_k_dot(users, items, k=7, exclude=exclude, chunk_size=chunk, backend=backend)
    assert_correct_top_k(top, users @ items.T, exclude, 7)
    np.testing.assert_array_equal(top.items, naive_top_k(users @ items.T, exclude, 7))


def test_only_the_chosen_users_are_ranked_in_bounded_chunks() -> None:
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((20, 12))
    seen: list[int] = []

    def score(users: np.ndarray) -> np.ndarray:
        seen.append(users.size)
        return scores[users]

    top = top_k_scores(score, n_users=20, n_items=12, k=3, users=[5, 1, 7, 19, 0], chunk_size=2)
    assert seen == [2, 2, 1]
    assert top.users.tolist() == [5, 1, 7, 19, 0]
    assert_correct_top_k(top, scores, None, 3)


def test_a_scoring_callable_s_array_is_not_modified() -> None:
    scores = np.arange(12.0).reshape(3, 4)
    before = scores.copy()
    exclude = sp.csr_array(np.eye(3, 4))
    for backend in BACKENDS:
        top_k_scores(
            lambda u: scores[u], n_users=3, n_items=4, k=2, exclude=exclude, backend=backend
        )
    np.testing.assert_array_equal(scores, before)


def test_evaluate_top_k_excludes_train_and_scores_test() -> None:
    rng = np.random.default_rng(3)
    users, items = rng.standard_normal((30, 5)), rng.standard_normal((25, 5))
    train = sp.random_array((30, 25), density=0.2, rng=rng, format="csr")
    test = sp.csr_array((np.ones(20), (np.arange(20), rng.integers(0, 25, 20))), shape=(30, 25))
    result = evaluate_top_k(users, items, train=train, test=test, ks=(1, 5))
    assert result.top.users.tolist() == list(range(20))  # users 20..29 have no test item
    assert result.metrics.n_skipped == 10
    scores = (users.astype(np.float32) @ items.astype(np.float32).T).astype(np.float64)
    naive = naive_top_k(scores, train, 5)[:20]
    expected = batch_ranking_metrics(naive, test[np.arange(20)], ks=(1, 5))
    for name, value in expected.items():
        assert result.metrics[name] == pytest.approx(value, abs=1e-12)


def test_a_scoring_callable_evaluates_like_the_vectors() -> None:
    rng = np.random.default_rng(4)
    users, items = rng.integers(-3, 4, (12, 3)), rng.integers(-3, 4, (9, 3))
    train = sp.random_array((12, 9), density=0.2, rng=rng, format="csr")
    test = sp.random_array((12, 9), density=0.15, rng=rng, format="csr")
    by_vectors = evaluate_top_k(users, items, train=train, test=test, ks=(2, 4)).metrics
    top = top_k_scores(
        lambda u: (users[u] @ items.T).astype(np.float64),
        n_users=12,
        n_items=9,
        k=4,
        exclude=train,
        users=users_with_relevance(test),
    )
    by_callable = evaluate_ranked(top, test, ks=(2, 4))
    assert by_callable.as_dict() == by_vectors.as_dict()
    np.testing.assert_array_equal(by_callable.users, by_vectors.users)
    assert by_callable.n_skipped == by_vectors.n_skipped == 12 - users_with_relevance(test).size


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, ">= 1"),
        ({"k": 9}, "larger than the catalog"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"users": [0, 9]}, r"\[0, 4\)"),
        ({"exclude": sp.csr_array((3, 8))}, "shape"),
        ({"exclude": np.zeros((4, 8))}, "sparse"),
        ({"exclude": sp.csr_array(np.ones((4, 8)))}, "user 0 has only 0 items"),
    ],
)
def test_bad_top_k_arguments_raise(kwargs: dict[str, Any], message: str) -> None:
    scores = np.arange(32.0).reshape(4, 8)
    arguments: dict[str, Any] = {"n_users": 4, "n_items": 8, "k": 2} | kwargs
    with pytest.raises(ValueError, match=message):
        top_k_scores(lambda u: scores[u], **arguments)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("column", [0, 2, 3])
def test_nan_and_positive_infinite_scores_name_the_user(
    backend: TopKBackend, bad: float, column: int
) -> None:
    scores = np.arange(20.0).reshape(5, 4)
    scores[3, column] = bad
    with pytest.raises(ValueError, match="user 3 has a NaN or infinite score"):
        top_k_scores(lambda u: scores[u], n_users=5, n_items=4, k=1, chunk_size=2, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_negative_infinite_scores_rank_last_but_never_fill_the_list(backend: TopKBackend) -> None:
    scores = np.zeros((2, 4))
    scores[1, [0, 1]] = -np.inf
    top = top_k_scores(lambda u: scores[u], n_users=2, n_items=4, k=2, backend=backend)
    assert top.items.tolist() == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="user 1 has fewer than k=3 items with a score above -inf"):
        top_k_scores(lambda u: scores[u], n_users=2, n_items=4, k=3, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_huge_finite_scores_whose_sum_overflows_are_fine(backend: TopKBackend) -> None:
    scores = np.full((2, 3), np.finfo(np.float64).max)
    scores[:, 1] = 0.0
    top = top_k_scores(lambda u: scores[u], n_users=2, n_items=3, k=1, backend=backend)
    assert top.items[:, 0].tolist() == [0, 0]


def test_bad_vectors_and_score_shapes_raise() -> None:
    good = np.ones((3, 2))
    with pytest.raises(ValueError, match="non-finite"):
        top_k_dot(np.array([[np.nan, 1.0]]), good, k=1)
    with pytest.raises(ValueError, match="dimensions"):
        top_k_dot(np.ones((2, 3)), good, k=1)
    with pytest.raises(ValueError, match="2-D"):
        top_k_dot(np.ones(3), good, k=1)
    with pytest.raises(ValueError, match="shape"):
        top_k_scores(lambda u: np.ones((u.size, 2)), n_users=2, n_items=3, k=1)
    with pytest.raises(ValueError, match="test has shape"):
        evaluate_top_k(good, good, train=None, test=sp.csr_array((2, 3)))


@pytest.mark.slow
def test_fifty_thousand_users_over_seventeen_thousand_items_match_a_full_sort() -> None:
    """The Amazon Video Games size: 50,546 users x 16,859 items, 64 factors, top 50, in
    chunks; a sample of users checked against a full sort (speed: benchmarks/bench_topk)."""
    rng = np.random.default_rng(0)
    users = rng.standard_normal((50_546, 64), dtype=np.float32)
    items = rng.standard_normal((16_859, 64), dtype=np.float32)
    rows = rng.integers(0, 50_546, 390_000)
    train = sp.csr_array(
        (np.ones(rows.size), (rows, rng.integers(0, 16_859, rows.size))), shape=(50_546, 16_859)
    )
    top = top_k_dot(users, items, k=50, exclude=train)
    assert top.items.shape == (50_546, 50)
    for user in rng.choice(50_546, 50, replace=False):
        scores = items @ users[user]
        scores[train[[user]].indices] = -np.inf
        np.testing.assert_array_equal(np.sort(top.items[user]), np.sort(np.argsort(-scores)[:50]))
