"""Fine-tuning: batches never pair an item with itself as a negative; bad configs fail."""

from __future__ import annotations

import random

import polars as pl
import pytest

from paretorec.encode.finetune import (
    FinetuneConfig,
    TrainingPair,
    batches_without_duplicates,
    pairs_from_judgments,
)
from paretorec.types import Catalog, Dataset, Judgments, Queries


def test_batches_hold_no_query_or_item_twice() -> None:
    pairs = [TrainingPair(f"q{i % 5}", f"d{i % 7}") for i in range(35)]
    batches = batches_without_duplicates(pairs, 4, random.Random(0))
    for batch in batches:
        assert len({p.query for p in batch}) == len(batch)
        assert len({p.item for p in batch}) == len(batch)
        assert 2 <= len(batch) <= 4
    used = [p for b in batches for p in b]
    assert len(set(used)) == len(used)  # no pair twice
    assert len(used) >= 33
    # (q1, d1) clashes with both others, which do not clash with each other: they are kept.
    tricky = [TrainingPair("q1", "d1"), TrainingPair("q1", "d2"), TrainingPair("q2", "d1")]
    for seed in range(6):
        kept = [p for b in batches_without_duplicates(tricky, 4, random.Random(seed)) for p in b]
        assert len(kept) == 2
    clean = [TrainingPair(f"q{i}", f"d{i}") for i in range(10)]
    assert sum(len(b) for b in batches_without_duplicates(clean, 4, random.Random(0))) == 10


def test_pairs_from_judgments_keep_the_split_and_grade() -> None:
    dataset = Dataset(
        items=Catalog(pl.DataFrame({"item_id": ["a", "b"], "title": ["A", "B"]})),
        queries=Queries(pl.DataFrame({"query_id": ["q1", "q2"], "text": ["drill", "saw"]})),
        judgments=Judgments(
            pl.DataFrame(
                {
                    "query_id": ["q1", "q1", "q2"],
                    "item_id": ["a", "b", "b"],
                    "grade": [3.0, 1.0, 3.0],
                    "split": ["train", "train", "test"],
                }
            )
        ),
    )
    texts = {"a": "cordless drill", "b": "hand saw"}
    assert pairs_from_judgments(dataset, texts, min_grade=2.5) == [
        TrainingPair("drill", "cordless drill")
    ]
    with pytest.raises(ValueError, match="needs the queries and judgments"):
        pairs_from_judgments(Dataset(items=dataset.items), texts, min_grade=2.5)


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        FinetuneConfig(batch_size=1)
    with pytest.raises(ValueError, match="learning_rate"):
        FinetuneConfig(learning_rate=0)
