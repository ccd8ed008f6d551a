"""The served second stage on filtered requests, Home Depot: filters inside each run (what
the service does) against re-ranking the unfiltered union and filtering it after, and
against the fused first stage with the same filters.

Home Depot's items carry no price, brand or category, so each item gets a synthetic price,
uniform in [0, 100) from a seeded draw (independent of relevance), written into both
indexes' filter attributes after the index version loads (nothing else about the indexes
changes); a request's filter is ``max_price`` = 100 x the share of the catalog to pass.
A query is judged on the relevant items that pass (those are the most a filtered list can
show) and left out where none does. Each method gives its best 50 (what a ranker at the
service's default depth 50 sees), unjudged items irrelevant:

- ``filter inside the runs`` (served): BM25 and dense each take their best `depth` items
  that pass, the model re-orders the union (`ServedSecondStage.rerank`);
- ``filter after re-ranking``: the model re-orders the unfiltered union, then the items
  that fail are dropped (the features are those of the unfiltered request, but the list
  holds only the passing items the unfiltered runs happened to reach);
- ``fused``: the index's fused order with the filters inside each run (what the service
  served for a filtered request before).

Valid queries compare the three at each share; the test queries are scored once for the
served method against fused. The models folder is the one bench_served_second_stage.py
takes (`paretorec serve build-index --data homedepot --second-stage --no-onnx`), served at
the service's default depth (100 a run). No timings: the CPU is shared.

    .venv/bin/python benchmarks/bench_served_second_stage_filters.py --models DIR [--shares 0.5 0.1 0.02]
    .venv/bin/python benchmarks/bench_served_second_stage_filters.py --render   # .md from .json
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.splits import split_judgments
from paretorec.encode import SentenceTransformerEncoder
from paretorec.evaluate.paired import PairedComparison, paired_bootstrap
from paretorec.retrieve import Filters
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.tuning import per_query_scores
from paretorec.serve import ModelRegistry
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.second_stage import ServedSecondStage
from paretorec.types import Judgments
from significance import SIG, SIG_NOTE, interval_significance, yes_no

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ("ndcg@10", "recall@50")
K = 50
SERVED = "filter inside the runs (served)"
AFTER = "filter after re-ranking"
FUSED = "fused, filters inside the runs"
# per method: each metric's per-query values; and each query's list length
Scored = tuple[dict[str, dict[str, dict[str, float]]], dict[str, list[int]]]


def methods(
    second: ServedSecondStage,
    text: str,
    vector: np.ndarray,
    filters: Filters | None,
    passing: np.ndarray,
) -> dict[str, list[str]]:
    """Each method's best `K` item ids for one query."""
    inside = second.search.search(text, vector, k=K, depth=second.depth, filters=filters)
    union = second.search.search(text, vector, k=None, depth=second.depth)
    after = [i for i, p in zip(union.item_ids, union.indices.tolist(), strict=True) if passing[p]]
    fused = second.retriever.search(text, vector, k=K, filters=filters)
    return {SERVED: list(inside.item_ids), AFTER: after[:K], FUSED: list(fused.item_ids)}


def as_run(ids: list[str]) -> Candidates:
    return Candidates(tuple(ids), np.arange(len(ids)), np.linspace(1.0, 0.0, len(ids)), {})


def compare(a: dict[str, float], b: dict[str, float]) -> PairedComparison:
    keys = list(a)
    return paired_bootstrap([a[k] for k in keys], [b[k] for k in keys], seed=0)


def sig_column(interval_column: str) -> str:
    """`Δ ndcg@10 vs fused [95% CI]` -> `ndcg@10 sig. at 95%`."""
    return f"{interval_column.split()[1]} {SIG}"


