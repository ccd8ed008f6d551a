"""A cross-encoder re-ranker: the query and an item's text read together by one model.

A bi-encoder (the dense retriever) embeds query and item apart and compares vectors; a
cross-encoder reads ``[CLS] query [SEP] item text [SEP]`` and outputs one relevance
logit, so every query word can attend to every title word: far more accurate, and far
dearer (one transformer pass per pair), so it only re-orders the first `depth` items of
the list the second stage (or the fused first stage) already ranked.

- Model: the bundled all-MiniLM-L6-v2's transformer with a fresh one-logit head
  (`AutoModelForSequenceClassification`, ``num_labels=1``): no download, as the encoder.
- Training (`train_cross_encoder`): pointwise binary cross-entropy on graded pairs, the
  target a judged item's grade over the top grade (Home Depot 1-3: 1/3, ..., 1) and 0 for
  a hard negative, an unjudged item among the query's first-stage top hits (as the
  evaluation counts unjudged items: irrelevant). Pointwise BCE on graded targets is the
  loss sentence-transformers' CrossEncoder and the MS MARCO cross-encoders train with.
  A plain PyTorch loop (AdamW, linear warm-up then decay, clipped gradients), seeded.
- Re-ranking (`CrossEncoderBlend`): within the list's top `depth`, the cross-encoder's
  logits and the list's own scores are each standardised (z-scores over those items) and
  mixed, `weight` on the cross-encoder (1: its order alone). Both are chosen on valid
  queries by NDCG@10 (`choose_blend`), never on test; items below `depth` keep their
  order, so Recall@K for K >= depth does not move.

Saved as a Hugging Face model folder plus ``paretorec-cross-encoder.json`` (config,
training report).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from paretorec.retrieve.candidates import Candidates

__all__ = [
    "COMPONENT",
    "BlendChoice",
    "CrossEncoder",
    "CrossEncoderBlend",
    "CrossEncoderConfig",
    "CrossEncoderRun",
    "GradedPair",
    "blend_rerank",
    "choose_blend",
    "graded_pairs",
    "train_cross_encoder",
]

COMPONENT = "cross_encoder"
META_FILE = "paretorec-cross-encoder.json"


@dataclass(frozen=True)
class CrossEncoderConfig:
    """Training hyperparameters; the defaults suit MiniLM-L6 on 2 CPU cores (~0.5 s a
    batch of 32 short pairs, so the default 1,500 steps take 10-25 minutes)."""

    max_length: int = 64  # tokens of query + title (Home Depot pairs are ~35)
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_share: float = 0.1
    max_steps: int = 1500
    negatives_per_query: int = 6
    negative_depth: int = 30  # hard negatives come from the first stage's top this many
    threads: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("max_length", "batch_size", "max_steps", "negative_depth", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.negatives_per_query < 0:
            raise ValueError(f"negatives_per_query must be >= 0, got {self.negatives_per_query}")
        if not 0.0 < self.learning_rate < 1.0:
            raise ValueError(f"learning_rate must lie in (0, 1), got {self.learning_rate}")
        if not 0.0 <= self.warmup_share < 1.0:
            raise ValueError(f"warmup_share must lie in [0, 1), got {self.warmup_share}")


@dataclass(frozen=True)
class GradedPair:
    """A query, an item's text and the target in [0, 1] the logit is taught towards."""

    query: str
    item: str
    target: float


def graded_pairs(
    judged: Mapping[str, Mapping[str, float]],
    candidates: Mapping[str, Sequence[str]],
    query_texts: Mapping[str, str],
    item_texts: Mapping[str, str],
    *,
    negatives_per_query: int,
    seed: int = 0,
) -> list[GradedPair]:
    """Each judged query's judged items at grade / top grade (a grade <= 0, judged
    irrelevant, at 0), and up to `negatives_per_query` of its unjudged `candidates` (a
    seeded draw) at 0. `judged` maps query id to {item id: grade}; only its queries are
    used, so pass the train queries' judgments only."""
    grades = [g for items in judged.values() for g in items.values()]
    if not grades or max(grades) <= 0:
        raise ValueError("no judged relevant pair (grade > 0) to learn from")
    top = max(grades)
    rng = random.Random(seed)
    pairs: list[GradedPair] = []
    for query_id in sorted(judged):
        query = query_texts[query_id]
        items = judged[query_id]
        pairs.extend(
            GradedPair(query, item_texts[i], max(g, 0.0) / top) for i, g in sorted(items.items())
        )
        unjudged = [i for i in candidates.get(query_id, ()) if i not in items]
        drawn = rng.sample(unjudged, min(negatives_per_query, len(unjudged)))
        pairs.extend(GradedPair(query, item_texts[i], 0.0) for i in drawn)
    return pairs


