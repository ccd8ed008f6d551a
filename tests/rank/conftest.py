"""Shared fixtures: a small lively simulated shop with its truth, its features, a
hand-written tiny dataset, and a small bag-of-words text encoder."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import polars as pl
import pytest
import torch

from paretorec.rank import RankerFeatures, SimulatedLogs, build_ranker_features, simulate_with_truth
from paretorec.simulate import WorldConfig
from paretorec.types import Catalog, Dataset, Events, Queries

torch.set_num_threads(1)


class HashingEncoder:
    """A real (if weak) text encoder: hashed bag of words, unit length; fast and offline."""

    def __init__(self, dimension: int = 16) -> None:
        self._dimension = dimension

    @property
    def name(self) -> str:
        return f"hashing-bow-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    def _encode(self, texts: Iterable[str | bytes]) -> np.ndarray:
        rows = []
        for text in texts:
            v = np.zeros(self._dimension, dtype=np.float32)
            for word in str(text).lower().split():
                h = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
                v[h % self._dimension] += 1.0
            norm = np.linalg.norm(v)
            rows.append(v / norm if norm > 0 else v)
        return np.stack(rows) if rows else np.zeros((0, self._dimension), dtype=np.float32)

    def encode_queries(self, texts: Iterable[str | bytes]) -> np.ndarray:
        return self._encode(texts)

    def encode_items(self, texts: Iterable[str | bytes]) -> np.ndarray:
        return self._encode(texts)


@pytest.fixture(scope="session")
def sim_logs() -> SimulatedLogs:
    return simulate_with_truth(400, 200, 2000, seed=3, config=WorldConfig.lively())


@pytest.fixture(scope="session")
def sim_features(sim_logs: SimulatedLogs) -> RankerFeatures:
    return build_ranker_features(sim_logs.dataset, n_buckets=1024)


@pytest.fixture
def tiny() -> Dataset:
    """Two sessions by hand: a: i1 clicked and bought, i2 shown; b: i2 carted, i3 shown."""
    items = pl.DataFrame(
        {
            "item_id": ["i1", "i2", "i3"],
            "title": ["red shoe", "blue shoe", "green hat"],
            "category": ["Wear > Shoes", "Wear > Shoes", "Wear > Hats"],
            "price": [9.0, 99.0, None],
            "cost": [6.0, 50.0, None],
            "stock": [3, 0, 1],
        }
    )
    rows = [
        ("u1", "i1", "impression", 1, "s1", "q1", 1),
        ("u1", "i2", "impression", 1, "s1", "q1", 2),
        ("u1", "i1", "click", 2, "s1", "q1", 1),
        ("u1", "i1", "cart", 3, "s1", "q1", 1),
        ("u1", "i1", "purchase", 4, "s1", "q1", 1),
        ("u2", "i2", "impression", 10, "s2", None, 1),
        ("u2", "i3", "impression", 10, "s2", None, 2),
        ("u2", "i2", "click", 11, "s2", None, 1),
        ("u2", "i2", "cart", 12, "s2", None, 1),
        ("u2", "i3", "purchase", 13, "s9", None, 2),  # no impression in s9
    ]
    events = pl.DataFrame(
        rows,
        schema=["user_id", "item_id", "event", "timestamp", "session_id", "query_id", "position"],
        orient="row",
    ).with_columns(pl.from_epoch("timestamp", time_unit="s").dt.replace_time_zone("UTC"))
    queries = pl.DataFrame({"query_id": ["q1"], "text": ["Shoe"]})
    return Dataset(
        items=Catalog(items), events=Events(events), queries=Queries(queries), name="tiny"
    )
