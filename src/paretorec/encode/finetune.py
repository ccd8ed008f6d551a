"""Fine-tuning the text encoder on in-domain (query, item) pairs with in-batch negatives.

The loss is sentence-transformers' MultipleNegativesRankingLoss: for a batch of pairs
(q_i, d_i), each query's positive is its own item and every other item of the batch is a
negative (softmax cross-entropy over scaled cosine similarities). A plain PyTorch loop
drives it, so no trainer framework is needed, the seed fixes batch order and dropout, and
progress is reported per batch. Batches never hold the same query or item twice, since
a duplicate would be taught as its own negative.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import torch

from paretorec.types import Dataset, EventType


@dataclass(frozen=True)
class TrainingPair:
    query: str
    item: str


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyperparameters; the defaults suit a MiniLM on a CPU for a few thousand steps."""

    epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 2e-5
    warmup_share: float = 0.1
    scale: float = 20.0  # the loss's inverse temperature on cosine similarity
    max_steps: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(
                "epochs must be ≥ 1 and batch_size ≥ 2 (in-batch negatives need company)"
            )
        if not 0 < self.learning_rate < 1 or not 0 <= self.warmup_share < 1:
            raise ValueError("learning_rate must be in (0, 1) and warmup_share in [0, 1)")


def pairs_from_judgments(
    dataset: Dataset, item_texts: dict[str, str], *, min_grade: float, split: str | None = "train"
) -> list[TrainingPair]:
    """(query text, item text) for judgments graded at least `min_grade`, of one split."""
    if dataset.judgments is None or dataset.queries is None:
        raise ValueError("fine-tuning on judgments needs the queries and judgments tables")
    judged = dataset.judgments.frame.filter(pl.col("grade") >= min_grade)
    if split is not None:
        if "split" not in judged.columns:
            raise ValueError("the judgments have no split column: assign splits first")
        judged = judged.filter(pl.col("split") == split)
    joined = judged.join(
        dataset.queries.frame.select("query_id", "text"), on="query_id", how="inner"
    )
    return [
        TrainingPair(query, item_texts[item])
        for query, item in joined.select("text", "item_id").iter_rows()
        if item in item_texts
    ]


def pairs_from_clicks(
    dataset: Dataset, item_texts: dict[str, str], *, split: str | None = "train"
) -> list[TrainingPair]:
    """(query text, item text) for every click (or stronger event) that names a query."""
    if (
        dataset.events is None
        or dataset.queries is None
        or "query_id" not in dataset.events.frame.columns
    ):
        raise ValueError("fine-tuning on clicks needs events with query_id and the queries table")
    positive = [EventType.CLICK.value, EventType.CART.value, EventType.PURCHASE.value]
    events = dataset.events.frame.filter(
        pl.col("event").is_in(positive) & pl.col("query_id").is_not_null()
    )
    if split is not None and "split" in events.columns:
        events = events.filter(pl.col("split") == split)
    joined = (
        events.select("query_id", "item_id")
        .unique()
        .join(dataset.queries.frame.select("query_id", "text"), on="query_id", how="inner")
    )
    return [
        TrainingPair(query, item_texts[item])
        for query, item in joined.select("text", "item_id").iter_rows()
        if item in item_texts
    ]


def batches_without_duplicates(
    pairs: Sequence[TrainingPair], batch_size: int, rng: random.Random
) -> list[list[TrainingPair]]:
    """Shuffle, then fill batches greedily so no batch repeats a query or an item text;
    a pair that clashes waits for the next batch. A pair that clashes with every other
    pair left is dropped (it has no negative to learn from)."""
    order = list(pairs)
    rng.shuffle(order)
    batches: list[list[TrainingPair]] = []
    pending = order
    while pending:
        batch: list[TrainingPair] = []
        queries: set[str] = set()
        items: set[str] = set()
        later: list[TrainingPair] = []
        for pair in pending:
            if len(batch) < batch_size and pair.query not in queries and pair.item not in items:
                batch.append(pair)
                queries.add(pair.query)
                items.add(pair.item)
            else:
                later.append(pair)
        if len(batch) < 2:
            pending = later  # the lone pair clashes with every other one left: drop it
            continue
        batches.append(batch)
        pending = later
    return batches


def finetune(
    model_path: Path,
    pairs: Sequence[TrainingPair],
    out: Path,
    *,
    config: FinetuneConfig = FinetuneConfig(),
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """Fine-tune the sentence-transformers model at `model_path` on `pairs`; save to `out`
    (safetensors) and return it. `on_progress(1)` after each batch."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    if len(pairs) < 2:
        raise ValueError(f"fine-tuning needs at least 2 pairs, got {len(pairs)}")
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    loss = MultipleNegativesRankingLoss(model, scale=config.scale)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    plan = [
        b
        for _ in range(config.epochs)
        for b in batches_without_duplicates(pairs, config.batch_size, rng)
    ]
    if config.max_steps is not None:
        plan = plan[: config.max_steps]
    warmup = max(1, int(config.warmup_share * len(plan)))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1 - step / max(len(plan), 1)),
    )
    model.train()
    for batch in plan:
        features = [
            model.preprocess([p.query for p in batch]),
            model.preprocess([p.item for p in batch]),
        ]
        value = loss(features, labels=None)
        value.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        if on_progress is not None:
            on_progress(1)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out), safe_serialization=True)
    return out
