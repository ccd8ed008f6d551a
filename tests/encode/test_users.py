"""user_vectors: exact values on tiny cases, recency, CSR weights, cold start, chunks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from paretorec.encode import ColdStart, user_vectors
from paretorec.encode.users import _MAX_ROWS_PER_CHUNK

# Three unit items in 2-D: east, north, west.
ITEMS = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
S = np.sqrt(0.5)


def test_mean_of_items_renormalized() -> None:
    users = user_vectors(ITEMS, [[0], [0, 1], [0, 1, 1]])
    expected = [[1.0, 0.0], [S, S], [1 / np.sqrt(5), 2 / np.sqrt(5)]]
    np.testing.assert_allclose(users.vectors, expected, rtol=1e-6)
    assert users.vectors.dtype == np.float32
    assert not users.cold.any()


def test_recency_decay_weighs_the_latest_item_most() -> None:
    users = user_vectors(ITEMS, [[0, 1]], recency_decay=0.5)
    # east weighs 0.5 (older), north 1.0 (latest)
    np.testing.assert_allclose(users.vectors[0], np.array([0.5, 1.0]) / np.sqrt(1.25), rtol=1e-6)
    users = user_vectors(ITEMS, [[0, 1, 2]], recency_decay=0.5)
    # 0.25 east + 0.5 north + 1.0 west = (-0.75, 0.5)
    np.testing.assert_allclose(
        users.vectors[0], np.array([-0.75, 0.5]) / np.sqrt(0.8125), rtol=1e-6
    )


def test_csr_values_are_weights() -> None:
    history = sp.csr_array(np.array([[3.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]]))
    users = user_vectors(ITEMS, history, cold_start=ColdStart.ZERO)
    np.testing.assert_allclose(users.vectors[0], np.array([3.0, 1.0]) / np.sqrt(10), rtol=1e-6)
    np.testing.assert_array_equal(users.vectors[1:], 0.0)  # empty row; east+west cancel
    np.testing.assert_array_equal(users.cold, [False, True, True])
    with pytest.raises(ValueError, match="CSR history keeps no order"):
        user_vectors(ITEMS, history, recency_decay=0.9)
    with pytest.raises(ValueError, match="columns must be the 3 items"):
        user_vectors(ITEMS, sp.csr_array((2, 4)))


def test_cold_start_popular_mean_and_zero() -> None:
    popular = user_vectors(ITEMS, [[], [1]], item_popularity=[3.0, 1.0, 0.0])
    np.testing.assert_allclose(popular.vectors[0], np.array([3.0, 1.0]) / np.sqrt(10), rtol=1e-6)
    np.testing.assert_array_equal(popular.cold, [True, False])
    uniform = user_vectors(ITEMS, [[]])  # uniform weights: east and west cancel, north stays
    np.testing.assert_allclose(uniform.vectors[0], [0.0, 1.0], atol=1e-7)
    zero = user_vectors(ITEMS, [[]], cold_start="zero")
    np.testing.assert_array_equal(zero.vectors, [[0.0, 0.0]])
    assert zero.cold.tolist() == [True]


def test_no_users() -> None:
    users = user_vectors(ITEMS, [])
    assert users.vectors.shape == (0, 2)
    assert users.cold.shape == (0,)


def test_bad_input() -> None:
    with pytest.raises(IndexError, match="item index 3 is outside the 3 item embeddings"):
        user_vectors(ITEMS, [[0, 3]])
    with pytest.raises(IndexError, match="item index -1"):
        user_vectors(ITEMS, [[-1]])
    with pytest.raises(ValueError, match="recency_decay"):
        user_vectors(ITEMS, [[0]], recency_decay=0.0)
    with pytest.raises(ValueError, match="non-negative"):
        user_vectors(ITEMS, sp.csr_array(np.array([[-1.0, 0.0, 0.0]])))
    with pytest.raises(ValueError, match="item_popularity has shape"):
        user_vectors(ITEMS, [[]], item_popularity=[1.0])
    with pytest.raises(ValueError, match="2-D"):
        user_vectors(ITEMS[0], [[0]])
    with pytest.raises(ValueError, match="'often'"):
        user_vectors(ITEMS, [[0]], cold_start="often")


def test_chunked_sums_equal_a_dense_product() -> None:
    """Many users across several chunks, one longer than a chunk, empty ones between."""
    rng = np.random.default_rng(0)
    items = rng.normal(size=(50, 8)).astype(np.float32)
    lengths = rng.integers(0, 40, size=3000)
    lengths[[5, 6, 2999]] = 0
    lengths[100] = _MAX_ROWS_PER_CHUNK + 10
    history = [rng.integers(0, 50, size=n).tolist() for n in lengths]
    users = user_vectors(items, history, recency_decay=0.9)
    dense = np.zeros((len(history), 50))
    for u, row in enumerate(history):
        for position, item in enumerate(row):
            dense[u, item] += 0.9 ** (len(row) - 1 - position)
    sums = dense @ items.astype(np.float64)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    warm = lengths > 0
    np.testing.assert_allclose(
        users.vectors[warm], (sums / np.where(norms > 0, norms, 1))[warm], atol=1e-6
    )
    np.testing.assert_array_equal(users.cold, ~warm)
