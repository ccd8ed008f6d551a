"""Ranking metrics: hand-checked values, invariants, trec_eval and scikit-learn agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score

from paretorec.evaluate.metrics import (
    APNormalization,
    Gain,
    Metric,
    average_precision_at_k,
    batch_ranking_metrics,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)

RANKED = [1, 2, 3, 4, 5]
RELEVANT = [2, 4, 9]  # hits at ranks 2 and 4; item 9 is relevant but not retrieved


def test_binary_metrics_by_hand() -> None:
    assert precision_at_k(RANKED, RELEVANT, k=5) == 2 / 5
    assert precision_at_k(RANKED, RELEVANT, k=2) == 1 / 2
    assert recall_at_k(RANKED, RELEVANT, k=5) == 2 / 3
    assert recall_at_k(RANKED, RELEVANT, k=1) == 0.0
    assert hit_rate_at_k(RANKED, RELEVANT, k=1) == 0.0
    assert hit_rate_at_k(RANKED, RELEVANT, k=2) == 1.0
    assert mrr_at_k(RANKED, RELEVANT, k=5) == 1 / 2
    assert mrr_at_k(RANKED, RELEVANT, k=1) == 0.0


def test_average_precision_by_hand() -> None:
    # precision at the hits: @2 = 1/2, @4 = 2/4; trec_eval divides by |R| = 3
    assert average_precision_at_k(RANKED, RELEVANT, k=5) == pytest.approx(
        (1 / 2 + 2 / 4) / 3, abs=1e-15
    )
    # cut at 2: only the hit at rank 2; |R| = 3, or min(K, |R|) = 2
    assert average_precision_at_k(RANKED, RELEVANT, k=2) == pytest.approx(0.5 / 3, abs=1e-15)
    min_k = APNormalization.MIN_K_RELEVANT
    assert average_precision_at_k(RANKED, RELEVANT, k=2, normalization=min_k) == 0.25


def test_binary_ndcg_by_hand() -> None:
    # DCG = 1/log2(3) + 1/log2(5); IDCG from all 3 relevant = 1 + 1/log2(3) + 1/log2(4)
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3) + 1 / 2)
    assert ndcg_at_k(RANKED, RELEVANT, k=5) == pytest.approx(expected, abs=1e-15)
    assert ndcg_at_k(RANKED, RELEVANT, k=5, gain=Gain.LINEAR) == pytest.approx(expected, abs=1e-15)


def test_graded_ndcg_by_hand_ideal_counts_unretrieved_items() -> None:
    ranked, relevant, grades = ["a", "b", "c"], ["a", "c", "d"], [1, 3, 2]
    # exponential gains a=1, c=7, d=3: DCG = 1/1 + 0 + 7/log2(4) = 4.5;
    # IDCG = 7 + 3/log2(3) + 1/log2(4), d (not retrieved) included
    exponential = 4.5 / (7 + 3 / math.log2(3) + 1 / 2)
    got = ndcg_at_k(ranked, relevant, k=3, grades=grades)
    assert got == pytest.approx(exponential, abs=1e-15)
    # linear gains a=1, c=3, d=2: DCG = 1 + 3/2 = 2.5; IDCG = 3 + 2/log2(3) + 1/2
    linear = 2.5 / (3 + 2 / math.log2(3) + 1 / 2)
    got = ndcg_at_k(ranked, relevant, k=3, grades=grades, gain=Gain.LINEAR)
    assert got == pytest.approx(linear, abs=1e-15)


def test_ranking_metrics_names_every_metric_at_every_k() -> None:
    out = ranking_metrics(RANKED, RELEVANT, ks=(2, 5))
    assert set(out) == {f"{m.value}@{k}" for m in Metric for k in (2, 5)}
    assert out["recall@5"] == 2 / 3
    # a zero grade is judged non-relevant: recall counts 2 relevant items, not 3
    graded = ranking_metrics(RANKED, [2, 4, 9], ks=(5,), grades=[1, 1, 0])
    assert graded["recall@5"] == 1.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ndcg_at_k([], [1], k=1), "empty"),
        (lambda: ndcg_at_k([1, 2], [1], k=3), "larger than"),
        (lambda: recall_at_k([1, 2], [1], k=0), ">= 1"),
        (lambda: precision_at_k([1, 2], [1], k=-1), ">= 1"),
        (lambda: ndcg_at_k([1, 2], [1], k=1.5), "integer"),  # type: ignore[arg-type]
        (lambda: ndcg_at_k([1, 2], [1, 2], k=2, grades=[1, -1]), ">= 0"),
        (lambda: ndcg_at_k([1, 2], [1, 2], k=2, grades=[1, np.nan]), "non-finite"),
        (lambda: ndcg_at_k([1, 2], [1, 2], k=2, grades=[1]), "grades has 1"),
        (lambda: ndcg_at_k([1, 1], [1], k=2), "more than once"),
        (lambda: recall_at_k([1, 2], [], k=2), "undefined"),
        (lambda: ndcg_at_k([1, 2], [3], k=2, grades=[0]), "undefined"),
        (lambda: average_precision_at_k([1, 2], [], k=2), "undefined"),
        (lambda: ndcg_at_k([[1, 2]], [1], k=1), "1-D"),
    ],
)
def test_bad_single_list_inputs_raise(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# ---------------------------------------------------------------- invariants

grades_strategy = st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=12)


@given(grades=grades_strategy, k=st.integers(1, 12), gain=st.sampled_from(list(Gain)))
def test_ndcg_of_the_ideal_ordering_is_one(grades: list[int], k: int, gain: Gain) -> None:
    items = np.arange(len(grades))
    ranked = items[np.argsort(-np.asarray(grades), kind="stable")]
    k = min(k, len(grades))
    assert ndcg_at_k(ranked, items, k=k, grades=grades, gain=gain) == pytest.approx(1.0, abs=1e-12)


@st.composite
def judged_lists(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_items = draw(st.integers(2, 20))
    ranked = np.asarray(draw(st.permutations(range(n_items))))[: draw(st.integers(1, n_items))]
    relevant = np.asarray(
        draw(st.lists(st.integers(0, n_items + 3), min_size=1, max_size=8, unique=True))
    )
    grades = np.asarray(
        draw(st.lists(st.integers(1, 3), min_size=relevant.size, max_size=relevant.size))
    )
    return ranked, relevant, grades


@given(case=judged_lists())
def test_metrics_lie_in_unit_interval_and_recall_grows_with_k(
    case: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    ranked, relevant, grades = case
    ks = tuple(range(1, ranked.size + 1))
    out = ranking_metrics(ranked, relevant, ks=ks, grades=grades)
    assert all(0.0 <= v <= 1.0 + 1e-12 for v in out.values())
    recalls = [out[f"recall@{k}"] for k in ks]
    assert recalls == sorted(recalls)
    hits = [out[f"hit_rate@{k}"] for k in ks]
    assert hits == sorted(hits)


@st.composite
def batches(draw: st.DrawFn) -> tuple[np.ndarray, sp.csr_array]:
    n_users, n_items = draw(st.integers(1, 8)), draw(st.integers(3, 15))
    width = draw(st.integers(1, n_items))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    top = np.argsort(rng.random((n_users, n_items)), axis=1)[:, :width]
    dense = np.where(
        rng.random((n_users, n_items)) < 0.3, rng.integers(1, 4, (n_users, n_items)), 0
    )
    dense[0, rng.integers(n_items)] = 2  # at least one user has a relevant item
    return top, sp.csr_array(dense.astype(float))


@settings(max_examples=60)
@given(
    case=batches(), gain=st.sampled_from(list(Gain)), norm=st.sampled_from(list(APNormalization))
)
def test_batched_equals_single_list(
    case: tuple[np.ndarray, sp.csr_array], gain: Gain, norm: APNormalization
) -> None:
    top, relevance = case
    ks = tuple(sorted({1, top.shape[1]}))
    batched = batch_ranking_metrics(top, relevance, ks=ks, gain=gain, normalization=norm)
    for position, user in enumerate(batched.users):
        row = relevance[[user]]
        single = ranking_metrics(
            top[user], row.indices, ks=ks, grades=row.data, gain=gain, normalization=norm
        )
        for name, value in single.items():
            assert batched.per_user[name][position] == pytest.approx(value, abs=1e-12)
    assert batched.n_skipped == int((np.diff(relevance.indptr) == 0).sum())


# ---------------------------------------------------------------- references


def _random_case(seed: int) -> tuple[np.ndarray, np.ndarray, sp.csr_array]:
    rng = np.random.default_rng(seed)
    n_users, n_items = 60, 40
    scores = rng.standard_normal((n_users, n_items))
    dense = np.where(
        rng.random((n_users, n_items)) < 0.15, rng.integers(1, 4, (n_users, n_items)), 0
    )
    return scores, np.argsort(-scores, axis=1), sp.csr_array(dense.astype(float))


@pytest.mark.parametrize("gain", list(Gain))
def test_ndcg_agrees_with_scikit_learn(gain: Gain) -> None:
    """sklearn's ndcg_score uses the grades as gains (linear) and the ideal from all of
    y_true's row; our exponential gain is sklearn's on y_true = 2^g - 1."""
    scores, order, relevance = _random_case(1)
    y_true = relevance.toarray()
    if gain is Gain.EXPONENTIAL:
        y_true = np.exp2(y_true) - 1
    ours = batch_ranking_metrics(
        order[:, :10], relevance, ks=(5, 10), gain=gain, metrics=[Metric.NDCG]
    )
    for k in (5, 10):
        theirs = np.array([ndcg_score(y_true[[u]], scores[[u]], k=k) for u in ours.users])
        assert np.abs(ours.per_user[f"ndcg@{k}"] - theirs).max() <= 1e-12


def test_metrics_agree_with_trec_eval() -> None:
    """pytrec_eval (trec_eval 9): ndcg_cut (linear gain), P, recall, map_cut (AP / |R|),
    recip_rank (of a run cut at K = MRR@K) and success (hit rate)."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    _, order, relevance = _random_case(2)
    width = 10
    ours = batch_ranking_metrics(order[:, :width], relevance, ks=(5, 10), gain=Gain.LINEAR)
    qrels, run = {}, {}
    for u in ours.users:
        row = relevance[[u]]
        qrels[str(u)] = {str(i): int(g) for i, g in zip(row.indices, row.data, strict=True)}
        run[str(u)] = {str(i): float(width - r) for r, i in enumerate(order[u, :width])}
    measures = {
        "ndcg_cut.5,10",
        "P.5,10",
        "recall.5,10",
        "map_cut.5,10",
        "recip_rank",
        "success.5,10",
    }
    result = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
    pairs = {
        "ndcg@5": "ndcg_cut_5",
        "ndcg@10": "ndcg_cut_10",
        "precision@5": "P_5",
        "precision@10": "P_10",
        "recall@5": "recall_5",
        "recall@10": "recall_10",
        "map@5": "map_cut_5",
        "map@10": "map_cut_10",
        "mrr@10": "recip_rank",
        "hit_rate@5": "success_5",
        "hit_rate@10": "success_10",
    }
    for ours_name, theirs_name in pairs.items():
        theirs = np.array([result[str(u)][theirs_name] for u in ours.users])
        assert np.abs(ours.per_user[ours_name] - theirs).max() <= 1e-12, ours_name


