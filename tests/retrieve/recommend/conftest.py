"""Tiny hand-made worlds for the recommenders: a few items with made-up text vectors and
histories whose next item is obvious."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
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


def write_shop(folder: Path, titles: Sequence[str], baskets: Sequence[Sequence[str]]) -> Path:
    """A tiny shop for the CLI tests in `folder`: items i0, i1, ... titled `titles` and user
    u<n> purchasing `baskets[n]` in order."""
    ids = [f"i{n}" for n in range(len(titles))]
    pl.DataFrame({"item_id": ids, "title": list(titles)}).write_csv(folder / "items.csv")
    users = [f"u{user}" for user, basket in enumerate(baskets) for _ in basket]
    items = [item for basket in baskets for item in basket]
    pl.DataFrame(
        {"user_id": users, "item_id": items, "event": ["purchase"] * len(items)}
    ).write_csv(folder / "events.csv")
    return folder