def with_significance(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Each row with a `METRIC sig. at 95%` cell after every `... [95% CI]` cell: the one the
    run stored (from the interval's unrounded bounds), else read from the interval text."""
    out = []
    for stored in rows:
        row: dict[str, object] = {}
        for column, value in stored.items():
            if column.endswith(SIG):
                continue  # placed after its interval below
            row[column] = value
            if column.endswith("[95% CI]"):
                name = sig_column(column)
                row[name] = stored.get(name, interval_significance(value))
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=Path)
    parser.add_argument("--shares", type=float, nargs="+", default=[0.5, 0.1, 0.02])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="queries per split (a smoke run)")
    parser.add_argument("--render", action="store_true", help="only the .md from the .json")
    args = parser.parse_args()
    if args.render:
        render()
        return
    if args.models is None:
        parser.error("--models is required (except with --render)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    started = time.perf_counter()
    pipeline = load_pipeline(
        ModelRegistry(args.models), LoadOptions(encoder=SentenceTransformerEncoder())
    )
    second = pipeline.second_stage
    if second is None:
        raise SystemExit(f"{args.models}: the index version has no second stage")
    retriever = second.retriever
    item_ids = retriever.lexical.item_ids
    price = np.random.default_rng(args.seed).uniform(0.0, 100.0, len(item_ids))
    # the synthetic prices go where the filters read them: each index's item table
    for index in (retriever.lexical, retriever.dense):
        table = index._items  # benchmark only: no public setter
        table.price = price.copy()
        table._masks.clear()

    data = load_builtin(BuiltinDataset.HOMEDEPOT)
    assert data.judgments is not None and data.queries is not None
    frame = split_judgments(data.judgments, seed=0).frame
    texts = dict(data.queries.frame.select("query_id", "text").iter_rows())

    def evaluate(split: str, share: float, names: tuple[str, ...]) -> Scored:
        rows = frame.filter(pl.col("split") == split)
        ids = sorted(rows["query_id"].unique().to_list())
        passing = price <= 100.0 * share  # max_price is inclusive
        filters = None if share >= 1.0 else Filters(max_price=100.0 * share)
        kept = {item_ids[p] for p in np.flatnonzero(passing).tolist()}
        judged = Judgments(rows.filter(pl.col("item_id").cast(pl.String).is_in(kept)))
        relevant = set(judged.frame.filter(pl.col("grade") > 0)["query_id"].to_list())
        ids = [q for q in ids if q in relevant][: args.limit]
        vectors = pipeline.encoder.encode_queries([texts[q] for q in ids])
        runs: dict[str, dict[str, Candidates]] = {n: {} for n in names}
        lengths: dict[str, list[int]] = {n: [] for n in names}
        for q, vector in zip(ids, vectors, strict=True):
            found = methods(second, texts[q], vector, filters, passing)
            for n in names:
                runs[n][q] = as_run(found[n])
                lengths[n].append(len(found[n]))
        scores = {
            n: {m: per_query_scores(runs[n], judged, metric=m) for m in METRICS} for n in names
        }
        return scores, lengths

    def rows_of(share: float, scored: Scored, names: tuple[str, ...]) -> list[dict[str, object]]:
        scores, lengths = scored
        rows = []
        for n in names:
            row: dict[str, object] = {"share passing": f"{share:.0%}", "method": n}
            row["queries"] = len(scores[n]["ndcg@10"])
            for m in METRICS:
                row[m] = float(np.mean(list(scores[n][m].values())))
                column = f"Δ {m} vs fused [95% CI]"
                if n == FUSED:
                    row[column] = "(baseline)"
                    continue
                found = compare(scores[n][m], scores[FUSED][m])
                row[column] = found.interval_text()
                row[sig_column(column)] = yes_no(found.significant)
            row[f"mean list length (of {K})"] = float(np.mean(lengths[n]))
            row[f"share of lists under {K}"] = float(np.mean([x < K for x in lengths[n]]))
            rows.append(row)
        return rows

    every = (SERVED, AFTER, FUSED)
    valid_rows: list[dict[str, object]] = []
    for share in args.shares:
        valid_rows.extend(rows_of(share, evaluate("valid", share, every), every))
    test_rows: list[dict[str, object]] = []
    for share in args.shares:
        test_rows.extend(rows_of(share, evaluate("test", share, (SERVED, FUSED)), (SERVED, FUSED)))
    result = {
        "valid": valid_rows,
        "test": test_rows,
        "minutes": (time.perf_counter() - started) / 60,
        "shares": args.shares,
        "seed": args.seed,
        "depth": second.depth,
    }
    RESULTS.mkdir(exist_ok=True)
    text = markdown(result)
    (RESULTS / "served_second_stage_filters.md").write_text(text)
    (RESULTS / "served_second_stage_filters.json").write_text(json.dumps(result, indent=2))
    print(text)


def markdown(result: dict[str, Any]) -> str:
    """served_second_stage_filters.md from the stored result."""
    shares = " ".join(f"{s:g}" for s in result["shares"])
    lines = [
        "## The served second stage on filtered requests (Home Depot, a synthetic uniform price"
        " as the filter)",
        "",
        f"Command: `python benchmarks/bench_served_second_stage_filters.py --models DIR --shares {shares}` "
        f"({result['minutes']:.1f} min), DIR as for the section above (the model trained at 300 a run, served at "
        f"{result['depth']}). Home Depot has no prices: each item has a synthetic price (uniform in [0, 100), "
        f"seed {result['seed']}, independent of relevance); a request keeps the items priced at or under 100 x share. "
        "Queries judged on their relevant items that pass, left out where none does; each method's best "
        f"{K}, unjudged items irrelevant. `filter inside the runs` is what `/search` serves: BM25 and dense "
        "take their best items that pass, the model orders the union; `filter after re-ranking` orders the "
        "unfiltered union and drops the items that fail; `fused` is the index's fused order with the "
        "filters inside the runs (what a filtered request got before).",
        "",
        "Valid queries, price filter on the synthetic uniform price:",
        "",
        *markdown_table(with_significance(result["valid"])),
        "",
        "Test queries, once (the served method against fused), price filter on the synthetic"
        " uniform price:",
        "",
        *markdown_table(with_significance(result["test"])),
        "",
        SIG_NOTE,
        "",
    ]
    return "\n".join(lines)


def render() -> None:
    """Rewrite the .md from the stored .json, computing nothing."""
    result = json.loads((RESULTS / "served_second_stage_filters.json").read_text())
    (RESULTS / "served_second_stage_filters.md").write_text(markdown(result))


def markdown_table(rows: list[dict[str, object]], *, digits: int = 4) -> list[str]:
    """A markdown table of `rows` (every key any row has is a column; floats to `digits`)."""
    columns = list(dict.fromkeys(c for r in rows for c in r))

    def cell(value: object) -> str:
        return f"{value:.{digits}f}" if isinstance(value, float) else str(value)

    return [
        "| " + " | ".join(columns) + " |",
        "|---|" + "---:|" * (len(columns) - 1),
        *("| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows),
    ]


if __name__ == "__main__":
    main()
