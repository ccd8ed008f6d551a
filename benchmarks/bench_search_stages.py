"""Search stage by stage on Home Depot's full catalog: today's hybrid, and the learned
second stage (LightGBM lambdarank) re-ranking the union of the first-stage candidates.

Queries are split 80/10/10 by query (`split_judgments`, seed 0, as bench_search.py): the
fusion weight is tuned on train (today's hybrid, top 100 of each retriever fused), the
ranker trained on the train queries' judged unions and early-stopped on valid, the union
depth chosen on valid among `--depths`; the test queries are scored once, at the end.
Metrics: full-catalog NDCG@10 and Recall@100, unjudged products irrelevant (lower
bounds), each with a paired bootstrap interval against the hybrid over the test queries.
The candidate union's recall (every relevant item the union holds, at any position) is
the ceiling no re-ranking of it can pass. Item vectors come from bench_search.py's
embedding cache (all-MiniLM-L6-v2, zero-shot); query vectors are cached beside it.
Latency: median and p99 ms per query of each stage, one query at a time, on 2 threads.

    .venv/bin/python benchmarks/bench_search_stages.py [--depths 100 300] [--latency-queries 200]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl
import torch

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.splits import split_judgments
from paretorec.encode import SentenceTransformerEncoder, encode_items_cached, item_text
from paretorec.evaluate.paired import paired_bootstrap
from paretorec.retrieve import Candidates, DenseIndex, Fusion, LexicalIndex, ScoreFusion
from paretorec.retrieve.second_stage import (
    SecondStage,
    SecondStageConfig,
    TrainingReport,
    first_stage_inputs,
    train_second_stage,
)
from paretorec.retrieve.second_stage_features import ItemSide, QueryInput
from paretorec.retrieve.tuning import per_query_scores, tune_fusion_weight
from paretorec.types import Judgments

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "search"
STAGES_WORK = HERE / ".work" / "search_stages"
RESULTS = HERE / "results"
DEPTH = 100
METRICS = ("ndcg@10", "recall@100")
N_BOOTSTRAP = 2000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def counter(total: int, what: str) -> Callable[[int], None]:
    done = [0]
    step = max(total // 5, 1)

    def advance(n: int) -> None:
        before = done[0]
        done[0] += n
        if done[0] // step != before // step:
            log(f"  {what}: {done[0]:,}/{total:,}")

    return advance


def query_vectors(encoder: SentenceTransformerEncoder, texts: list[str]) -> np.ndarray:
    """The queries' vectors, cached by model and texts (encoding 8k queries is ~1 min)."""
    key = hashlib.sha256(("\n".join([encoder.name, *texts])).encode()).hexdigest()[:16]
    path = STAGES_WORK / f"queries-{key}.npy"
    if path.exists():
        return np.asarray(np.load(path), dtype=np.float32)
    vectors = encoder.encode_queries(texts).astype(np.float32)
    STAGES_WORK.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def graded(frame: pl.DataFrame) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for query_id, item_id, grade in frame.select("query_id", "item_id", "grade").iter_rows():
        out.setdefault(query_id, {})[item_id] = float(grade)
    return out


def union_recall(
    inputs: Mapping[str, QueryInput], judged: Mapping[str, Mapping[str, float]]
) -> float:
    values = []
    for q, query in inputs.items():
        relevant = {i for i, g in judged.get(q, {}).items() if g > 0}
        if not relevant:
            continue
        held = set().union(*(set(r.item_ids) for name, r in query.runs.items() if name != "hybrid"))
        values.append(len(relevant & held) / len(relevant))
    return float(np.mean(values))


def rerank_all(
    stage: SecondStage, inputs: Mapping[str, QueryInput], side: ItemSide
) -> dict[str, Candidates]:
    return {q: stage.rerank(query, side, k=DEPTH) for q, query in inputs.items()}


