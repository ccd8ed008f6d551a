"""Tiny hand-made worlds for the recommenders: a few items with made-up text vectors and
histories whose next item is obvious."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from paretorec.retrieve.recommend import TrainingData
from tests.one_thread import one_thread  # noqa: F401  (autouse for this package)

N_ITEMS = 8
DIM = 16


def text_vectors(n: int = N_ITEMS, seed: int = 0) -> NDArray[np.float32]:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def chains(repeat: int = 30) -> tuple[NDArray[np.int64], ...]:
    """Users who buy 0 -> 1 -> 2 and users who buy 3 -> 4 -> 5; 6 is bought alone."""
    out: list[NDArray[np.int64]] = []
    for _ in range(repeat):
        out += [np.array([0, 1, 2]), np.array([3, 4, 5]), np.array([6]), np.array([6, 6])]
    return tuple(out)


@pytest.fixture
def data() -> TrainingData:
    return TrainingData(text_vectors(), chains(12))
