"""Fine-tuning the text encoder on in-domain (query, item) pairs.

The loss is sentence-transformers' MultipleNegativesRankingLoss (InfoNCE over scaled
cosine similarities): each query's positive is its own item; every other item of the
batch and every hard negative in the batch is a negative. Two documented extensions
(`paretorec.encode.graded_loss`): rows are weighted by the positive's graded gain
(2^grade - 1, the NDCG gain), and an item the training pairs also pair with a row's query
is masked out of that row's softmax rather than taught as its negative. Hard negatives
(`TrainingPair.negatives`) are mined outside, from BM25 and the model's own top hits
(`paretorec.retrieve.hard_negatives`). A plain PyTorch loop drives it, so no trainer
framework is needed, the seed fixes batch order and dropout, and progress is reported per
batch. Batches never hold the same query or item text twice, since a duplicate would be
taught as its own negative.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import polars as pl
import torch

from paretorec.types import Dataset, EventType


class GradeWeighting(StrEnum):
    """How a positive's grade weighs its row in the loss."""

    NONE = "none"  # every positive counts once
    GAIN = "gain"  # 2^grade - 1, the gain NDCG gives it (a pair without a grade counts 1)


class NegativeSource(StrEnum):
    """Where hard negatives are mined: BM25's top hits, or the model's own dense top hits."""

    BM25 = "bm25"
    DENSE = "dense"


@dataclass(frozen=True)
class TrainingPair:
    """A query, a relevant item's text, its grade (None for clicks) and hard negatives
    (item texts not relevant to the query)."""

    query: str
    item: str
    grade: float | None = None
    negatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class FinetuneConfig:
    """Hyperparameters; the defaults suit a MiniLM on a CPU for a few thousand steps.

    The hard-negative fields steer the mining (`paretorec.retrieve.hard_negatives`):
    from each source's top `negative_depth` items for a training query, an item is a
    candidate negative when it is unjudged for that query or judged below
    `negative_max_grade`; an item judged at or above it (or sharing such an item's text)
    never is. Each pair gets `negatives_per_pair` of them, drawn (seeded) from the sources
    in turn. `hard_negatives=()` trains on in-batch negatives only.

    The defaults are the plain in-batch fine-tuning, which needs no mining. `train encoder`
    defaults to the hard-negative, graded one (BM25 and dense negatives, gain weights,
    known positives masked): over 3 seeds on Home Depot it won on the valid queries and on
    test (`benchmarks/bench_encoder.py --finetune --seeds 0 1 2`).
    """

    epochs: int = 1
    batch_size: int = 64
    learning_rate: float = 2e-5
    warmup_share: float = 0.1
    scale: float = 20.0  # the loss's inverse temperature on cosine similarity
    max_steps: int | None = None
    seed: int = 0
    grade_weighting: GradeWeighting = GradeWeighting.NONE
    mask_known_positives: bool = False
    hard_negatives: tuple[NegativeSource, ...] = ()
    negatives_per_pair: int = 1
    negative_depth: int = 30
    negative_max_grade: float = 2.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 2:
            raise ValueError(
                "epochs must be ≥ 1 and batch_size ≥ 2 (in-batch negatives need company)"
            )
        if not 0 < self.learning_rate < 1 or not 0 <= self.warmup_share < 1:
            raise ValueError("learning_rate must be in (0, 1) and warmup_share in [0, 1)")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be ≥ 1, got {self.max_steps}")
        if self.negatives_per_pair < 0 or self.negative_depth < 1:
            raise ValueError(
                f"negatives_per_pair must be ≥ 0 and negative_depth ≥ 1, "
                f"got {self.negatives_per_pair} and {self.negative_depth}"
            )
        if len(set(self.hard_negatives)) != len(self.hard_negatives):
            raise ValueError(f"hard_negatives names a source twice: {self.hard_negatives}")

    @property
    def mines_negatives(self) -> bool:
        return bool(self.hard_negatives) and self.negatives_per_pair > 0

    def to_dict(self) -> dict[str, object]:
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "warmup_share": self.warmup_share,
            "scale": self.scale,
            "max_steps": self.max_steps,
            "seed": self.seed,
            "grade_weighting": self.grade_weighting.value,
            "mask_known_positives": self.mask_known_positives,
            "hard_negatives": [s.value for s in self.hard_negatives],
            "negatives_per_pair": self.negatives_per_pair,
            "negative_depth": self.negative_depth,
            "negative_max_grade": self.negative_max_grade,
        }


def pair_weight(pair: TrainingPair, weighting: GradeWeighting) -> float:
    """The row weight of `pair` in the loss (see `GradeWeighting`)."""
    if weighting is GradeWeighting.NONE or pair.grade is None:
        return 1.0
    weight = math.pow(2.0, pair.grade) - 1.0
    if weight <= 0:
        raise ValueError(f"a positive graded {pair.grade} has no gain: raise min_grade above 0")
    return weight


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
        TrainingPair(query, item_texts[item], float(grade))
        for query, item, grade in joined.select("text", "item_id", "grade").iter_rows()
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
    """Shuffle, then fill batches greedily so no batch repeats a query or a positive's text;
    a pair that clashes waits for the next batch. A pair that clashes with every other
    pair left is dropped (it has no negative to learn from). Hard negatives may repeat a
    text of the batch: `blocked_candidates` keeps such a copy of a row's own positive (or
    of an item known relevant to it) out of that row's softmax."""
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