def markdown(rows: Sequence[Mapping[str, object]]) -> list[str]:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|---|" + "---:|" * (len(columns) - 1)]
    for r in rows:
        cells = [
            f"{v:.4f}" if isinstance(v, float) else "" if v is None else str(v) for v in r.values()
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def latency(
    ids: list[str],
    texts: Mapping[str, str],
    encoder: SentenceTransformerEncoder,
    lexical: LexicalIndex,
    dense: DenseIndex,
    fusion: Fusion,
    stage: SecondStage,
    side: ItemSide,
    depth: int,
) -> list[dict[str, object]]:
    """Per-query ms of each stage, one query at a time (the service's path)."""
    timings: dict[str, list[float]] = {
        "query encoding": [],
        f"BM25 top {depth}": [],
        f"dense top {depth} (exact)": [],
        "score fusion": [],
        "LTR features": [],
        "LTR scoring": [],
    }

    def clock(name: str, start: float) -> float:
        now = time.perf_counter()
        timings[name].append((now - start) * 1000)
        return now

    for q in ids:
        text = texts[q]
        start = time.perf_counter()
        vector = encoder.encode_queries([text])[0]
        start = clock("query encoding", start)
        lex = lexical.search(text, k=depth)
        start = clock(f"BM25 top {depth}", start)
        den = dense.search(vector, k=depth)
        start = clock(f"dense top {depth} (exact)", start)
        hyb = fusion.fuse(lex, den)
        start = clock("score fusion", start)
        found = stage.features(
            QueryInput(text, vector, {"lexical": lex, "dense": den, "hybrid": hyb}), side
        )
        start = clock("LTR features", start)
        stage.score(found)
        clock("LTR scoring", start)
    rows = []
    for name, values in timings.items():
        p50, p99 = np.percentile(values, [50, 99])
        rows.append({"stage": name, "median ms": float(p50), "p99 ms": float(p99)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--depths", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--negatives", type=int, default=200)
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument(
        "--limit", type=int, default=0, help="smoke runs: at most this many queries a split"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(2)
    started = time.perf_counter()

    dataset = load_builtin(BuiltinDataset.HOMEDEPOT)
    assert dataset.judgments is not None and dataset.queries is not None
    frame = split_judgments(dataset.judgments, seed=0).frame
    all_texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
    splits: dict[str, list[str]] = {}
    for split in ("train", "valid", "test"):
        ids = sorted(frame.filter(pl.col("split") == split)["query_id"].unique().to_list())
        splits[split] = ids[: args.limit] if args.limit else ids
    log(", ".join(f"{s} {len(v):,}" for s, v in splits.items()) + " queries")
    judged = graded(frame)
    judgments = {
        s: Judgments(frame.filter(pl.col("query_id").is_in(ids))) for s, ids in splits.items()
    }

    encoder = SentenceTransformerEncoder()
    log("item vectors (cache) and indexes")
    vectors = encode_items_cached(encoder, item_text(dataset.items), WORK / "cache")
    lexical = LexicalIndex.build(dataset.items)
    dense = DenseIndex.build(vectors, dataset.items, method="exact")
    side = ItemSide.build(dataset.items, vectors)
    every = [q for ids in splits.values() for q in ids]
    qvec = dict(zip(every, query_vectors(encoder, [all_texts[q] for q in every]), strict=True))

    def inputs(split: str, depth: int, fusion: Fusion) -> dict[str, QueryInput]:
        ids = splits[split]
        return first_stage_inputs(
            {q: all_texts[q] for q in ids},
            np.stack([qvec[q] for q in ids]),
            lexical=lexical,
            dense=dense,
            fusion=fusion,
            depth=depth,
        )

    log("today's hybrid: score fusion of the top 100 of each, weight tuned on train")
    base = {s: inputs(s, DEPTH, ScoreFusion()) for s in splits}
    tuning = tune_fusion_weight(
        {q: i.runs["lexical"] for q, i in base["train"].items()},
        {q: i.runs["dense"] for q, i in base["train"].items()},
        judgments["train"],
        fusion=ScoreFusion(),
    )
    fusion = tuning.fusion
    log(f"lexical weight {fusion.weight}")

    def hybrid_run(split: str) -> dict[str, Candidates]:
        return {
            q: fusion.fuse(i.runs["lexical"], i.runs["dense"], k=DEPTH)
            for q, i in base[split].items()
        }

    # Choose the union depth on valid: train one ranker per depth, keep the best valid NDCG@10.
    trials: list[dict[str, object]] = []
    best: tuple[float, int, SecondStage, TrainingReport] | None = None
    for depth in args.depths:
        log(f"depth {depth}: first-stage runs")
        runs = {s: inputs(s, depth, fusion) for s in ("train", "valid")}
        config = SecondStageConfig(depth=depth, negatives_per_query=args.negatives)
        log(f"depth {depth}: features and training")
        start = time.perf_counter()
        stage, report = train_second_stage(
            runs["train"],
            runs["valid"],
            judged,
            side,
            config=config,
            on_progress=counter(len(runs["train"]) + len(runs["valid"]), "queries featurized"),
        )
        seconds = time.perf_counter() - start
        valid_full = per_query_scores(rerank_all(stage, runs["valid"], side), judgments["valid"])
        valid_ndcg = float(np.mean(list(valid_full.values())))
        trial = {
            "depth": depth,
            "valid union recall": union_recall(runs["valid"], judged),
            "valid ndcg@10 (full catalog)": valid_ndcg,
            "best round": report.best_round,
            "train rows": report.n_train_rows,
            "train queries": report.n_train_queries,
            "fit s": seconds,
        }
        log(str(trial))
        trials.append(trial)
        if best is None or valid_ndcg > best[0]:
            best = (valid_ndcg, depth, stage, report)
        del runs
    assert best is not None
    _, depth, stage, report = best
    log(f"chosen depth {depth}; test")
    test_inputs = inputs("test", depth, fusion)
    methods = {
        "hybrid (today)": hybrid_run("test"),
        "hybrid + LTR": rerank_all(stage, test_inputs, side),
    }
    per_query = {
        m: {metric: per_query_scores(run, judgments["test"], metric=metric) for metric in METRICS}
        for m, run in methods.items()
    }
    ceilings = {
        "hybrid (today)": union_recall(base["test"], judged),
        "hybrid + LTR": union_recall(test_inputs, judged),
    }
    rows = []
    for m in methods:
        row: dict[str, object] = {"method": m}
        for metric in METRICS:
            values = per_query[m][metric]
            row[metric] = float(np.mean(list(values.values())))
            if m == "hybrid (today)":
                row[f"Δ {metric} vs hybrid [95% CI]"] = "(baseline)"
                continue
            theirs = per_query["hybrid (today)"][metric]
            assert list(values) == list(theirs)
            found = paired_bootstrap(
                list(values.values()), list(theirs.values()), n_bootstrap=N_BOOTSTRAP, seed=0
            )
            row[f"Δ {metric} vs hybrid [95% CI]"] = found.interval_text() + (
                " (sig.)" if found.significant else ""
            )
        row["candidate union recall (ceiling)"] = ceilings[m]
        rows.append(row)
    n_paired = len(per_query["hybrid (today)"]["ndcg@10"])
    log(str(rows))

    rng = np.random.default_rng(0)
    sample = [
        splits["test"][i]
        for i in rng.choice(
            len(splits["test"]), min(args.latency_queries, len(splits["test"])), replace=False
        )
    ]
    log(f"latency over {len(sample)} test queries")
    speed = latency(sample, all_texts, encoder, lexical, dense, fusion, stage, side, depth)
    top = list(report.importance.items())[:10]
    minutes = (time.perf_counter() - started) / 60
    lines = [
        "## Search stage by stage on Home Depot: hybrid, + learned second stage (LTR)",
        "",
        f"Machine: 2 CPUs shared with other developers' jobs (timings are noisy), Python {platform.python_version()}, torch {torch.__version__} and LightGBM on 2 threads. "
        f"Command: `python benchmarks/bench_search_stages.py --depths {' '.join(map(str, args.depths))} --negatives {args.negatives}` ({minutes:.1f} min).",
        "",
        f"54,667 products (text = title), queries split by query 80/10/10 (seed 0, as in the search section): {len(splits['train']):,} train, {len(splits['valid']):,} valid, {len(splits['test']):,} test. "
        "Full catalog; unjudged products count as irrelevant. *hybrid (today)*: BM25 and zero-shot all-MiniLM-L6-v2 top 100 each, min-max score fusion, "
        f"lexical weight {fusion.weight} tuned on train. *hybrid + LTR*: BM25 top {depth} ∪ dense top {depth}, every item of the union scored by a LightGBM lambdarank model "
        "on pair features (each run's score, rank and gap to its top; cosine; query-term coverage, idf-weighted coverage, prefix-tolerant coverage, adjacent-pair matches, "
        "first-title-word match; numbers, units and unit conflicts, model numbers; agreement with the hybrid's top 10 in embedding space and in terms; lengths), "
        "trained on the train queries' graded judgments (unjudged candidates grade 0, at most "
        f"{args.negatives} of them drawn per query), label gains 2^grade - 1 as the metric's, early-stopped on valid NDCG@10 (best round {report.best_round}); "
        "the union depth chosen on valid. Home Depot has no brand, category, description or popularity columns, so those features are empty here.",
        "",
        f"Test queries ({n_paired:,} with a relevant judged product); Δ: LTR minus hybrid with its 95% paired bootstrap interval ({N_BOOTSTRAP:,} resamples, seed 0). "
        "The ceiling is the share of a query's relevant products anywhere in the candidate union: no re-ranking of it can recall more.",
        "",
        *markdown(rows),
        "",
        "Union depth, chosen on valid (the ranker refit at each depth):",
        "",
        *markdown(trials),
        "",
        "Goal of issue #18: NDCG@10 ≥ 0.45 and Recall@100 ≥ 0.88.",
        "",
        f"Latency per query, one query at a time over {len(sample)} test queries, 2 threads (median and p99; the machine was shared, so these are upper-side figures):",
        "",
        *markdown(speed),
        "",
        "Most useful features (share of the total split gain): "
        + ", ".join(f"{n} {v:.2f}" for n, v in top)
        + ".",
        "",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search_stages.md").write_text("\n".join(lines))
    (RESULTS / "search_stages.json").write_text(
        json.dumps(
            {
                "quality": rows,
                "depth_trials": trials,
                "chosen_depth": depth,
                "lexical_weight": fusion.weight,
                "training": report.to_dict(),
                "latency": speed,
                "n_test_paired": n_paired,
                "minutes": minutes,
            },
            indent=2,
        )
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
