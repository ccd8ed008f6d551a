"""Batch scoring in one process and as Ray Data pipelines: the same results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretorec.retrieve.recommend import Recommender, SplitSequences, evaluate_recommender
from paretorec.scale import Backend
from paretorec.scale.batch import encode_texts, evaluate_top_k, rank_users

pytest.importorskip("ray", reason="the ray extra is not installed")
RAY = {"backend": Backend.RAY, "workers": 2, "block_size": 16}  # 150 users: 10 blocks


def _histories(chains: SplitSequences) -> list[np.ndarray]:
    return [chains.history_before_test(u) for u in range(len(chains.user_ids))]


def test_local_top_k_is_rank_many(chains: SplitSequences, recommender: Recommender) -> None:
    histories = _histories(chains)
    items, sources = rank_users(recommender, histories, k=10)
    expected_items, expected_sources = recommender.rank_many(histories, k=10)
    assert np.array_equal(items, expected_items) and np.array_equal(sources, expected_sources)


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_ray_top_k_equals_the_single_process_lists(
    chains: SplitSequences, recommender: Recommender
) -> None:
    histories = _histories(chains)
    local_items, local_sources = rank_users(recommender, histories, k=10)
    items, sources = rank_users(recommender, histories, k=10, **RAY)
    assert items.shape == (150, 10)
    assert np.array_equal(items, local_items) and np.array_equal(sources, local_sources)


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_ray_evaluation_from_a_saved_folder_equals_eval_recommend(
    chains: SplitSequences, recommender: Recommender, tmp_path: Path
) -> None:
    expected = evaluate_recommender(recommender, chains, ks=(5, 10))["merge"]
    assert set(expected) == {f"{m}@{k}" for m in ("recall", "ndcg", "hit_rate") for k in (5, 10)}
    assert evaluate_top_k(recommender, chains, ks=(5, 10)) == pytest.approx(expected, abs=1e-15)
    recommender.save(tmp_path / "rec")  # each worker loads the model from its folder
    spread = evaluate_top_k(tmp_path / "rec", chains, ks=(5, 10), **RAY)
    assert spread == pytest.approx(expected, abs=1e-15)


@pytest.mark.slow
@pytest.mark.usefixtures("ray_cluster")
def test_ray_encoding_equals_the_single_process_vectors() -> None:
    texts = [f"{w} {n}" for n, w in enumerate(["drill", "towel", "paint", "saw"] * 10)]
    local = encode_texts(texts)
    # one actor (each loads the model: the slow part), still 3 blocks through the pipeline
    spread = encode_texts(texts, backend=Backend.RAY, workers=1, block_size=16)
    assert spread.shape == local.shape == (40, 384)
    # a transformer pads each batch to its longest text: equal up to float rounding
    np.testing.assert_allclose(spread, local, atol=2e-6)


def test_bad_inputs_fail_clearly(chains: SplitSequences, recommender: Recommender) -> None:
    with pytest.raises(ValueError, match="workers and block_size must be >= 1"):
        rank_users(recommender, _histories(chains), k=5, workers=0)
    with pytest.raises(ValueError, match="a history is empty"):
        rank_users(recommender, [np.zeros(0, dtype=np.int64)], k=5)
