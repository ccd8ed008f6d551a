"""The search path end to end: a catalog's indexes, and judging search on a dataset.

`build_search` encodes the catalog (through the embedding cache), builds the BM25 and
dense indexes and joins them with a fusion; `evaluate_search` splits a dataset's
judgments by query (or uses its `split` column), tunes the fusion weight on the train
queries and reports full-catalog metrics on the test queries for BM25, dense and hybrid.
The CLI's `index`, `search` and `eval search` are thin wrappers around these.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.data.splits import (
    DEFAULT_CARVED_VALID_SHARE,
    carve_valid_queries,
    split_unless_given,
)
from paretorec.encode import TextEncoder, encode_items_cached, item_text
from paretorec.encode.finetune import (
    FinetuneConfig,
    NegativeSource,
    TrainingPair,
    finetune_run,
    pairs_from_judgments,
)
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.cross_encoder import (
    CrossEncoder,
    CrossEncoderConfig,
    CrossEncoderRun,
    blend_rerank,
    choose_blend,
    graded_pairs,
    train_cross_encoder,
)
from paretorec.retrieve.dense import DenseIndex
from paretorec.retrieve.fusion import Fusion, ScoreFusion
from paretorec.retrieve.fuzzy import CharNgramIndex, fuse_with_char, tune_char_share
from paretorec.retrieve.hard_negatives import MinedNegatives, mine_hard_negatives
from paretorec.retrieve.hybrid import HybridRetriever
from paretorec.retrieve.lexical import LexicalIndex, item_texts
from paretorec.retrieve.second_stage import FittedSecondStage, fit_second_stage
from paretorec.retrieve.spelling import SpellCorrector, SpellingParams
from paretorec.retrieve.tuning import evaluate_runs, tune_fusion_weight
from paretorec.types import Dataset, Judgments, Split

DEPTH = 100
METRICS = ("ndcg@10", "recall@100")


def build_search(
    dataset: Dataset,
    encoder: TextEncoder,
    cache: Path,
    *,
    fusion: Fusion | None = None,
    spelling: bool = True,
    abbreviations: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> HybridRetriever:
    """BM25 and dense indexes over `dataset.items`, fused (score fusion, weight 0.5 unless
    given); item vectors come through the on-disk cache at `cache`. With `spelling`, the
    lexical side searches queries spell-corrected towards the catalog's own words, and
    with `abbreviations` too, their consonant skeletons expanded (``cbnt`` → ``cabinet``)."""
    if len(dataset.items) == 0:
        raise ValueError("the catalog is empty: nothing to index")
    vectors = encode_items_cached(encoder, item_text(dataset.items), cache, on_progress=on_progress)
    lexical = LexicalIndex.build(dataset.items)
    words = item_texts(dataset.items, lexical.fields)
    return HybridRetriever(
        lexical,
        DenseIndex.build(vectors, dataset.items),
        fusion=fusion or ScoreFusion(),
        speller=(
            SpellCorrector.build(words, SpellingParams(abbreviations=abbreviations))
            if spelling
            else None
        ),
    )


@dataclass(frozen=True)
class SearchEvaluation:
    """Test-query metrics by method, and how the split and the fusion were made."""

    table: pl.DataFrame  # method, ndcg@10, recall@100
    fusion: Fusion
    n_train: int
    n_test: int
    split_from_data: bool
    # each method's ranked lists of the test queries (method -> query id -> candidates),
    # best first, as judged: what `--runs` writes as TREC run files
    runs: Mapping[str, Mapping[str, Candidates]] = field(default_factory=dict)
    # the learned second stage's fit (queries, rows, best round, valid NDCG@10), when run
    second_stage: Mapping[str, object] | None = None
    # the cross-encoder's blend chosen on the valid queries, when one was given
    cross_encoder: Mapping[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "second_stage": dict(self.second_stage) if self.second_stage else None,
            "cross_encoder": dict(self.cross_encoder) if self.cross_encoder else None,
            "metrics": self.table.to_dicts(),
            "fusion": {"kind": type(self.fusion).__name__, "lexical_weight": self.fusion.weight},
            "n_train_queries": self.n_train,
            "n_test_queries": self.n_test,
            "split": "from the data" if self.split_from_data else "by query, seeded",
            "note": "full-catalog retrieval; unjudged items count as irrelevant",
        }


def evaluate_search(
    dataset: Dataset,
    encoder: TextEncoder,
    cache: Path,
    *,
    seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
    spelling: bool = True,
    abbreviations: bool = True,
    char_ngrams: bool = False,
    second_stage: bool = True,
    second_stage_out: Path | None = None,
    cross_encoder: Path | None = None,
) -> SearchEvaluation:
    """Fit on the train queries (the fusion weight; with `second_stage`, the learned
    re-ranker, early-stopped on the valid queries, saved to `second_stage_out` when
    given), judge on the test queries. With `spelling`, BM25 (alone and in the hybrid)
    searches the spell-corrected queries (abbreviations expanded with `abbreviations`);
    with `char_ngrams`, character n-grams alone and as a third list of the hybrid (its
    share tuned on train) are added. With
    `cross_encoder` (a folder `train_reranker` saved), it re-orders the second stage's top
    items, its depth and blend weight chosen on the valid queries."""
    if dataset.judgments is None or dataset.queries is None:
        raise ValueError("judging search needs the queries and judgments tables")
    if cross_encoder is not None and not second_stage:
        raise ValueError(
            "the cross-encoder re-orders the second stage's top items: drop --no-second-stage"
        )
    if char_ngrams and second_stage and second_stage_out is not None:
        raise ValueError(
            "a second stage trained with --char-ngrams reads the char n-gram run, which "
            "`search` and the service do not serve: save one trained without --char-ngrams"
        )
    judgments, given = split_unless_given(dataset.judgments, seed=seed)
    frame = judgments.frame
    texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
    train_ids = sorted(
        frame.filter(pl.col("split") == Split.TRAIN.value)["query_id"].unique().to_list()
    )
    test_ids = sorted(
        frame.filter(pl.col("split") == Split.TEST.value)["query_id"].unique().to_list()
    )
    if not train_ids or not test_ids:
        raise ValueError(f"need train and test queries, got {len(train_ids)} and {len(test_ids)}")
    search = build_search(
        dataset,
        encoder,
        cache,
        spelling=spelling,
        abbreviations=abbreviations,
        on_progress=on_progress,
    )

    def runs(ids: list[str]) -> tuple[dict[str, Candidates], dict[str, Candidates]]:
        lexical = {q: search.lexical.search(search.lexical_query(texts[q]), k=DEPTH) for q in ids}
        vectors = encoder.encode_queries([texts[q] for q in ids])
        dense = dict(zip(ids, search.dense.search_many(vectors, k=DEPTH), strict=True))
        return lexical, dense

    train_lexical, train_dense = runs(train_ids)
    train_judgments = Judgments(frame.filter(pl.col("split") == Split.TRAIN.value))
    tuning = tune_fusion_weight(train_lexical, train_dense, train_judgments, fusion=ScoreFusion())
    test_lexical, test_dense = runs(test_ids)
    test_judgments = Judgments(frame.filter(pl.col("split") == Split.TEST.value))
    hybrid = {q: tuning.fusion.fuse(test_lexical[q], test_dense[q]) for q in test_ids}
    rows = []
    methods = {"BM25": test_lexical, "dense": test_dense, "hybrid": hybrid}
    if char_ngrams:
        methods.update(
            _char_ngram_runs(
                dataset,
                texts,
                train_ids,
                test_ids,
                tuning.fusion.weight,
                (train_lexical, train_dense, train_judgments),
                (test_lexical, test_dense),
            )
        )
    fitted = None
    if second_stage:
        vectors = encode_items_cached(encoder, item_text(dataset.items), cache)
        # with --char-ngrams their top 300 join the union too (and their scores are features)
        more = {"char": CharNgramIndex.build(dataset.items)} if char_ngrams else {}
        fitted = fit_second_stage(
            dataset.items, vectors, encoder, search, tuning.fusion, frame, texts,
            more=more, seed=seed,
        )  # fmt: skip
        methods["hybrid + LTR"] = fitted.rerank(encoder, {q: texts[q] for q in test_ids})
        if second_stage_out is not None:
            fitted.stage.save(second_stage_out)
    chosen = None
    if fitted is not None and cross_encoder is not None:
        model = CrossEncoder.load(cross_encoder)
        run, chosen = _cross_encoder_run(
            model, fitted, encoder, dataset, texts, frame, methods["hybrid + LTR"]
        )
        methods["hybrid + LTR + cross-encoder"] = run
    for method, run in methods.items():
        rows.append(
            {"method": method, **{m: evaluate_runs(run, test_judgments, metric=m) for m in METRICS}}
        )
    table = pl.DataFrame(rows).with_columns(pl.col(m).cast(pl.Float64) for m in METRICS)
    return SearchEvaluation(
        table, tuning.fusion, len(train_ids), len(test_ids), given, runs=methods,
        second_stage=None if fitted is None else {
            **fitted.report.to_dict(), "valid_queries": fitted.valid_source,
        },
        cross_encoder=chosen,
    )  # fmt: skip


RERANK_SCORED_DEPTH = 50  # the deepest blend `choose_blend` tries by default


def _cross_encoder_run(
    model: CrossEncoder,
    fitted: FittedSecondStage,
    encoder: TextEncoder,
    dataset: Dataset,
    texts: Mapping[str, str],
    frame: pl.DataFrame,
    test_lists: Mapping[str, Candidates],
) -> tuple[dict[str, Candidates], dict[str, object]]:
    """The test lists re-ordered by the cross-encoder with the blend the valid queries
    (the second stage's) choose, and that choice."""
    items = dict(zip(dataset.items.item_ids.to_list(), item_text(dataset.items), strict=True))
    valid_ids = list(fitted.valid_ids)
    if not valid_ids:
        raise ValueError("no valid queries to choose the cross-encoder's blend on")
    valid_lists = fitted.rerank(encoder, {q: texts[q] for q in valid_ids})
    valid = Judgments(frame.filter(pl.col("query_id").is_in(valid_ids)))

    def logits(lists: Mapping[str, Candidates], depth: int) -> dict[str, NDArray[np.float64]]:
        return {
            q: model.score(texts[q], [items[i] for i in found.item_ids[:depth]])
            for q, found in lists.items()
        }

    choice = choose_blend(
        valid_lists,
        logits(valid_lists, RERANK_SCORED_DEPTH),
        lambda runs: evaluate_runs(runs, valid, metric="ndcg@10"),
    )
    scored = logits(test_lists, choice.blend.depth)
    run = {q: blend_rerank(found, scored[q], choice.blend) for q, found in test_lists.items()}
    return run, {
        "model": model.name,
        "depth": choice.blend.depth,
        "weight": choice.blend.weight,
        "valid_ndcg@10": choice.valid_ndcg,
        "valid_ndcg@10_second_stage": choice.list_alone,
        "n_valid_queries": len(valid_ids),
    }


def _char_ngram_runs(
    dataset: Dataset,
    texts: Mapping[str, str],
    train_ids: list[str],
    test_ids: list[str],
    weight: float,
    train: tuple[Mapping[str, Candidates], Mapping[str, Candidates], Judgments],
    test: tuple[Mapping[str, Candidates], Mapping[str, Candidates]],
) -> dict[str, dict[str, Candidates]]:
    """Character n-grams alone and fused with the hybrid's lists (share tuned on train)."""
    char = CharNgramIndex.build(dataset.items)
    train_char = {q: char.search(texts[q], k=DEPTH) for q in train_ids}
    share, _ = tune_char_share(train[0], train[1], train_char, train[2], weight=weight)
    test_char = {q: char.search(texts[q], k=DEPTH) for q in test_ids}
    fused = {
        q: fuse_with_char(test[0][q], test[1][q], test_char[q], weight=weight, share=share)
        for q in test_ids
    }
    return {"char n-grams": test_char, "hybrid + char n-grams": fused}


@dataclass(frozen=True)
class FinetuneOutcome:
    """A fine-tuned encoder and the held-out check: dense full-catalog NDCG@10 on the
    valid queries with the base model and with the new one."""

    folder: Path
    n_pairs: int
    valid_before: float
    valid_after: float
    # where the valid queries came from: "from the data", "split by query, seeded", or
    # "carved from train" (data whose split holds none: a seeded share of train queries)
    valid_source: str = "from the data"
    n_valid_queries: int = 0
    valid_share: float | None = None  # the carved share, when carved
    training: dict[str, object] | None = None  # config, steps, hard negatives mined
    carved_query_ids: tuple[str, ...] = ()

    @property
    def helped(self) -> bool:
        return self.valid_after > self.valid_before

    @property
    def carved(self) -> bool:
        return self.valid_source == "carved from train"

    def to_dict(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "n_pairs": self.n_pairs,
            "valid_ndcg@10_before": self.valid_before,
            "valid_ndcg@10_after": self.valid_after,
            "helped": self.helped,
            "valid_queries": {
                "source": self.valid_source,
                "n": self.n_valid_queries,
                "carved_share": self.valid_share,
                "carved_query_ids": list(self.carved_query_ids),
            },
            "training": self.training or {},
        }


def finetune_encoder(
    dataset: Dataset,
    base: Path,
    out: Path,
    cache: Path,
    *,
    config: FinetuneConfig,
    min_grade: float,
    seed: int = 0,
    valid_share: float = DEFAULT_CARVED_VALID_SHARE,
    on_progress: Callable[[int], None] | None = None,
) -> FinetuneOutcome:
    """Fine-tune `base` on the train queries' (query, item) pairs graded ≥ `min_grade`
    (with hard negatives mined from BM25 and the base model when `config` asks), save it to
    `out`, and check it on the valid queries (never on test). Data whose split holds no
    valid queries gets `valid_share` of its train queries carved out as valid (seeded)."""
    from paretorec.encode import SentenceTransformerEncoder

    if dataset.judgments is None or dataset.queries is None:
        raise ValueError("fine-tuning needs the queries and judgments tables")
    judgments, given = split_unless_given(dataset.judgments, seed=seed)
    valid_source, carved_share = ("from the data" if given else "split by query, seeded"), None
    if judgments.frame.filter(pl.col("split") == Split.VALID.value).is_empty():
        judgments, _ = carve_valid_queries(judgments, share=valid_share, seed=seed)
        valid_source, carved_share = "carved from train", valid_share
    split_dataset = Dataset(
        dataset.items, dataset.users, dataset.queries, judgments, dataset.events, dataset.name
    )
    texts = dict(zip(dataset.items.item_ids.to_list(), item_text(dataset.items), strict=True))
    pairs = pairs_from_judgments(split_dataset, texts, min_grade=min_grade, split=Split.TRAIN.value)
    if len(pairs) < 2:  # before the encoders load and the negatives are mined
        raise ValueError(
            f"only {len(pairs)} train judgment(s) graded at least {min_grade}: fine-tuning needs "
            "at least 2 (is the data graded on another scale? pass --min-grade)"
        )
    valid = judgments.frame.filter(pl.col("split") == Split.VALID.value)
    query_texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
    valid_ids = sorted(valid["query_id"].unique().to_list())

    def valid_ndcg(encoder: SentenceTransformerEncoder) -> float:
        vectors = encode_items_cached(encoder, list(texts.values()), cache)
        index = DenseIndex.build(vectors, dataset.items)
        found = index.search_many(
            encoder.encode_queries([query_texts[q] for q in valid_ids]), k=DEPTH
        )
        return evaluate_runs(
            dict(zip(valid_ids, found, strict=True)), Judgments(valid), metric="ndcg@10"
        )

    base_encoder = SentenceTransformerEncoder(base)
    before = valid_ndcg(base_encoder)
    training: dict[str, object] = {"config": config.to_dict(), "min_grade": min_grade}
    if config.mines_negatives:
        mined = _mine_negatives(pairs, dataset, judgments, texts, base_encoder, cache, config)
        pairs, training["hard_negatives"] = mined.pairs, mined.to_dict()
    run = finetune_run(base, pairs, out, config=config, on_progress=on_progress)
    training.update(run.to_dict())
    after = valid_ndcg(SentenceTransformerEncoder(out))
    outcome = FinetuneOutcome(
        out,
        len(pairs),
        before,
        after,
        valid_source,
        len(valid_ids),
        carved_share,
        training,
        tuple(valid_ids) if carved_share is not None else (),
    )
    (out / "paretorec-finetune.json").write_text(json.dumps(outcome.to_dict(), indent=2))
    return outcome


def _mine_negatives(
    pairs: list[TrainingPair],
    dataset: Dataset,
    judgments: Judgments,
    texts: dict[str, str],
    encoder: TextEncoder,
    cache: Path,
    config: FinetuneConfig,
) -> MinedNegatives:
    """Hard negatives for `pairs` from BM25 and the base model's own dense hits (train
    judgments only decide what may not be a negative)."""
    assert dataset.queries is not None
    train = Judgments(judgments.frame.filter(pl.col("split") == Split.TRAIN.value))
    lexical = dense = vectors = None
    if NegativeSource.BM25 in config.hard_negatives:
        lexical = LexicalIndex.build(dataset.items)
    if NegativeSource.DENSE in config.hard_negatives:
        items = encode_items_cached(encoder, list(texts.values()), cache)
        dense = DenseIndex.build(items, dataset.items)
        vectors = encoder.encode_queries(list(dict.fromkeys(p.query for p in pairs)))
    return mine_hard_negatives(
        pairs,
        texts,
        train,
        dataset.queries,
        config,
        lexical=lexical,
        dense=dense,
        query_vectors=vectors,
    )


@dataclass(frozen=True)
class RerankerOutcome:
    """A trained cross-encoder: its folder, the training run and which queries it saw."""

    folder: Path
    run: CrossEncoderRun
    n_train_queries: int
    valid_source: str  # where the queries it must not see came from

    def to_dict(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "training": self.run.to_dict(),
            "n_train_queries": self.n_train_queries,
            "valid_queries": self.valid_source,
        }


def train_reranker(
    dataset: Dataset,
    encoder: TextEncoder,
    cache: Path,
    out: Path,
    *,
    config: CrossEncoderConfig | None = None,
    base: Path | None = None,
    spelling: bool = True,
    seed: int = 0,
    on_progress: Callable[[int], None] | None = None,
) -> RerankerOutcome:
    """Train a cross-encoder on the train queries' judged pairs and hard negatives (the
    unjudged items of each query's fused top `config.negative_depth`, the fusion weight
    tuned on train as `evaluate_search` tunes it), saved to `out`. The split is
    `evaluate_search`'s (the data's, or by query with `seed`); data without valid queries
    gets the same queries carved out as the second stage carves (`fit_second_stage`), so
    `eval search --cross-encoder` chooses its blend on queries the model never saw."""
    if dataset.judgments is None or dataset.queries is None:
        raise ValueError("training a cross-encoder needs the queries and judgments tables")
    config = config or CrossEncoderConfig(seed=seed)
    judgments, given = split_unless_given(dataset.judgments, seed=seed)
    source = "from the data" if given else "split by query, seeded"
    if judgments.frame.filter(pl.col("split") == Split.VALID.value).is_empty():
        judgments, _ = carve_valid_queries(judgments, share=0.1, seed=seed, min_train_left=1)
        source = "carved from train"
    train = judgments.frame.filter(pl.col("split") == Split.TRAIN.value)
    train_ids = sorted(train["query_id"].unique().to_list())
    if not train_ids:
        raise ValueError("no train queries to learn from")
    texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
    search = build_search(dataset, encoder, cache, spelling=spelling)
    lexical = {q: search.lexical.search(search.lexical_query(texts[q]), k=DEPTH) for q in train_ids}
    found = search.dense.search_many(encoder.encode_queries([texts[q] for q in train_ids]), k=DEPTH)
    dense = dict(zip(train_ids, found, strict=True))
    fusion = tune_fusion_weight(lexical, dense, Judgments(train), fusion=ScoreFusion()).fusion
    candidates = {
        q: fusion.fuse(lexical[q], dense[q], k=config.negative_depth).item_ids for q in train_ids
    }
    judged: dict[str, dict[str, float]] = {}
    for query_id, item_id, grade in train.select("query_id", "item_id", "grade").iter_rows():
        judged.setdefault(str(query_id), {})[str(item_id)] = float(grade)
    items = dict(zip(dataset.items.item_ids.to_list(), item_text(dataset.items), strict=True))
    pairs = graded_pairs(
        judged,
        candidates,
        texts,
        items,
        negatives_per_query=config.negatives_per_query,
        seed=config.seed,
    )
    run = train_cross_encoder(pairs, out, base=base, config=config, on_progress=on_progress)
    return RerankerOutcome(out, run, len(train_ids), source)
