"""MMR and DPP re-ranking: hand cases, fast DPP equals the naive one, bad input."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from paretorec.moo import dpp_rerank, dpp_rerank_naive, mmr_rerank

# items 0 and 1 are near duplicates; 2 points elsewhere
RELEVANCE = np.array([1.0, 0.9, 0.5])
EMBEDDINGS = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])


def test_public_signatures() -> None:
    for fn, knob in ((mmr_rerank, "trade_off"), (dpp_rerank, "theta")):
        params = inspect.signature(fn).parameters
        assert list(params) == ["relevance", "embeddings", "k", knob]
        assert params[knob].kind is inspect.Parameter.KEYWORD_ONLY


def test_mmr_hand_case() -> None:
    assert mmr_rerank(RELEVANCE, EMBEDDINGS, 3, trade_off=1.0).tolist() == [0, 1, 2]
    # λ = 0.5: item 1 scores 0.45 - 0.5 * 0.99995, item 2 scores 0.25 - 0
    assert mmr_rerank(RELEVANCE, EMBEDDINGS, 3, trade_off=0.5).tolist() == [0, 2, 1]
    assert mmr_rerank(RELEVANCE, EMBEDDINGS, 2, trade_off=0.0).tolist() == [0, 2]


def test_dpp_hand_case() -> None:
    assert dpp_rerank(RELEVANCE, EMBEDDINGS, 3, theta=1.0).tolist() == [0, 1, 2]
    # θ = 0.5: gain of i is rel_i + log d_i²; d_1² = 1e-4 / (1 + 1e-4), d_2² = 1
    assert dpp_rerank(RELEVANCE, EMBEDDINGS, 3, theta=0.5).tolist() == [0, 2, 1]


@pytest.mark.parametrize("theta", [0.0, 0.3, 0.7, 0.95])
def test_fast_dpp_equals_naive(theta: float) -> None:
    rng = np.random.default_rng(int(theta * 100))
    for _ in range(5):
        n, d, k = 25, 8, 6
        relevance = rng.random(n)
        embeddings = rng.normal(size=(n, d))
        fast = dpp_rerank(relevance, embeddings, k, theta=theta)
        naive = dpp_rerank_naive(relevance, embeddings, k, theta=theta)
        assert fast.tolist() == naive.tolist()


def test_dpp_fills_after_spanning_the_embeddings() -> None:
    # 2-D embeddings span at most two items; the rest follow relevance
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(6, 2))
    relevance = np.array([0.1, 0.9, 0.5, 0.3, 0.7, 0.2])
    out = dpp_rerank(relevance, embeddings, 5, theta=0.5)
    assert len(set(out.tolist())) == 5
    rest = out[2:]
    assert np.all(np.diff(relevance[rest]) <= 0)
    assert out.tolist() == dpp_rerank_naive(relevance, embeddings, 5, theta=0.5).tolist()


def test_lists_are_distinct_and_of_length_k() -> None:
    rng = np.random.default_rng(1)
    relevance, embeddings = rng.random(40), rng.normal(size=(40, 5))
    for strength in (0.0, 0.5, 1.0):
        for out in (
            mmr_rerank(relevance, embeddings, 10, trade_off=strength),
            dpp_rerank(relevance, embeddings, 10, theta=strength),
        ):
            assert out.dtype == np.int64 and out.shape == (10,)
            assert len(set(out.tolist())) == 10


def test_diversification_raises_list_diversity() -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 8))
    embeddings = np.repeat(centres, 10, axis=0) + 0.05 * rng.normal(size=(40, 8))
    relevance = np.repeat([1.0, 0.8, 0.6, 0.4], 10) + 0.01 * rng.random(40)

    def clusters(out: np.ndarray) -> int:
        return len(set((out // 10).tolist()))

    assert clusters(np.argsort(-relevance)[:4]) == 1
    assert clusters(mmr_rerank(relevance, embeddings, 4, trade_off=0.3)) == 4
    assert clusters(dpp_rerank(relevance, embeddings, 4, theta=0.3)) == 4


@pytest.mark.parametrize("fn", [mmr_rerank, dpp_rerank])
def test_bad_input(fn: object) -> None:
    call = mmr_rerank if fn is mmr_rerank else dpp_rerank
    knob = "trade_off" if fn is mmr_rerank else "theta"
    with pytest.raises(ValueError, match="k must be"):
        call(RELEVANCE, EMBEDDINGS, 4, **{knob: 0.5})
    with pytest.raises(ValueError, match="zero norm"):
        call(RELEVANCE, np.zeros((3, 2)), 2, **{knob: 0.5})
    with pytest.raises(ValueError, match="embeddings must be"):
        call(RELEVANCE, EMBEDDINGS[:2], 2, **{knob: 0.5})
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        call(RELEVANCE, EMBEDDINGS, 2, **{knob: 1.5})
