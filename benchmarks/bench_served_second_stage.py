"""The learned second stage as the service serves it, on Home Depot: its depth per run
chosen on the valid queries, then the test queries once, against the fused order.

Takes a models folder whose index version carries a second stage, built by

    paretorec serve build-index --data homedepot --models DIR --no-onnx --second-stage

(judgments split 80/10/10 by query, seed 0, as `eval search` and bench_search_stages.py
split them; the model learns on train and stops early on valid). Each query goes through
`ServingPipeline.search` (no ranker or policy: the served order is the candidates' order)
with the second stage at each of `--depths`, and with none (the index's fused order:
spell-corrected BM25 and dense, score fusion at 0.7). The depth chosen is the smallest
whose valid NDCG@10 and Recall@50 (what a ranker at the service's default depth 50 sees)
are not significantly below the best depth's (95% paired bootstrap); the test queries are
then scored once at that depth. Unjudged items count as irrelevant. No timings: the CPU
is shared (bench_search_stages.py reports each stage's latency).

    .venv/bin/python benchmarks/bench_served_second_stage.py --models DIR [--depths 100 300 500]
    .venv/bin/python benchmarks/bench_served_second_stage.py --render   # the .md from the .json
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

from bench_served_second_stage_filters import markdown_table, sig_column, with_significance
from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.splits import split_judgments
from paretorec.encode import SentenceTransformerEncoder
from paretorec.evaluate.paired import paired_bootstrap
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.tuning import per_query_scores
from paretorec.serve import ModelRegistry
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.pipeline import SearchQuery, ServingPipeline
from paretorec.types import Judgments
from significance import SIG_NOTE, yes_no

RESULTS = Path(__file__).resolve().parent / "results"
METRICS = ("ndcg@10", "recall@50")
FUSED = "fused (no second stage)"


def served_runs(
    pipeline: ServingPipeline, texts: dict[str, str], ids: list[str]
) -> dict[str, Candidates]:
    out = {}
    for q in ids:
        items = tuple(i.item_id for i in pipeline.search(SearchQuery(text=texts[q], k=50)).items)
        out[q] = Candidates(items, np.arange(len(items)), np.linspace(1.0, 0.0, len(items)), {})
    return out


def scored(runs: dict[str, Candidates], judgments: Judgments) -> dict[str, dict[str, float]]:
    return {m: per_query_scores(runs, judgments, metric=m) for m in METRICS}


def compare(a: dict[str, float], b: dict[str, float]) -> tuple[str, bool]:
    keys = list(a)
    found = paired_bootstrap([a[k] for k in keys], [b[k] for k in keys], seed=0)
    return found.interval_text(), bool(found.significant)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=Path)
    parser.add_argument("--depths", type=int, nargs="+", default=[100, 300, 500])
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
    data = load_builtin(BuiltinDataset.HOMEDEPOT)
    assert data.judgments is not None and data.queries is not None
    frame = split_judgments(data.judgments, seed=0).frame
    texts = dict(data.queries.frame.select("query_id", "text").iter_rows())

    def split(name: str) -> tuple[list[str], Judgments]:
        rows = frame.filter(pl.col("split") == name)
        return sorted(rows["query_id"].unique().to_list()), Judgments(rows)

    valid_ids, valid = split("valid")
    per_depth: dict[int, dict[str, dict[str, float]]] = {}
    for depth in args.depths:
        second.depth = depth
        per_depth[depth] = scored(served_runs(pipeline, texts, valid_ids), valid)
    pipeline.second_stage = None
    valid_fused = scored(served_runs(pipeline, texts, valid_ids), valid)
    best = max(args.depths, key=lambda d: float(np.mean(list(per_depth[d]["ndcg@10"].values()))))
    valid_rows, chosen = [], None
    for depth in sorted(args.depths):
        row: dict[str, object] = {"second stage depth per run": depth}
        below = False
        for m in METRICS:
            values = per_depth[depth][m]
            mean = float(np.mean(list(values.values())))
            row[m] = mean
            interval, significant = compare(values, per_depth[best][m])
            below |= significant and mean < float(np.mean(list(per_depth[best][m].values())))
            column = f"Δ {m} vs {best} [95% CI]"
            row[column] = "(best)" if depth == best else interval
            if depth != best:
                row[sig_column(column)] = yes_no(significant)
        if chosen is None and not below:
            chosen = depth
        valid_rows.append(row)
    valid_rows.append(
        {
            "second stage depth per run": FUSED,
            **{m: float(np.mean(list(valid_fused[m].values()))) for m in METRICS},
        }
    )
    assert chosen is not None  # the best depth is never below itself

    test_ids, test = split("test")
    pipeline.second_stage = second
    second.depth = chosen
    ours = scored(served_runs(pipeline, texts, test_ids), test)
    pipeline.second_stage = None
    fused = scored(served_runs(pipeline, texts, test_ids), test)
    test_rows: list[dict[str, object]] = []
    for name, method in ((f"second stage, top {chosen} a run", ours), (FUSED, fused)):
        line: dict[str, object] = {"served": name}
        for m in METRICS:
            line[m] = float(np.mean(list(method[m].values())))
            column = f"Δ {m} vs fused [95% CI]"
            if method is fused:
                line[column] = "(baseline)"
                continue
            interval, significant = compare(method[m], fused[m])
            line[column] = interval
            line[sig_column(column)] = yes_no(significant)
        test_rows.append(line)
    result = {
        "valid": valid_rows,
        "chosen_depth": chosen,
        "test": test_rows,
        "minutes": (time.perf_counter() - started) / 60,
        "depths": args.depths,
        "best": best,
        "n_valid": len(per_depth[best]["ndcg@10"]),
        "n_test": len(ours["ndcg@10"]),
    }
    RESULTS.mkdir(exist_ok=True)
    text = markdown(result)
    (RESULTS / "served_second_stage.md").write_text(text)
    (RESULTS / "served_second_stage.json").write_text(json.dumps(result, indent=2))
    print(text)


def markdown(result: dict[str, Any]) -> str:
    """served_second_stage.md from the stored result."""
    lines = [
        "## The learned second stage as the service serves it (Home Depot)",
        "",
        f"Command: `python benchmarks/bench_served_second_stage.py --models DIR --depths {' '.join(map(str, result['depths']))}` "
        f"({result['minutes']:.1f} min), DIR from `paretorec serve build-index --data homedepot --second-stage --no-onnx` "
        "(the model trained at 300 a run on the train queries, early-stopped on valid). Every query through "
        "`ServingPipeline.search` (no ranker or policy), full catalog, unjudged items irrelevant; the fused "
        "order is the served index's own (spell-corrected BM25 and dense, score fusion at 0.7).",
        "",
        f"Valid queries ({result['n_valid']} with a relevant item), the depth per run chosen as the smallest not "
        f"significantly below the best ({result['best']}) on either metric (95% paired bootstrap):",
        "",
        *markdown_table(with_significance(result["valid"])),
        "",
        f"Test queries ({result['n_test']}), once, at the chosen depth {result['chosen_depth']}:",
        "",
        *markdown_table(with_significance(result["test"])),
        "",
        SIG_NOTE,
        "",
    ]
    return "\n".join(lines)


def render() -> None:
    """Rewrite the .md from the stored .json, computing nothing."""
    result = json.loads((RESULTS / "served_second_stage.json").read_text())
    (RESULTS / "served_second_stage.md").write_text(markdown(result))


if __name__ == "__main__":
    main()