@dataclass(frozen=True)
class CrossEncoderRun:
    """What training did: pairs, steps, the loss at the start and end, seconds."""

    n_pairs: int
    steps: int
    first_loss: float
    last_loss: float
    seconds: float
    config: CrossEncoderConfig
    base: str

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "config": asdict(self.config)}


class CrossEncoder:
    """A trained cross-encoder: `score(query, texts)` gives one logit per text."""

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int, name: str) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.name = name

    @classmethod
    def load(cls, folder: str | Path) -> CrossEncoder:
        """A folder `train_cross_encoder` saved (ValueError naming it otherwise)."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        path = Path(folder)
        meta = path / META_FILE
        if not meta.is_file():
            raise ValueError(
                f"{path} is not a cross-encoder folder (no {META_FILE}): train one with "
                "`paretorec train cross-encoder`"
            )
        config = json.loads(meta.read_text())["config"]
        model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        return cls(model, tokenizer, max_length=int(config["max_length"]), name=path.name)

    @torch.inference_mode()
    def score(
        self, query: str, texts: Sequence[str], *, batch_size: int = 64
    ) -> NDArray[np.float64]:
        """The relevance logit of each of `texts` for `query` (higher: more relevant)."""
        out: list[NDArray[np.float64]] = []
        for start in range(0, len(texts), batch_size):
            chunk = list(texts[start : start + batch_size])
            batch = self.tokenizer(
                [query] * len(chunk),
                chunk,
                truncation=True,
                max_length=self.max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = self.model(**batch).logits.squeeze(-1)
            out.append(logits.double().numpy().reshape(-1))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float64)


def _batches(
    pairs: Sequence[GradedPair], size: int, steps: int, rng: random.Random
) -> Iterable[list[GradedPair]]:
    """`steps` batches of `size`, reshuffling the pairs at each pass."""
    order: list[int] = []
    for _ in range(steps):
        if len(order) < size:
            fresh = list(range(len(pairs)))
            rng.shuffle(fresh)
            order.extend(fresh)
        chosen, order = order[:size], order[size:]
        yield [pairs[i] for i in chosen]


def train_cross_encoder(
    pairs: Sequence[GradedPair],
    out: str | Path,
    *,
    base: str | Path | None = None,
    config: CrossEncoderConfig = CrossEncoderConfig(),
    on_progress: Callable[[int], None] | None = None,
) -> CrossEncoderRun:
    """Train a one-logit head and the transformer under it on `pairs` (BCE on the
    targets) for `config.max_steps` batches; save to `out`. `base` is a local model folder
    (default: the bundled all-MiniLM-L6-v2). `on_progress(1)` after each batch."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers import logging as hf_logging

    from paretorec.encode.models import bundled_model_path

    if len(pairs) < 2:
        raise ValueError(f"training a cross-encoder needs at least 2 pairs, got {len(pairs)}")
    if bad := [p.target for p in pairs if not 0.0 <= p.target <= 1.0]:
        raise ValueError(f"targets must lie in [0, 1], got {bad[0]}")
    started = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    folder = Path(base) if base is not None else bundled_model_path()
    verbosity = hf_logging.get_verbosity()
    # "newly initialized head" is the point, not a warning
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, num_labels=1, local_files_only=True
        )
    finally:
        hf_logging.set_verbosity(verbosity)
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    steps = config.max_steps
    warmup = max(1, int(config.warmup_share * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, 1 - s / steps)
    )
    losses: list[float] = []
    model.train()
    try:
        for batch in _batches(pairs, config.batch_size, steps, random.Random(config.seed)):
            encoded = tokenizer(
                [p.query for p in batch],
                [p.item for p in batch],
                truncation=True,
                max_length=config.max_length,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**encoded).logits.squeeze(-1)
            target = torch.tensor([p.target for p in batch], dtype=logits.dtype)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(float(loss.detach()))
            if on_progress is not None:
                on_progress(1)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    path = Path(out)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    window = max(1, min(50, len(losses) // 10))
    run = CrossEncoderRun(
        n_pairs=len(pairs),
        steps=len(losses),
        first_loss=float(np.mean(losses[:window])),
        last_loss=float(np.mean(losses[-window:])),
        seconds=time.perf_counter() - started,
        config=config,
        base=str(folder),
    )
    (path / META_FILE).write_text(json.dumps(run.to_dict(), indent=2))
    return run


def _standardised(values: NDArray[np.float64]) -> NDArray[np.float64]:
    spread = float(values.std())
    if values.size == 0 or spread == 0.0 or not math.isfinite(spread):
        return np.zeros_like(values)
    out: NDArray[np.float64] = (values - values.mean()) / spread
    return out


@dataclass(frozen=True)
class CrossEncoderBlend:
    """Re-order a list's top `depth` by `weight`·z(cross-encoder) + (1 - weight)·z(list)."""

    depth: int
    weight: float

    def __post_init__(self) -> None:
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1:
            raise ValueError(f"depth must be an integer >= 1, got {self.depth!r}")
        if not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"weight must lie in [0, 1], got {self.weight}")


def blend_rerank(
    found: Candidates, logits: NDArray[np.float64], blend: CrossEncoderBlend
) -> Candidates:
    """`found` with its first `blend.depth` items re-ordered by the blend of their
    `logits` (one per item, in `found`'s order, at least that many) and their own scores;
    the rest keep their place. The new top items' scores sit above the rest's (scores
    stay non-increasing); the logits join the components as ``cross_encoder`` (NaN below
    the depth)."""
    n = min(blend.depth, len(found))
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape[0] < n:
        raise ValueError(f"{logits.shape[0]} logits for the top {n} items")
    own = np.asarray(found.scores[:n], dtype=np.float64)
    mixed = blend.weight * _standardised(logits[:n]) + (1 - blend.weight) * _standardised(own)
    order = np.argsort(-mixed, kind="stable")  # ties keep the list's order
    rest = np.asarray(found.scores[n:], dtype=np.float64)
    floor = float(rest[0]) if rest.size else 0.0
    top_scores = floor + 1.0 + (mixed[order] - mixed[order][-1]) if n else mixed
    keep = np.concatenate([order, np.arange(n, len(found))]).astype(np.int64)
    components = {name: np.asarray(v)[keep] for name, v in found.components.items()}
    ce = np.full(len(found), np.nan)
    ce[:n] = logits[:n][order]
    components[COMPONENT] = ce
    return Candidates(
        tuple(found.item_ids[i] for i in keep),
        found.indices[keep],
        np.concatenate([top_scores, rest]),
        components,
    )


@dataclass(frozen=True)
class BlendChoice:
    """The chosen blend and every tried one's valid NDCG@10 (the list alone: weight 0)."""

    blend: CrossEncoderBlend
    valid_ndcg: float
    list_alone: float
    tried: list[dict[str, float]] = field(default_factory=list)


def choose_blend(
    lists: Mapping[str, Candidates],
    logits: Mapping[str, NDArray[np.float64]],
    ndcg: Callable[[Mapping[str, Candidates]], float],
    *,
    depths: Sequence[int] = (10, 20, 30, 50),
    weights: Sequence[float] = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0),
) -> BlendChoice:
    """The (depth, weight) with the best `ndcg` of the re-ordered valid `lists`, given
    each query's logits over at least its top max(`depths`) items. Ties go to the smaller
    depth (cheaper), then the smaller weight (closer to the list alone)."""
    if not lists:
        raise ValueError("no valid queries to choose the blend on")
    alone = ndcg(lists)
    best: tuple[float, CrossEncoderBlend] | None = None
    tried = []
    for depth in sorted(depths):
        for weight in sorted(weights):
            blend = CrossEncoderBlend(depth, weight)
            value = (
                alone
                if weight == 0
                else ndcg({q: blend_rerank(found, logits[q], blend) for q, found in lists.items()})
            )
            tried.append({"depth": depth, "weight": weight, "valid_ndcg@10": value})
            if best is None or value > best[0] + 1e-12:
                best = (value, blend)
    assert best is not None
    return BlendChoice(best[1], best[0], alone, tried)
