"""Search quality and speed on the real Home Depot queries: BM25, zero-shot dense, hybrid,
and the encoder fine-tuned on the training queries, in one run.

Queries are split 80/10/10 by query (`split_judgments`, seed 0): fusion weights are tuned
and the encoder fine-tuned on train only, the fine-tuning checked on valid, and every
figure reported on test. Two views:
  - re-ranking: each test query's judged products ordered by each method, NDCG@10 with the
    graded relevance (gain 2^g - 1);
  - full catalog: each method's top 100 of all 54,667 products, Recall@100 and NDCG@10,
    counting unjudged products as irrelevant (so these are lower bounds).
Every comparison carries a paired bootstrap interval over the test queries (each query
scored by both methods; `paretorec.evaluate.paired`): each method against BM25, and each
pair the text claims (fine-tuned against zero-shot, hybrid against dense), with a
"significant at 95%" column. The fine-tuned model's item vectors are encoded into a cache
folder emptied at the start of every run, so they can never be stale vectors of an earlier
fine-tuning saved to the same folder.
Speed: encoding throughput and single-query latency of plain sentence-transformers against
the ONNX int8 path, on the same titles and queries (`--no-speed` keeps the stored speed
rows of search.json and says so, for a run on a machine shared with others' jobs).

Typo- and unit-robust first stage (#18): BM25 on queries spell-corrected towards the
catalog's own words (`paretorec.retrieve.spelling`), character n-gram TF-IDF as a retriever
of its own (`paretorec.retrieve.fuzzy`), each alone and fused with the hybrid (the n-grams
as a third list in the score fusion). The corrector's reach and the n-gram lengths are
chosen on the valid queries, as is the n-grams' share of the fusion; the hybrid's lexical
weight is tuned on train as for the other hybrids. Median latency of each stage per query
on the test queries. `--reuse-finetuned` takes the fine-tuned model of the previous run
(benchmarks/.work/search/finetuned, its vectors from the fingerprint-keyed cache) instead
of fine-tuning again, and says so.

    .venv/bin/python benchmarks/bench_search.py [--finetune-steps 600] [--no-speed] [--reuse-finetuned]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import torch

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.splits import split_judgments
from paretorec.encode import (
    OnnxEncoder,
    SentenceTransformerEncoder,
    TextEncoder,
    bundled_model_path,
    encode_items_cached,
    export_onnx,
    item_text,
)
from paretorec.encode.finetune import FinetuneConfig, finetune, pairs_from_judgments
from paretorec.evaluate.paired import paired_bootstrap
from paretorec.retrieve import (
    Candidates,
    DenseIndex,
    LexicalIndex,
    ReciprocalRankFusion,
    ScoreFusion,
    evaluate_runs,
    tune_fusion_weight,
)
from paretorec.retrieve.fusion import score_fusion
from paretorec.retrieve.fuzzy import CharNgramIndex, NgramParams
from paretorec.retrieve.lexical import item_texts
from paretorec.retrieve.spelling import SpellCorrector, SpellingParams
from paretorec.retrieve.tuning import per_query_scores
from paretorec.types import Dataset, Judgments

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "search"
RESULTS = HERE / "results"
DEPTH = 100
MIN_GRADE_FOR_TRAINING = 2.5  # mean of three raters on 1..3: "mostly relevant"
METRICS = ("rerank ndcg@10", "full ndcg@10", "full recall@100")
BASELINE = "BM25"
N_BOOTSTRAP = 2000
# Pairs the section's text claims, beyond each method against BM25: (a, b), a > b?
CLAIMS = (
    ("hybrid score fusion (zero-shot)", "dense (zero-shot)"),
    ("dense (fine-tuned)", "dense (zero-shot)"),
    ("hybrid score fusion (fine-tuned)", "hybrid score fusion (zero-shot)"),
    ("hybrid score fusion (fine-tuned)", "hybrid RRF (fine-tuned)"),
    ("BM25 + spelling", "BM25"),
    ("hybrid score fusion + spelling (zero-shot)", "hybrid score fusion (zero-shot)"),
    ("hybrid + char n-grams (zero-shot)", "hybrid score fusion (zero-shot)"),
    ("hybrid + spelling + char n-grams (zero-shot)", "hybrid score fusion (zero-shot)"),
    ("hybrid + spelling + char n-grams (zero-shot)", "hybrid score fusion + spelling (zero-shot)"),
    ("hybrid score fusion + spelling (fine-tuned)", "hybrid score fusion (fine-tuned)"),
    ("hybrid + spelling + char n-grams (fine-tuned)", "hybrid score fusion (fine-tuned)"),
)
# Chosen on the valid queries (full-catalog NDCG@10): the corrector's reach, the n-gram
# lengths, and the n-grams' share of the three-way score fusion.
SPELLING_GRID = (
    SpellingParams(),
    SpellingParams(max_distance=1),
    SpellingParams(long_word=6),
    SpellingParams(min_length=5),
    SpellingParams(min_count=2),
)
NGRAM_GRID = (NgramParams(3, 3), NgramParams(2, 4))
CHAR_SHARES = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def progress(total: int, what: str) -> Callable[[int], None]:
    done = [0]
    step = max(total // 10, 1)

    def advance(n: int) -> None:
        before = done[0]
        done[0] += n
        if done[0] // step != before // step or done[0] == total:
            log(f"  {what}: {done[0]:,}/{total:,}")

    return advance


def judged_run(item_ids: Sequence[str], positions: Sequence[int], scores: np.ndarray) -> Candidates:
    """A query's judged products ordered by `scores` (ties by catalog row), as Candidates."""
    pos = np.asarray(positions, dtype=np.int64)
    order = np.lexsort((pos, -scores))
    return Candidates(
        tuple(item_ids[i] for i in order), pos[order], scores[order].astype(np.float64)
    )


