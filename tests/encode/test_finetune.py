"""Fine-tuning: batches never pair an item with itself as a negative; the graded loss is
the library's MultipleNegativesRankingLoss when nothing is weighted or masked; bad
configs fail."""

from __future__ import annotations

import math
import random

import polars as pl
import pytest
import torch
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from paretorec.encode.finetune import (
    FinetuneConfig,
    GradeWeighting,
    NegativeSource,
    TrainingPair,
    batch_candidates,
    batches_without_duplicates,
    blocked_candidates,
    pair_weight,
    pairs_from_judgments,
    relevant_texts,
)
from paretorec.encode.graded_loss import GradedMultipleNegativesRankingLoss
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
        TrainingPair("drill", "cordless drill", 3.0)
    ]
    with pytest.raises(ValueError, match="needs the queries and judgments"):
        pairs_from_judgments(Dataset(items=dataset.items), texts, min_grade=2.5)


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        FinetuneConfig(batch_size=1)
    with pytest.raises(ValueError, match="learning_rate"):
        FinetuneConfig(learning_rate=0)
    with pytest.raises(ValueError, match="negatives_per_pair"):
        FinetuneConfig(negatives_per_pair=-1)
    with pytest.raises(ValueError, match="names a source twice"):
        FinetuneConfig(hard_negatives=(NegativeSource.BM25, NegativeSource.BM25))
    with pytest.raises(ValueError, match="max_steps"):
        FinetuneConfig(max_steps=0)
    both = (NegativeSource.BM25, NegativeSource.DENSE)
    assert not FinetuneConfig().mines_negatives  # the default: in-batch negatives only
    assert not FinetuneConfig(hard_negatives=both, negatives_per_pair=0).mines_negatives
    assert FinetuneConfig(hard_negatives=both).to_dict()["hard_negatives"] == ["bm25", "dense"]


def test_pair_weight_is_the_ndcg_gain() -> None:
    assert pair_weight(TrainingPair("q", "d", 3.0), GradeWeighting.GAIN) == 7.0
    assert pair_weight(TrainingPair("q", "d", 2.0), GradeWeighting.GAIN) == 3.0
    assert pair_weight(TrainingPair("q", "d", 3.0), GradeWeighting.NONE) == 1.0
    assert pair_weight(TrainingPair("q", "d"), GradeWeighting.GAIN) == 1.0  # a click
    with pytest.raises(ValueError, match="has no gain"):
        pair_weight(TrainingPair("q", "d", 0.0), GradeWeighting.GAIN)


def test_negatives_do_not_change_the_batches() -> None:
    plain = [TrainingPair(f"q{i % 5}", f"d{i % 7}") for i in range(35)]
    with_negatives = [TrainingPair(p.query, p.item, negatives=(p.item, "x")) for p in plain]
    a = batches_without_duplicates(plain, 4, random.Random(3))
    b = batches_without_duplicates(with_negatives, 4, random.Random(3))
    assert [[(p.query, p.item) for p in batch] for batch in a] == [
        [(p.query, p.item) for p in batch] for batch in b
    ]


def test_blocked_candidates_hand_case() -> None:
    batch = [
        TrainingPair("drill", "dewalt drill", negatives=("drill bit",)),
        TrainingPair("saw", "hand saw", negatives=("dewalt drill", "ryobi drill")),
    ]
    assert batch_candidates(batch) == [
        "dewalt drill",
        "hand saw",
        "drill bit",
        "dewalt drill",
        "ryobi drill",
    ]
    # without known positives: only a copy of the row's own positive is blocked
    assert blocked_candidates(batch, None) == [
        [False, False, False, True, False],
        [False, False, False, False, False],
    ]
    known = relevant_texts([*batch, TrainingPair("drill", "ryobi drill")])
    assert known == {
        "drill": frozenset({"dewalt drill", "ryobi drill"}),
        "saw": frozenset({"hand saw"}),
    }
    assert blocked_candidates(batch, known) == [
        [False, False, False, True, True],
        [False, False, False, False, False],
    ]


def _loss() -> GradedMultipleNegativesRankingLoss:
    # The loss only keeps the model for `graded`; these tests call it on embeddings.
    return GradedMultipleNegativesRankingLoss(torch.nn.Module(), scale=1.0)  # type: ignore[arg-type]


def test_graded_loss_hand_case() -> None:
    loss = _loss()
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    candidates = torch.tensor([[2.0, 0.0], [0.0, 3.0]])  # cosine: lengths do not matter
    nothing = torch.zeros(2, 2, dtype=torch.bool)
    each = math.log(1 + math.exp(-1))  # log(e^1 + e^0) - 1 for both rows
    assert loss.loss_from_embeddings(queries, candidates, torch.ones(2), nothing).item() == (
        pytest.approx(each)
    )
    # Row 0's only negative masked: its loss is 0; weights 7 and 1 give (7*0 + 1*each) / 8.
    blocked = torch.tensor([[False, True], [False, False]])
    value = loss.loss_from_embeddings(queries, candidates, torch.tensor([7.0, 1.0]), blocked)
    assert value.item() == pytest.approx(each / 8)
    with pytest.raises(ValueError, match="own positive cannot be masked"):
        loss.loss_from_embeddings(queries, candidates, torch.ones(2), torch.eye(2).bool())
    with pytest.raises(ValueError, match="weights must be positive"):
        loss.loss_from_embeddings(queries, candidates, torch.tensor([1.0, 0.0]), nothing)
    with pytest.raises(ValueError, match="need at least 2 candidates"):
        loss.loss_from_embeddings(queries, candidates[:1], torch.ones(2), nothing[:, :1])


@pytest.mark.parametrize("negatives", [0, 1, 3])
def test_graded_loss_equals_the_library_loss_unweighted(negatives: int) -> None:
    generator = torch.Generator().manual_seed(negatives)
    n, d = 5, 8
    queries = torch.randn(n, d, generator=generator)
    columns = [torch.randn(n, d, generator=generator) for _ in range(1 + negatives)]
    library = MultipleNegativesRankingLoss(torch.nn.Module(), scale=20.0)  # type: ignore[arg-type]
    expected = library.compute_loss_from_embeddings([queries, *columns], None)  # type: ignore[arg-type]
    graded = GradedMultipleNegativesRankingLoss(torch.nn.Module(), scale=20.0)  # type: ignore[arg-type]
    candidates = torch.cat(columns)
    blocked = torch.zeros(n, len(candidates), dtype=torch.bool)
    found = graded.loss_from_embeddings(queries, candidates, torch.full((n,), 3.0), blocked)
    assert found.item() == pytest.approx(expected.item(), rel=1e-6)