# ---------------------------------------------------------------- batched API


def test_batched_result_is_a_named_mapping_and_skips_users_without_relevance() -> None:
    top = np.array([[0, 1, 2], [2, 1, 0], [0, 2, 1]])
    relevance = sp.csr_array(np.array([[0, 1.0, 0], [0, 0, 0], [0, 0, 1.0]]))
    out = batch_ranking_metrics(top, relevance, ks=(1, 3))
    # user 0: item 1 at rank 2; user 2: item 2 at rank 2; user 1 has nothing relevant
    assert out.users.tolist() == [0, 2]
    assert out.n_skipped == 1
    assert out["hit_rate@1"] == 0.0
    assert out["recall@3"] == 1.0
    assert out["mrr@3"] == 0.5
    assert dict(out) == out.as_dict()
    assert "ndcg@3" in out


@pytest.mark.parametrize(
    ("top", "relevance", "ks", "message"),
    [
        (np.array([0, 1]), sp.csr_array(np.ones((1, 3))), (1,), "2-D"),
        (np.array([[0, 1]]), sp.csr_array(np.ones((2, 3))), (1,), "rows"),
        (np.array([[0, 3]]), sp.csr_array(np.ones((1, 3))), (1,), r"\[0, 3\)"),
        (np.array([[0, 0]]), sp.csr_array(np.ones((1, 3))), (1,), "twice"),
        (np.array([[0, 1]]), sp.csr_array(np.ones((1, 3))), (3,), "larger than"),
        (np.array([[0, 1]]), sp.csr_array(np.ones((1, 3))), (0,), ">= 1"),
        (np.array([[0, 1]]), sp.csr_array(np.ones((1, 3))), (), "empty"),
        (np.array([[0.0, 1.0]]), sp.csr_array(np.ones((1, 3))), (1,), "integer"),
        (np.array([[0, 1]]), sp.csr_array(np.array([[np.nan, 1, 1]])), (1,), "non-finite"),
        (np.array([[0, 1]]), sp.csr_array(np.array([[-1.0, 1, 1]])), (1,), ">= 0"),
        (np.array([[0, 1]]), sp.csr_array((1, 3)), (1,), "no user"),
        (np.array([[0, 1]]), np.ones((1, 3)), (1,), "sparse"),
        (np.empty((1, 0), dtype=np.int64), sp.csr_array(np.ones((1, 3))), (1,), "empty"),
    ],
)
def test_bad_batched_inputs_raise(
    top: np.ndarray, relevance: object, ks: tuple[int, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        batch_ranking_metrics(top, relevance, ks=ks)