class Queries:
    """Texts, vectors and judged products of one split's queries."""

    def __init__(self, dataset: Dataset, judgments: pl.DataFrame, split: str) -> None:
        mine = judgments.filter(pl.col("split") == split)
        assert dataset.queries is not None
        texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
        self.judgments = Judgments(mine)
        self.ids: list[str] = sorted(mine["query_id"].unique().to_list())
        self.texts = [texts[q] for q in self.ids]
        grouped = mine.group_by("query_id").agg("item_id")
        self.judged: dict[str, list[str]] = dict(grouped.iter_rows())

    def head(self, n: int) -> Queries:
        """The first `n` queries only (a smoke run)."""
        out = copy.copy(self)
        out.ids, out.texts = self.ids[:n], self.texts[:n]
        out.judgments = Judgments(self.judgments.frame.filter(pl.col("query_id").is_in(out.ids)))
        return out


def full_catalog_runs(
    lexical: LexicalIndex, dense: DenseIndex, queries: Queries, vectors: np.ndarray
) -> tuple[dict[str, Candidates], dict[str, Candidates]]:
    lex = {q: lexical.search(t, k=DEPTH) for q, t in zip(queries.ids, queries.texts, strict=True)}
    found = dense.search_many(vectors, k=DEPTH)
    return lex, dict(zip(queries.ids, found, strict=True))


def rerank_runs(
    lexical: LexicalIndex,
    item_vectors: np.ndarray,
    row_of: Mapping[str, int],
    queries: Queries,
    query_vectors: np.ndarray,
) -> tuple[dict[str, Candidates], dict[str, Candidates]]:
    """Each query's judged products scored by BM25 (0 when it matches no word) and cosine."""
    n_items = len(row_of)
    lex_runs, dense_runs = {}, {}
    for i, (qid, text) in enumerate(zip(queries.ids, queries.texts, strict=True)):
        judged = queries.judged[qid]
        rows = [row_of[item] for item in judged]
        bm25 = lexical.search(text, k=n_items)
        bm25_score = dict(zip(bm25.item_ids, bm25.scores, strict=True))
        lex_runs[qid] = judged_run(
            judged, rows, np.array([bm25_score.get(item, 0.0) for item in judged])
        )
        dense_runs[qid] = judged_run(judged, rows, item_vectors[rows] @ query_vectors[i])
    return lex_runs, dense_runs


def fused(
    fusion: ScoreFusion | ReciprocalRankFusion,
    lex: Mapping[str, Candidates],
    dense: Mapping[str, Candidates],
) -> dict[str, Candidates]:
    return {q: fusion.fuse(lex[q], dense[q]) for q in lex}


def lexical_runs(
    lexical: LexicalIndex, ids: Sequence[str], texts: Sequence[str]
) -> dict[str, Candidates]:
    return {q: lexical.search(t, k=DEPTH) for q, t in zip(ids, texts, strict=True)}


def char_runs(char: CharNgramIndex, queries: Queries) -> dict[str, Candidates]:
    return {q: char.search(t, k=DEPTH) for q, t in zip(queries.ids, queries.texts, strict=True)}


def rerank_lexical(
    lexical: LexicalIndex, row_of: Mapping[str, int], queries: Queries, texts: Sequence[str]
) -> dict[str, Candidates]:
    """Each query's judged products scored by BM25 of `texts` (0 when no word matches)."""
    out = {}
    for qid, text in zip(queries.ids, texts, strict=True):
        judged = queries.judged[qid]
        bm25 = lexical.search(text, k=len(row_of))
        score = dict(zip(bm25.item_ids, bm25.scores, strict=True))
        out[qid] = judged_run(
            judged, [row_of[i] for i in judged], np.array([score.get(i, 0.0) for i in judged])
        )
    return out


def rerank_char(
    char: CharNgramIndex, row_of: Mapping[str, int], queries: Queries
) -> dict[str, Candidates]:
    out = {}
    for qid, text in zip(queries.ids, queries.texts, strict=True):
        judged = queries.judged[qid]
        rows = [row_of[i] for i in judged]
        out[qid] = judged_run(judged, rows, char.scores(text)[rows])
    return out


