"""Near-duplicate collapse on Home Depot: how often one product fills two slots of a search
list, and what collapsing it (`paretorec.retrieve.duplicates`, same normalized brand and
title) changes.

Every judged Home Depot query (8,226) is searched with BM25 over the 54,667 products;
the plain list is the top 10, the collapsed one the top 10 of the top 40 after collapse.
Nothing is tuned, so no query is held out. Per list: duplicate listings in the top 10,
distinct products, distinct relevant products (judged grade >= 2.5, two listings of one
product counting once) and NDCG@10 on the judgments (which grade each listing, so a
second listing of a relevant product still earns gain there), with paired bootstrap
intervals for the differences (collapsed - plain).

    .venv/bin/python benchmarks/bench_duplicates.py
    .venv/bin/python benchmarks/bench_duplicates.py --render   # the .md from the .json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
K = 10
FETCH = 40
RELEVANT = 2.5


def main() -> None:
    from paretorec.data.datasets import BuiltinDataset, load_builtin
    from paretorec.evaluate.metrics import ndcg_at_k
    from paretorec.evaluate.paired import paired_bootstrap
    from paretorec.retrieve import LexicalIndex
    from paretorec.retrieve.duplicates import duplicate_key, top_distinct

    wall = time.perf_counter()
    shop = load_builtin(BuiltinDataset.HOMEDEPOT)
    assert shop.queries is not None and shop.judgments is not None
    items = shop.items.frame
    brands = items["brand"].to_list() if "brand" in items.columns else [None] * items.height
    key = {
        str(i): duplicate_key(t, b)
        for i, t, b in zip(
            items["item_id"].to_list(), items["title"].to_list(), brands, strict=True
        )
    }
    sizes: dict[str | None, int] = defaultdict(int)
    for value in key.values():
        sizes[value] += 1
    listed_twice = sum(n for k, n in sizes.items() if k is not None and n > 1)
    index = LexicalIndex.build(shop.items)
    grades: dict[str, dict[str, float]] = defaultdict(dict)
    judged = shop.judgments.frame
    for q, i, g in zip(
        judged["query_id"].to_list(), judged["item_id"].to_list(), judged["grade"].to_list(),
        strict=True,
    ):  # fmt: skip
        grades[str(q)][str(i)] = float(g)
    rows: dict[str, list[float]] = defaultdict(list)
    queries = shop.queries.frame
    for query_id, text in zip(
        queries["query_id"].to_list(), queries["text"].to_list(), strict=True
    ):
        judged_here = grades.get(str(query_id))
        if not judged_here:
            continue
        found = list(index.search(text, k=FETCH).item_ids)
        plain = found[:K]
        kept, _ = top_distinct([key[i] for i in found], K) if found else ((), 0)
        collapsed = [found[p] for p in kept]
        relevant = list(judged_here)
        relevant_grades = [judged_here[i] for i in relevant]
        for name, ranked in (("plain", plain), ("collapsed", collapsed)):
            keys = [key[i] for i in ranked]
            distinct = len(set(keys))
            rows[f"{name}_duplicates"].append(len(ranked) - distinct)
            rows[f"{name}_distinct"].append(distinct)
            good = {key[i] for i in ranked if judged_here.get(i, 0.0) >= RELEVANT}
            rows[f"{name}_relevant_products"].append(len(good))
            padded = ranked + [f"__none{j}" for j in range(K - len(ranked))]  # short lists
            rows[f"{name}_ndcg"].append(ndcg_at_k(padded, relevant, grades=relevant_grades, k=K))
    n = len(rows["plain_ndcg"])
    plain_dups = np.asarray(rows["plain_duplicates"])
    compared = {
        name: paired_bootstrap(rows[f"collapsed_{name}"], rows[f"plain_{name}"], seed=0)
        for name in ("distinct", "relevant_products", "ndcg")
    }
    result: dict[str, Any] = {
        "queries": n,
        "items": items.height,
        "items_sharing_a_key": listed_twice,
        "lists_with_a_duplicate": float((plain_dups > 0).mean()),
        "collapsed_lists_with_a_duplicate": float(
            (np.asarray(rows["collapsed_duplicates"]) > 0).mean()
        ),
        "mean": {name: float(np.mean(values)) for name, values in rows.items()},
        "paired": {name: c.as_dict() for name, c in compared.items()},
        "wall_s": time.perf_counter() - wall,
        "command": "python benchmarks/bench_duplicates.py",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    (RESULTS / "duplicates.json").write_text(json.dumps(result, indent=2))
    text = markdown(result)
    (RESULTS / "duplicates.md").write_text(text)
    print(text)


def markdown(result: dict[str, Any]) -> str:
    """duplicates.md from the stored result."""
    from paretorec.evaluate.paired import PairedComparison

    mean = result["mean"]
    compared = {
        name: PairedComparison(**{k: v for k, v in found.items() if k != "significant"})
        for name, found in result["paired"].items()
    }

    def sig(name: str) -> str:
        return "yes" if compared[name].significant else "no"

    # runs stored before the machine was recorded were made on this one
    machine = result.get("machine") or {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
    lines = [
        "## Near-duplicate listings in search lists (Home Depot)",
        "",
        f"Machine: {machine['cpus']} CPUs, Python {machine['python']}. Command: "
        f"`{result['command']}` ({result['wall_s']:.0f} s). BM25 over {result['items']:,} Home "
        f"Depot products, of which {result['items_sharing_a_key']:,} share their normalized brand"
        f" and title with another; all {result['queries']:,} judged queries; plain = the top {K}, collapsed = the top {K} of the "
        f"top {FETCH} after `paretorec.retrieve.duplicates` (the default in `paretorec search`, "
        "`/search` and `/recommend`). Differences are collapsed - plain with 95% paired "
        "bootstrap intervals over queries.",
        "",
        "| per list | plain | collapsed | difference [95% CI] | sig. at 95% |",
        "|---|---:|---:|---:|---|",
        f"| lists with a product twice | {result['lists_with_a_duplicate']:.1%} | "
        f"{result['collapsed_lists_with_a_duplicate']:.1%} | | |",
        f"| duplicate listings | {mean['plain_duplicates']:.3f} | "
        f"{mean['collapsed_duplicates']:.3f} | | |",
        f"| distinct products | {mean['plain_distinct']:.3f} | {mean['collapsed_distinct']:.3f} "
        f"| {compared['distinct'].interval_text(3)} | {sig('distinct')} |",
        f"| distinct relevant products (grade >= {RELEVANT}) | "
        f"{mean['plain_relevant_products']:.4f} | {mean['collapsed_relevant_products']:.4f} | "
        f"{compared['relevant_products'].interval_text(4)} | {sig('relevant_products')} |",
        f"| NDCG@{K} (each listing judged) | {mean['plain_ndcg']:.4f} | "
        f"{mean['collapsed_ndcg']:.4f} | {compared['ndcg'].interval_text(4)} | {sig('ndcg')} |",
        "",
        "*sig. at 95%*: the paired 95% interval excludes 0.",
        "",
        "The judgments grade listings, not products, so NDCG still pays for the second "
        "listing of a relevant product; distinct relevant products is what a shopper sees.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render", action="store_true", help="only the .md from the .json")
    if parser.parse_args().render:
        stored = json.loads((RESULTS / "duplicates.json").read_text())
        (RESULTS / "duplicates.md").write_text(markdown(stored))
    else:
        main()
