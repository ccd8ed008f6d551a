"""Which text vectors a recommender needs: ID-only models encode only the popular pool."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.retrieve.recommend import (
    CoVisitation,
    Popularity,
    Quotas,
    Recommender,
    Source,
    TextVectors,
    TrainingData,
    resolve_text_vectors,
    rows_to_encode,
    scatter_rows,
)
from tests.retrieve.recommend.conftest import chains, text_vectors


def test_auto_follows_what_the_models_read() -> None:
    id_only = [Source.POPULARITY, Source.COVISITATION]
    assert resolve_text_vectors(TextVectors.AUTO, id_only) is TextVectors.POPULAR
    assert resolve_text_vectors(TextVectors.AUTO, [*id_only, Source.TWO_TOWER]) is TextVectors.ALL
    assert resolve_text_vectors(TextVectors.ALL, id_only) is TextVectors.ALL
    with pytest.raises(ValueError, match="sequential learn from every item's text"):
        resolve_text_vectors(TextVectors.POPULAR, [Source.POPULARITY, Source.SEQUENTIAL])


def test_rows_to_encode_by_hand() -> None:
    train = [np.array([3, 3, 1]), np.array([1, 4]), np.array([3])]
    # counts: 0:0 1:2 2:0 3:3 4:1 -> by count 3, 1, 4, then the ties 0, 2 by row
    assert rows_to_encode(TextVectors.POPULAR, train, 5, pool=2).tolist() == [1, 3]
    assert rows_to_encode(TextVectors.POPULAR, train, 5, pool=4).tolist() == [0, 1, 3, 4]
    assert rows_to_encode(TextVectors.ALL, train, 5, pool=2).tolist() == [0, 1, 2, 3, 4]
    assert rows_to_encode(TextVectors.POPULAR, [], 3, pool=9).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="resolve"):
        rows_to_encode(TextVectors.AUTO, train, 5, pool=2)
    with pytest.raises(ValueError, match="pool"):
        rows_to_encode(TextVectors.POPULAR, train, 5, pool=0)


def test_scatter_rows_fills_zeros_elsewhere() -> None:
    out = scatter_rows(4, np.array([1, 3]), np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    assert out.tolist() == [[0, 0], [1, 2], [0, 0], [3, 4]]
    with pytest.raises(ValueError, match="rows"):
        scatter_rows(4, np.array([1]), np.ones((2, 2), np.float32))


@settings(max_examples=30, deadline=None)
@given(
    counts=st.lists(st.integers(0, 6), min_size=3, max_size=30),
    pool=st.integers(1, 12),
    k=st.integers(1, 12),
)
def test_cold_list_is_the_same_with_only_the_pool_encoded(
    counts: list[int], pool: int, k: int
) -> None:
    """The cold-user list compares only the pool's vectors, so zeros elsewhere change nothing."""
    n = len(counts)
    train = [np.repeat(np.arange(n), counts)]
    vectors = text_vectors(n, seed=n)
    rows = rows_to_encode(TextVectors.POPULAR, train, n, pool=max(pool, k))
    partial = scatter_rows(n, rows, vectors[rows])
    popularity = Popularity(diversity=0.5, pool=pool)
    only = Quotas({Source.POPULARITY: 1.0})
    full = Recommender.fit(
        [str(i) for i in range(n)], vectors, train, generators=[popularity], quotas=only
    )
    lean = Recommender.fit(
        [str(i) for i in range(n)], partial, train, generators=[popularity], quotas=only
    )
    assert lean.recommend(k=k).item_ids == full.recommend(k=k).item_ids
    assert partial[rows].tolist() == vectors[rows].tolist()


def test_covisitation_scores_trained_items_the_same_without_text() -> None:
    """Zero vectors change only the text fallback: a trained history scores as with text."""
    vectors = text_vectors()
    train = chains(5)
    with_text = CoVisitation().fit(TrainingData(vectors, train))
    without = CoVisitation().fit(TrainingData(np.zeros_like(vectors), train))
    history = [np.array([0, 3])]
    np.testing.assert_allclose(
        without.score(history, np.zeros_like(vectors)), with_text.score(history, vectors)
    )
    # item 7 was never trained: with text it votes through its neighbours, without, not at all
    assert with_text.score([np.array([7])], vectors).any()
    assert not without.score([np.array([7])], np.zeros_like(vectors)).any()