def fused3(
    weight: float,
    share: float,
    lex: Mapping[str, Candidates],
    dense: Mapping[str, Candidates],
    char: Mapping[str, Candidates],
) -> dict[str, Candidates]:
    """Min-max score fusion of three lists: the n-grams take `share`, lexical and dense
    split the rest as the hybrid's lexical `weight` says."""
    weights = {"lexical": (1 - share) * weight, "dense": (1 - share) * (1 - weight), "char": share}
    return {
        q: score_fusion({"lexical": lex[q], "dense": dense[q], "char": char[q]}, weights=weights)
        for q in lex
    }


@dataclass
class Fuzzy:
    """The spell corrector and the n-gram index chosen on the valid queries, each query's
    corrected text, and what the choices saw."""

    speller: SpellCorrector
    char: CharNgramIndex
    corrected: dict[str, str]  # query text -> corrected text
    spelling_valid: dict[str, float]  # params -> valid BM25 + spelling NDCG@10
    ngram_valid: dict[str, float]  # n-gram lengths -> valid n-gram NDCG@10
    char_shares: dict[str, dict[float, float]]  # row -> share -> valid NDCG@10
    build_seconds: dict[str, float]

    def fix(self, queries: Queries) -> list[str]:
        return [self.corrected[t] for t in queries.texts]


def spelling_label(params: SpellingParams) -> str:
    return (
        f"≤{params.max_distance} edits (from {params.long_word} letters; 1 below), "
        f"words of ≥{params.min_length} letters, targets seen ≥{params.min_count}×"
    )


def choose_fuzzy(
    dataset: Dataset, lexical: LexicalIndex, valid: Queries, every: Sequence[Queries]
) -> Fuzzy:
    """The spelling params and n-gram lengths with the best valid NDCG@10 (first on ties)."""
    texts = item_texts(dataset.items)
    spelling_valid: dict[str, float] = {}
    best_params, best_value = SPELLING_GRID[0], -1.0
    for params in SPELLING_GRID:
        speller = SpellCorrector.build(texts, params)
        fixed = [speller.correct(t).text for t in valid.texts]
        value = evaluate_runs(lexical_runs(lexical, valid.ids, fixed), valid.judgments)
        spelling_valid[spelling_label(params)] = value
        if value > best_value:
            best_params, best_value = params, value
        log(f"  spelling {params.to_dict()}: valid BM25 NDCG@10 {value:.4f}")
    start = time.perf_counter()
    speller = SpellCorrector.build(texts, best_params)
    spelling_seconds = time.perf_counter() - start
    ngram_valid: dict[str, float] = {}
    best_char: CharNgramIndex | None = None
    best_value, char_seconds = -1.0, 0.0
    for ngrams in NGRAM_GRID:
        start = time.perf_counter()
        char = CharNgramIndex.build(dataset.items, params=ngrams)
        seconds = time.perf_counter() - start
        value = evaluate_runs(char_runs(char, valid), valid.judgments)
        ngram_valid[f"{ngrams.n_min}-{ngrams.n_max}"] = value
        log(f"  char n-grams {ngrams}: valid NDCG@10 {value:.4f} (built in {seconds:.1f} s)")
        if value > best_value:
            best_char, best_value, char_seconds = char, value, seconds
    assert best_char is not None
    corrected = {t: speller.correct(t).text for queries in every for t in queries.texts}
    return Fuzzy(
        speller,
        best_char,
        corrected,
        spelling_valid,
        ngram_valid,
        {},
        {"spelling": spelling_seconds, "char n-grams": char_seconds},
    )


def choose_share(
    weight: float,
    lex: Mapping[str, Candidates],
    dense: Mapping[str, Candidates],
    char: Mapping[str, Candidates],
    judgments: Judgments,
) -> tuple[float, dict[float, float]]:
    values = {
        share: evaluate_runs(fused3(weight, share, lex, dense, char), judgments)
        for share in CHAR_SHARES
    }
    return max(values, key=lambda w: (values[w], -CHAR_SHARES.index(w))), values