def batch_candidates(batch: Sequence[TrainingPair]) -> list[str]:
    """The batch's candidate texts: its positives in row order, then every hard negative."""
    return [p.item for p in batch] + [n for p in batch for n in p.negatives]


def blocked_candidates(
    batch: Sequence[TrainingPair],
    relevant: Mapping[str, frozenset[str]] | None,
) -> list[list[bool]]:
    """`blocked[r][c]`: candidate c (see `batch_candidates`) is left out of row r's softmax
    rather than taught as its negative: it is not row r's own positive but has the same
    text, or (with `relevant`, query text -> item texts) it is known relevant to the query."""
    candidates = batch_candidates(batch)
    blocked = []
    for r, pair in enumerate(batch):
        known = relevant.get(pair.query, frozenset()) if relevant is not None else frozenset()
        blocked.append(
            [c != r and (text == pair.item or text in known) for c, text in enumerate(candidates)]
        )
    return blocked


def relevant_texts(pairs: Sequence[TrainingPair]) -> dict[str, frozenset[str]]:
    """Query text -> the item texts the training pairs pair it with."""
    found: dict[str, set[str]] = {}
    for pair in pairs:
        found.setdefault(pair.query, set()).add(pair.item)
    return {query: frozenset(items) for query, items in found.items()}


@dataclass(frozen=True)
class FinetuneRun:
    """What a fine-tuning did: the saved folder, the steps (batches) taken, the rows seen,
    how many of them carried hard negatives, and the loss of the first and last tenth of
    the steps."""

    folder: Path
    steps: int
    rows: int
    rows_with_negatives: int
    first_loss: float
    last_loss: float
    seconds: float

    def to_dict(self) -> dict[str, object]:
        return {
            "steps": self.steps,
            "rows": self.rows,
            "rows_with_negatives": self.rows_with_negatives,
            "loss_first_tenth": self.first_loss,
            "loss_last_tenth": self.last_loss,
            "seconds": self.seconds,
        }


def finetune_run(
    model_path: Path,
    pairs: Sequence[TrainingPair],
    out: Path,
    *,
    config: FinetuneConfig = FinetuneConfig(),
    on_progress: Callable[[int], None] | None = None,
) -> FinetuneRun:
    """Fine-tune the sentence-transformers model at `model_path` on `pairs` (with their hard
    negatives, if any); save it to `out` (safetensors). `on_progress(1)` after each batch."""
    import time

    from sentence_transformers import SentenceTransformer

    from paretorec.encode.graded_loss import GradedMultipleNegativesRankingLoss

    if len(pairs) < 2:
        raise ValueError(f"fine-tuning needs at least 2 pairs, got {len(pairs)}")
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model = SentenceTransformer(str(model_path), device="cpu", local_files_only=True)
    loss = GradedMultipleNegativesRankingLoss(model, scale=config.scale)
    relevant = relevant_texts(pairs) if config.mask_known_positives else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    plan = [
        b
        for _ in range(config.epochs)
        for b in batches_without_duplicates(pairs, config.batch_size, rng)
    ]
    if config.max_steps is not None:
        plan = plan[: config.max_steps]
    if not plan:
        raise ValueError("no batch of two pairs without a shared query or item text")
    warmup = max(1, int(config.warmup_share * len(plan)))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1 - step / max(len(plan), 1)),
    )
    losses: list[float] = []
    model.train()
    for batch in plan:
        weights = torch.tensor([pair_weight(p, config.grade_weighting) for p in batch])
        blocked = torch.tensor(blocked_candidates(batch, relevant), dtype=torch.bool)
        value = loss.graded(
            model.preprocess([p.query for p in batch]),
            model.preprocess(batch_candidates(batch)),
            weights,
            blocked,
        )
        value.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        losses.append(float(value.detach()))
        if on_progress is not None:
            on_progress(1)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out), safe_serialization=True)
    tenth = max(1, len(losses) // 10)
    return FinetuneRun(
        out,
        len(plan),
        sum(len(b) for b in plan),
        sum(1 for b in plan for p in b if p.negatives),
        sum(losses[:tenth]) / tenth,
        sum(losses[-tenth:]) / tenth,
        time.perf_counter() - started,
    )


def finetune(
    model_path: Path,
    pairs: Sequence[TrainingPair],
    out: Path,
    *,
    config: FinetuneConfig = FinetuneConfig(),
    on_progress: Callable[[int], None] | None = None,
) -> Path:
    """`finetune_run`, returning only the folder it saved the model to."""
    return finetune_run(model_path, pairs, out, config=config, on_progress=on_progress).folder