def quality(
    name: str,
    encoder: TextEncoder,
    dataset: Dataset,
    lexical: LexicalIndex,
    train: Queries,
    test: Queries,
    row_of: Mapping[str, int],
    cache: Path,
    per_query: dict[str, dict[str, dict[str, float]]],
    valid: Queries,
    fuzzy: Fuzzy,
) -> tuple[list[dict[str, object]], dict[str, object]]:
    """Rows of the quality table for one encoder (BM25 rows only with the first); each
    row's per-query values go to `per_query[method][metric]`."""
    texts = item_text(dataset.items)
    log(f"encoding {len(texts):,} items with {encoder.name}")
    vectors = encode_items_cached(encoder, texts, cache, on_progress=progress(len(texts), "items"))
    dense = DenseIndex.build(vectors, dataset.items, method="exact")
    train_vectors = encoder.encode_queries(train.texts)
    test_vectors = encoder.encode_queries(test.texts)
    log("full-catalog runs")
    lex_train, dense_train = full_catalog_runs(lexical, dense, train, train_vectors)
    lex_test, dense_test = full_catalog_runs(lexical, dense, test, test_vectors)
    score_tuning = tune_fusion_weight(lex_train, dense_train, train.judgments, fusion=ScoreFusion())
    rrf_tuning = tune_fusion_weight(
        lex_train, dense_train, train.judgments, fusion=ReciprocalRankFusion()
    )
    log("re-ranking runs")
    rr_lex_train, rr_dense_train = rerank_runs(lexical, vectors, row_of, train, train_vectors)
    rr_lex_test, rr_dense_test = rerank_runs(lexical, vectors, row_of, test, test_vectors)
    rr_tuning = tune_fusion_weight(
        rr_lex_train, rr_dense_train, train.judgments, fusion=ScoreFusion()
    )

    def row(
        method: str,
        full: Mapping[str, Candidates],
        rerank: Mapping[str, Candidates],
        weight: float | None,
    ) -> dict[str, object]:
        per_query[method] = {
            "rerank ndcg@10": per_query_scores(rerank, test.judgments, metric="ndcg@10"),
            "full ndcg@10": per_query_scores(full, test.judgments, metric="ndcg@10"),
            "full recall@100": per_query_scores(full, test.judgments, metric="recall@100"),
        }
        means = {m: float(np.mean(list(v.values()))) for m, v in per_query[method].items()}
        return {"method": method, **means, "lexical weight": weight}

    rows = []
    if name == "zero-shot":
        rows.append(row("BM25", lex_test, rr_lex_test, None))
    rows.append(row(f"dense ({name})", dense_test, rr_dense_test, None))
    rows.append(
        row(
            f"hybrid score fusion ({name})",
            fused(score_tuning.fusion, lex_test, dense_test),
            fused(rr_tuning.fusion, rr_lex_test, rr_dense_test),
            score_tuning.weight,
        )
    )
    rrf = fused(rrf_tuning.fusion, lex_test, dense_test)
    rows.append(
        row(
            f"hybrid RRF ({name})",
            rrf,
            fused(rrf_tuning.fusion, rr_lex_test, rr_dense_test),
            rrf_tuning.weight,
        )
    )
    extra: dict[str, object] = {
        "score_fusion_weight": score_tuning.weight,
        "rrf_weight": rrf_tuning.weight,
        "rerank_weight": rr_tuning.weight,
    }

    # Typo- and unit-robust first stage (#18): spelling on BM25's side, n-grams as a
    # third list; the spelled hybrid's weight tuned on train, the n-grams' share on valid.
    log("typo-robust runs")
    valid_vectors = encoder.encode_queries(valid.texts)
    spelled_train = lexical_runs(lexical, train.ids, fuzzy.fix(train))
    spelled_valid = lexical_runs(lexical, valid.ids, fuzzy.fix(valid))
    spelled_test = lexical_runs(lexical, test.ids, fuzzy.fix(test))
    lex_valid = lexical_runs(lexical, valid.ids, valid.texts)
    dense_valid = dict(zip(valid.ids, dense.search_many(valid_vectors, k=DEPTH), strict=True))
    char_valid, char_test = char_runs(fuzzy.char, valid), char_runs(fuzzy.char, test)
    spelled_tuning = tune_fusion_weight(
        spelled_train, dense_train, train.judgments, fusion=ScoreFusion()
    )
    rr_spelled_test = rerank_lexical(lexical, row_of, test, fuzzy.fix(test))
    rr_char_test = rerank_char(fuzzy.char, row_of, test)
    if name == "zero-shot":
        rows.append(row("BM25 + spelling", spelled_test, rr_spelled_test, None))
        rows.append(row("char n-grams", char_test, rr_char_test, None))
    rows.append(
        row(
            f"hybrid score fusion + spelling ({name})",
            fused(spelled_tuning.fusion, spelled_test, dense_test),
            fused(rr_tuning.fusion, rr_spelled_test, rr_dense_test),
            spelled_tuning.weight,
        )
    )
    for label, weight, lex_v, lex_t, rr_lex in (
        ("hybrid + char n-grams", score_tuning.weight, lex_valid, lex_test, rr_lex_test),
        (
            "hybrid + spelling + char n-grams",
            spelled_tuning.weight,
            spelled_valid,
            spelled_test,
            rr_spelled_test,
        ),
    ):
        share, values = choose_share(weight, lex_v, dense_valid, char_valid, valid.judgments)
        fuzzy.char_shares[f"{label} ({name})"] = values
        log(f"  {label} ({name}): n-gram share {share} (valid NDCG@10 {values[share]:.4f})")
        rows.append(
            row(
                f"{label} ({name})",
                fused3(weight, share, lex_t, dense_test, char_test),
                fused3(rr_tuning.weight, share, rr_lex, rr_dense_test, rr_char_test),
                weight,
            )
        )
        extra[f"{label} char share"] = share
    extra["spelled_score_fusion_weight"] = spelled_tuning.weight
    return rows, extra


def speed(titles: list[str], queries: list[str], onnx_folder: Path) -> list[dict[str, object]]:
    """Items/s over `titles` and single-query latency over `queries`, both paths in turn."""
    paths: dict[str, TextEncoder] = {
        "sentence-transformers fp32": SentenceTransformerEncoder(),
        "ONNX int8": OnnxEncoder(onnx_folder, precision="int8", num_threads=2),
    }
    rows = []
    for name, encoder in paths.items():
        encoder.encode_items(titles[:64])  # warm up
        start = time.perf_counter()
        encoder.encode_items(titles)
        rate = len(titles) / (time.perf_counter() - start)
        latencies = []
        for text in queries:
            start = time.perf_counter()
            encoder.encode_queries([text])
            latencies.append((time.perf_counter() - start) * 1000)
        p50, p99 = np.percentile(latencies, [50, 99])
        rows.append({"path": name, "items/s": rate, "query p50 ms": p50, "query p99 ms": p99})
        log(f"{name}: {rate:.0f} items/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return rows


def stage_latency(
    lexical: LexicalIndex,
    dense: DenseIndex,
    fuzzy: Fuzzy,
    queries: Sequence[str],
    vectors: np.ndarray,
    weight: float,
) -> list[dict[str, object]]:
    """Median and p99 milliseconds of each first-stage step, one query at a time (k=100)."""
    fusion = ScoreFusion(weight=weight)
    fixed = [fuzzy.corrected.get(q) or fuzzy.speller.correct(q).text for q in queries]
    lex = [lexical.search(q, k=DEPTH) for q in fixed]
    found = [dense.search(v, k=DEPTH) for v in vectors]
    char = [fuzzy.char.search(q, k=DEPTH) for q in queries]
    weights = {"lexical": 0.8 * weight, "dense": 0.8 * (1 - weight), "char": 0.2}
    steps: dict[str, Callable[[int], object]] = {
        "spelling correction": lambda i: fuzzy.speller.correct(queries[i]),
        "BM25": lambda i: lexical.search(queries[i], k=DEPTH),
        "BM25 on the corrected query": lambda i: lexical.search(fixed[i], k=DEPTH),
        "char n-grams": lambda i: fuzzy.char.search(queries[i], k=DEPTH),
        "dense search (exact, vector given)": lambda i: dense.search(vectors[i], k=DEPTH),
        "score fusion, 2 lists": lambda i: fusion.fuse(lex[i], found[i]),
        "score fusion, 3 lists": lambda i: score_fusion(
            {"lexical": lex[i], "dense": found[i], "char": char[i]}, weights=weights
        ),
    }
    rows = []
    for name, step in steps.items():
        for i in range(min(10, len(queries))):
            step(i)  # warm up
        times = []
        for i in range(len(queries)):
            start = time.perf_counter()
            step(i)
            times.append((time.perf_counter() - start) * 1000)
        p50, p99 = np.percentile(times, [50, 99])
        rows.append({"stage": name, "median ms": float(p50), "p99 ms": float(p99)})
        log(f"  {name}: median {p50:.3f} ms, p99 {p99:.3f} ms")
    return rows


def compare(
    per_query: Mapping[str, Mapping[str, Mapping[str, float]]], a: str, b: str, metric: str
) -> dict[str, object]:
    """a against b on `metric`, paired over the test queries both scored."""
    mine, theirs = per_query[a][metric], per_query[b][metric]
    if list(mine) != list(theirs):
        raise ValueError(f"{a} and {b} scored different queries on {metric}")
    found = paired_bootstrap(
        list(mine.values()), list(theirs.values()), n_bootstrap=N_BOOTSTRAP, seed=0
    )
    return {"a": a, "b": b, "metric": metric, **found.as_dict(), "text": found.interval_text()}


def with_intervals(
    rows: list[dict[str, object]], comparisons: Mapping[tuple[str, str, str], dict[str, object]]
) -> list[dict[str, object]]:
    """Quality rows with each metric's difference to BM25 (interval) and its significance."""
    out = []
    for r in rows:
        cells: dict[str, object] = {"method": r["method"]}
        for metric in METRICS:
            cells[metric] = r[metric]
            if r["method"] == BASELINE:
                cells[f"Δ {metric} vs BM25 [95% CI]"] = "(baseline)"
                cells["sig."] = ""
            else:
                c = comparisons[(str(r["method"]), BASELINE, metric)]
                cells[f"Δ {metric} vs BM25 [95% CI]"] = c["text"]
                cells[f"sig. {metric}"] = "yes" if c["significant"] else "no"
        cells["lexical weight"] = r["lexical weight"]
        out.append(cells)
    # the baseline row has one "sig." key: give it the same columns as the others
    columns = list(out[-1]) if len(out) > 1 else list(out[0])
    return [{c: row.get(c, "") for c in columns} for row in out]


def markdown(rows: Sequence[Mapping[str, object]]) -> list[str]:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    for r in rows:
        cells = [
            f"{v:.4f}"
            if isinstance(v, float) and v < 10
            else f"{v:,.1f}"
            if isinstance(v, float)
            else ""
            if v is None
            else str(v)
            for v in r.values()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--finetune-steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--speed-titles", type=int, default=2000)
    parser.add_argument("--speed-queries", type=int, default=300)
    parser.add_argument(
        "--no-speed",
        dest="speed",
        action="store_false",
        help="keep the stored speed rows of results/search.json (say so) instead of timing",
    )
    parser.add_argument(
        "--reuse-finetuned",
        action="store_true",
        help="take the previous run's fine-tuned model (WORK/finetuned) instead of fine-tuning",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=0,
        help="smoke run: the first N queries of each split, results to .work/search/smoke",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(2)
    started = time.perf_counter()

    dataset = load_builtin(BuiltinDataset.HOMEDEPOT)
    assert dataset.judgments is not None
    judgments = split_judgments(dataset.judgments, seed=0).frame
    dataset = Dataset(
        dataset.items, dataset.users, dataset.queries, Judgments(judgments), name=dataset.name
    )
    train, valid, test = (Queries(dataset, judgments, s) for s in ("train", "valid", "test"))
    if args.limit:
        train, valid, test = train.head(args.limit), valid.head(args.limit), test.head(args.limit)
    out = WORK / "smoke" if args.limit else RESULTS
    log(f"queries: train {len(train.ids):,}, valid {len(valid.ids):,}, test {len(test.ids):,}")
    row_of = {item: i for i, item in enumerate(dataset.items.item_ids.to_list())}
    start = time.perf_counter()
    lexical = LexicalIndex.build(dataset.items)
    bm25_build = time.perf_counter() - start

    # The fine-tuned model's vectors go to a cache emptied now: a model saved again to the
    # same folder must never meet the vectors of an earlier fine-tuning.
    # (--reuse-finetuned keeps both: the cache is keyed by the weights' content.)
    fresh_cache = WORK / "cache-finetuned"
    reuse = args.reuse_finetuned and (WORK / "finetuned" / "model.safetensors").is_file()
    if not reuse:
        shutil.rmtree(fresh_cache, ignore_errors=True)
    log("choosing the spell corrector and the n-gram lengths on the valid queries")
    fuzzy = choose_fuzzy(dataset, lexical, valid, (train, valid, test))
    per_query: dict[str, dict[str, dict[str, float]]] = {}
    rows, extras = quality(
        "zero-shot",
        SentenceTransformerEncoder(),
        dataset,
        lexical,
        train,
        test,
        row_of,
        WORK / "cache",
        per_query,
        valid,
        fuzzy,
    )
    finetune_info: dict[str, object] = {"steps": 0}
    if args.finetune_steps > 0:
        texts = dict(zip(dataset.items.item_ids.to_list(), item_text(dataset.items), strict=True))
        pairs = pairs_from_judgments(
            dataset, texts, min_grade=MIN_GRADE_FOR_TRAINING, split="train"
        )
        config = FinetuneConfig(batch_size=args.batch_size, max_steps=args.finetune_steps, seed=0)
        log(
            f"fine-tuning on {len(pairs):,} train pairs, {args.finetune_steps} steps of {args.batch_size}"
        )
        start = time.perf_counter()
        if reuse:
            folder = WORK / "finetuned"
            stored = json.loads((RESULTS / "search.json").read_text())["finetune"]
            seconds = float(stored["seconds"])
            log(f"reusing the fine-tuned model in {folder} (trained in {seconds:.0f} s)")
        else:
            folder = finetune(
                bundled_model_path(),
                pairs,
                WORK / "finetuned",
                config=config,
                on_progress=progress(args.finetune_steps, "steps"),
            )
            seconds = time.perf_counter() - start
        tuned = SentenceTransformerEncoder(folder)
        # Held-out check on valid queries: dense full-catalog NDCG@10, before and after.
        base = SentenceTransformerEncoder()
        checks = {}
        for label, encoder, cache in (
            ("before", base, WORK / "cache"),
            ("after", tuned, fresh_cache),
        ):
            vectors = encode_items_cached(encoder, item_text(dataset.items), cache)
            index = DenseIndex.build(vectors, dataset.items, method="exact")
            found = index.search_many(encoder.encode_queries(valid.texts), k=DEPTH)
            checks[label] = evaluate_runs(
                dict(zip(valid.ids, found, strict=True)), valid.judgments, metric="ndcg@10"
            )
        log(
            f"valid full-catalog dense NDCG@10: before {checks['before']:.4f}, after {checks['after']:.4f}"
        )
        finetune_info = {
            "steps": args.finetune_steps,
            "batch_size": args.batch_size,
            # what bench_encoder.py matches before reusing this model as its "today"
            "min_grade": MIN_GRADE_FOR_TRAINING,
            "seed": config.seed,
            "split_seed": 0,
            "pairs": len(pairs),
            "seconds": seconds,
            "valid_full_ndcg@10": checks,
            "reused": reuse,
        }
        more, extra_ft = quality(
            "fine-tuned",
            tuned,
            dataset,
            lexical,
            train,
            test,
            row_of,
            fresh_cache,
            per_query,
            valid,
            fuzzy,
        )
        rows += more
        extras["fine-tuned"] = extra_ft

    comparisons: dict[tuple[str, str, str], dict[str, object]] = {}
    compared = [(str(r["method"]), BASELINE) for r in rows if r["method"] != BASELINE]
    compared += [(a, b) for a, b in CLAIMS if a in per_query and b in per_query]
    for a, b in compared:
        for metric in METRICS:
            comparisons[(a, b, metric)] = compare(per_query, a, b, metric)
    n_paired = len(per_query[BASELINE]["full ndcg@10"])

    rng = np.random.default_rng(0)
    query_sample = [
        test.texts[i]
        for i in rng.choice(
            len(test.texts), min(args.speed_queries, len(test.texts)), replace=False
        )
    ]
    stored_speed = RESULTS / "search.json"
    speed_note = ""
    if args.speed or not stored_speed.exists():
        log("speed")
        onnx = export_onnx(WORK / "onnx", overwrite=True)
        titles = item_text(dataset.items)
        sample = [titles[i] for i in rng.choice(len(titles), args.speed_titles, replace=False)]
        speed_rows = speed(sample, query_sample, onnx.folder)
        base_rate = float(speed_rows[0]["items/s"])  # type: ignore[arg-type]
        base_p50 = float(speed_rows[0]["query p50 ms"])  # type: ignore[arg-type]
        for r in speed_rows:
            r["throughput vs plain"] = float(r["items/s"]) / base_rate  # type: ignore[arg-type]
            r["p50 speed-up"] = base_p50 / float(r["query p50 ms"])  # type: ignore[arg-type]
    else:
        speed_rows = json.loads(stored_speed.read_text())["speed"]
        speed_note = (
            " Not re-measured in this run (`--no-speed`, the CPU was shared with other jobs): "
            "these rows are the stored ones of the previous full run."
        )

    log("latency per stage")
    zero_shot = SentenceTransformerEncoder()
    zs_index = DenseIndex.build(
        encode_items_cached(zero_shot, item_text(dataset.items), WORK / "cache"),
        dataset.items,
        method="exact",
    )
    load = os.getloadavg()[0]
    latency_rows = stage_latency(
        lexical,
        zs_index,
        fuzzy,
        query_sample,
        zero_shot.encode_queries(query_sample),
        float(extras["spelled_score_fusion_weight"]),  # type: ignore[arg-type]
    )
    best_bar = max(float(r["full ndcg@10"]) for r in rows[:2])  # type: ignore[arg-type]
    lines = [
        "## Search on Home Depot: BM25, dense, hybrid, fine-tuned",
        "",
        f"Machine: 2 CPUs, Python {platform.python_version()}, torch {torch.__version__} (2 threads). Command: `python benchmarks/bench_search.py --finetune-steps {args.finetune_steps}{'' if args.speed else ' --no-speed'}{' --reuse-finetuned' if reuse else ''}` ({(time.perf_counter() - started) / 60:.1f} min).",
        "",
        f"54,667 products (text = title), 8,226 real queries split by query 80/10/10 (seed 0): {len(train.ids):,} train, {len(valid.ids):,} valid, {len(test.ids):,} test; every figure is on the test queries. "
        "*rerank*: each test query's judged products ordered by the method, graded NDCG@10 (gain 2^g - 1, grades 1-3, so every judged product has some gain). "
        "*full*: the method's top 100 of the whole catalog; unjudged products count as irrelevant, so these are lower bounds. "
        "Fusion weights (lexical share) tuned on train queries only. Encoder: all-MiniLM-L6-v2, exact inner-product search. "
        f"BM25 index build: {bm25_build:.1f} s.",
        "",
        f"Each Δ is the method minus BM25, averaged over the {n_paired:,} test queries with a relevant judged product, with its 95% paired bootstrap interval over those queries ({N_BOOTSTRAP:,} resamples, seed 0); *sig.* says whether the interval excludes 0 (significant at 95%).",
        "",
        *markdown(with_intervals(rows, comparisons)),
        "",
        f"The bar (best of BM25 and zero-shot dense, full-catalog NDCG@10): {best_bar:.4f}.",
        "",
        "Pairs the text compares (a minus b, same test queries, 95% paired bootstrap interval):",
        "",
        *markdown(
            [
                {
                    "a": a,
                    "b": b,
                    **{
                        f"Δ {m} [95% CI]": str(comparisons[(a, b, m)]["text"])
                        + (" (sig.)" if comparisons[(a, b, m)]["significant"] else "")
                        for m in METRICS
                    },
                }
                for a, b in CLAIMS
                if (a, b, METRICS[0]) in comparisons
            ]
        ),
        "",
    ]
    if finetune_info["steps"]:
        held = finetune_info["valid_full_ndcg@10"]
        assert isinstance(held, dict)
        lines += [
            f"Fine-tuning: {finetune_info['steps']} steps of {finetune_info['batch_size']} (query, product) pairs with in-batch negatives (MultipleNegativesRankingLoss), "
            f"from {finetune_info['pairs']:,} train judgments graded ≥ {MIN_GRADE_FOR_TRAINING}; {finetune_info['seconds']:.0f} s on the CPU. "
            f"Held-out check, dense full-catalog NDCG@10 on the valid queries: {held['before']:.4f} before, {held['after']:.4f} after.",
            "",
        ]
    else:
        lines += [
            "No fine-tuned rows: this run did not fine-tune (`--finetune-steps 0`). The fine-tuned figures of earlier runs were measured with an embedding cache keyed without the weights' content, so their item vectors may have come from an earlier fine-tuning (#21); they are withdrawn until `--finetune-steps 600` re-measures them from a clean cache (about 10 minutes of fine-tuning on 2 idle cores).",
            "",
        ]
    if reuse:
        lines += [
            "The fine-tuned model is the previous run's (`--reuse-finetuned`: same script, same steps, batch and seed), its item vectors read from the embedding cache keyed by the weights' content; the fine-tuning time is that run's.",
            "",
        ]
    char_params = fuzzy.char.params
    shares = {
        label: extras.get(f"{label} char share")
        for label in ("hybrid + char n-grams", "hybrid + spelling + char n-grams")
    }
    lines += [
        "### Typo- and unit-robust first stage (#18)",
        "",
        "*BM25 + spelling*: BM25 on the query spell-corrected towards the catalog's own words (SymSpell over the 54,667 titles' vocabulary; numbers, units and model numbers never corrected; spelled-out quantities such as *half inch* become *1/2 in*); the dense side keeps the typed query. "
        "*char n-grams*: TF-IDF cosine over the character n-grams of each space-padded word, a retriever of its own. "
        "*hybrid + char n-grams*: min-max score fusion of three lists, the n-grams taking a share chosen on valid and BM25 and dense splitting the rest by the hybrid's lexical weight (tuned on train).",
        "",
        f"Chosen on the {len(valid.ids):,} valid queries (full-catalog NDCG@10): corrector *{spelling_label(fuzzy.speller.params)}* "
        f"(valid BM25 + spelling, by setting: {', '.join(f'{k}: {v:.4f}' for k, v in fuzzy.spelling_valid.items())}; plain BM25 on valid: {evaluate_runs(lexical_runs(lexical, valid.ids, valid.texts), valid.judgments):.4f}); "
        f"n-grams {char_params.n_min}-{char_params.n_max} (valid: {', '.join(f'{k}: {v:.4f}' for k, v in fuzzy.ngram_valid.items())}); "
        f"n-gram share chosen for the zero-shot rows: {shares} (valid NDCG@10 by share: "
        + "; ".join(
            f"{row_name}: " + ", ".join(f"{w}: {v:.4f}" for w, v in values.items())
            for row_name, values in fuzzy.char_shares.items()
        )
        + "). "
        f"Build: corrector {fuzzy.build_seconds['spelling']:.1f} s, n-gram index {fuzzy.build_seconds['char n-grams']:.1f} s. "
        f"The corrector changed {sum(1 for t in test.texts if fuzzy.corrected[t] != t.lower()):,} of the {len(test.ids):,} test queries.",
        "",
        f"Query latency per stage, {len(query_sample)} test queries one at a time (k = 100), median and p99 in ms. The machine was shared with other developers' jobs (1-minute load {load:.1f} on 2 cores when timed), so these are upper bounds; the query's encoding is in the speed table below.",
        "",
        *markdown(latency_rows),
        "",
    ]
    lines += [
        f"Speed: {args.speed_titles:,} sampled titles encoded in batches, {len(query_sample)} test queries encoded one at a time.{speed_note}",
        "",
        *markdown(speed_rows),
        "",
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "search.md").write_text("\n".join(lines))
    (out / "search.json").write_text(
        json.dumps(
            {
                "quality": rows,
                "comparisons": [
                    {k: v for k, v in c.items() if k != "text"} for c in comparisons.values()
                ],
                "fusion": extras,
                "finetune": finetune_info,
                "speed": speed_rows,
                "speed_remeasured": not speed_note,
                "typo_robust": {
                    "spelling_params": fuzzy.speller.params.to_dict(),
                    "spelling_valid_ndcg@10": fuzzy.spelling_valid,
                    "ngrams": [fuzzy.char.params.n_min, fuzzy.char.params.n_max],
                    "ngram_valid_ndcg@10": fuzzy.ngram_valid,
                    "char_share_valid_ndcg@10": {
                        k: {str(w): v for w, v in values.items()}
                        for k, values in fuzzy.char_shares.items()
                    },
                    "build_seconds": fuzzy.build_seconds,
                    "latency": latency_rows,
                },
            },
            indent=2,
            default=str,
        )
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
