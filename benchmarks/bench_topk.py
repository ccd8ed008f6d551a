"""Benchmark of full-catalog top-K evaluation on the real Amazon Video Games data.

Leave-last-out: each user's last purchase is the test item, all earlier ones are train.
Two real models score all 16,859 items for all 50,546 users: a truncated SVD of the
binary train user-item matrix (`scipy.sparse.linalg.svds`, 64 factors; user vectors
U S, item vectors V) and item popularity (train purchase counts, ties broken by the
smaller item index, so all paths agree exactly). For each model the top 50 of every
user, excluding the user's train items, is computed by the three paths of
`paretorec.evaluate.topk` in the same run, on the same float32 score chunks:

- naive: a full stable numpy argsort of every row of scores,
- numpy argpartition of each row, then a sort of the 50,
- torch.topk of each chunk,

each timed end to end (scores, exclusion, selection), with the peak resident memory
above the level before the call (RSS sampled every 2 ms, with glibc returning every
freed block over 1 MiB to the system); then Recall@10, Recall@50,
NDCG@10 (and the other metrics) of the top 50, and catalog coverage, novelty and the
Gini of exposure at 10. Writes a Markdown section to benchmarks/results/topk.md and the
figures to topk.json.

    .venv/bin/python benchmarks/bench_topk.py [--quick]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy
import scipy.sparse as sp
import torch
from numpy.typing import NDArray
from scipy.sparse.linalg import svds

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.splits import split_events
from paretorec.evaluate.beyond import beyond_accuracy
from paretorec.evaluate.metrics import batch_ranking_metrics
from paretorec.evaluate.topk import DEFAULT_CHUNK_SIZE, TopK, TopKBackend, top_k_dot
from paretorec.types import Split

RESULTS = Path(__file__).resolve().parent / "results"
PAGE = os.sysconf("SC_PAGE_SIZE")
K_MAX = 50
FACTORS = 64
PATHS = (
    ("naive argsort", TopKBackend.ARGSORT),
    ("numpy argpartition", TopKBackend.ARGPARTITION),
    ("torch.topk", TopKBackend.TORCH),
)


LIBC = ctypes.CDLL("libc.so.6")
M_MMAP_THRESHOLD = -3


def allocate_large_arrays_by_mmap() -> None:
    """glibc: serve every allocation over 1 MiB by its own mmap, returned to the system
    when freed, so the resident set follows the live arrays (by default, blocks under a
    dynamic threshold of up to 32 MiB stay in the heap after they are freed, and a later
    call would reuse them without growing the resident set)."""
    LIBC.mallopt(M_MMAP_THRESHOLD, 1 << 20)


def rss_bytes() -> int:
    with Path("/proc/self/statm").open() as f:
        return int(f.read().split()[1]) * PAGE


@contextmanager
def peak_rss(out: dict[str, float]) -> Iterator[None]:
    """Sample RSS every 2 ms; out['peak_mb'] is the peak above the level at entry."""
    LIBC.malloc_trim(0)
    base = rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        peak[0] = max(peak[0], rss_bytes())
        out["peak_mb"] = (peak[0] - base) / 2**20


def load_split(max_users: int | None) -> tuple[sp.csr_array, sp.csr_array, int]:
    """Binary train and test matrices (n_users, n_items), leave-last-out by row order."""
    dataset = load_builtin(BuiltinDataset.AMAZON_GAMES)
    assert dataset.events is not None
    item_index = {item: i for i, item in enumerate(dataset.items.item_ids.to_list())}
    events = split_events(dataset.events).frame
    users = events["user_id"].unique(maintain_order=True)
    if max_users is not None:
        users = users.head(max_users)
        events = events.filter(pl.col("user_id").is_in(users.implode()))
    user_index = {u: i for i, u in enumerate(users.to_list())}
    rows = np.array([user_index[u] for u in events["user_id"].to_list()])
    cols = np.array([item_index[i] for i in events["item_id"].to_list()])
    is_test = (events["split"] == Split.TEST.value).to_numpy()
    shape = (len(user_index), len(item_index))

    def matrix(mask: NDArray[np.bool_]) -> sp.csr_array:
        m = sp.csr_array((np.ones(mask.sum()), (rows[mask], cols[mask])), shape=shape)
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    return matrix(~is_test), matrix(is_test), len(item_index)


def svd_model(train: sp.csr_array) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    u, s, vt = svds(train.astype(np.float64), k=FACTORS, random_state=0)
    return u * s, vt.T


def popularity_model(train: sp.csr_array) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    counts = np.asarray(train.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(counts.size), -counts))  # most popular first, ties by index
    score = np.empty(counts.size)
    score[order] = np.arange(counts.size, 0, -1)  # distinct integers, exact in float32
    return np.ones((train.shape[0], 1)), score[:, None]


def timed_top_k(
    users: NDArray[np.float64],
    items: NDArray[np.float64],
    train: sp.csr_array,
    backend: TopKBackend,
    chunk_size: int,
) -> tuple[TopK, float, float]:
    memory: dict[str, float] = {}
    with peak_rss(memory):
        start = time.perf_counter()
        top = top_k_dot(
            users, items, k=K_MAX, exclude=train, chunk_size=chunk_size, backend=backend
        )
        seconds = time.perf_counter() - start
    return top, seconds, memory["peak_mb"]


def agreement(a: TopK, b: TopK) -> dict[str, float]:
    """Largest score difference at equal ranks, and the share of equal item lists."""
    return {
        "max_score_diff": float(np.abs(a.scores - b.scores).max()),
        "same_items": float((a.items == b.items).all(axis=1).mean()),
    }


def fit(
    build: Callable[[], tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    start = time.perf_counter()
    users, items = build()
    return users, items, time.perf_counter() - start


def run_model(
    name: str,
    fitted: tuple[NDArray[np.float64], NDArray[np.float64], float],
    train: sp.csr_array,
    test: sp.csr_array,
    item_counts: NDArray[np.float64],
) -> dict[str, Any]:
    users, items, fit_s = fitted
    paths: list[dict[str, Any]] = []
    tops: dict[str, TopK] = {}
    for label, backend in PATHS:
        top, seconds, peak_mb = timed_top_k(users, items, train, backend, DEFAULT_CHUNK_SIZE)
        tops[label] = top
        paths.append({"path": label, "seconds": seconds, "peak_mb": peak_mb})
        print(f"  {name} {label}: {seconds:.1f} s, peak +{peak_mb:.0f} MB")
    naive = tops[PATHS[0][0]]
    for row in paths:
        row["speedup_vs_naive"] = paths[0]["seconds"] / row["seconds"]
        row |= agreement(naive, tops[row["path"]])
    fastest = tops["torch.topk"]
    start = time.perf_counter()
    metrics = batch_ranking_metrics(fastest.items, test, ks=(10, 50))
    metrics_s = time.perf_counter() - start
    beyond = beyond_accuracy(fastest.items[:, :10], n_items=items.shape[0], item_counts=item_counts)
    return {
        "model": name,
        "fit_s": fit_s,
        "paths": paths,
        "metrics": metrics.as_dict(),
        "metrics_s": metrics_s,
        "users_evaluated": int(metrics.users.size),
        "beyond_at_10": beyond,
    }


def chunk_sweep(
    users: NDArray[np.float64], items: NDArray[np.float64], train: sp.csr_array
) -> list[dict[str, float]]:
    rows = []
    for chunk in (256, 1024, 4096):
        _, seconds, peak_mb = timed_top_k(users, items, train, TopKBackend.TORCH, chunk)
        rows.append({"chunk_size": chunk, "seconds": seconds, "peak_mb": peak_mb})
        print(f"  torch chunk {chunk}: {seconds:.1f} s, peak +{peak_mb:.0f} MB")
    return rows


def markdown(report: dict[str, Any]) -> str:
    m, d = report["machine"], report["data"]
    lines = [
        "## Full-catalog top-K evaluation",
        "",
        f"Machine: {m['cpus']} CPUs, {m['platform']}, Python {m['python']}, numpy {m['numpy']}, "
        f"torch {m['torch']} ({m['torch_threads']} threads), scipy {m['scipy']}. "
        f"Command: `{report['command']}`.",
        "",
        f"Amazon Video Games, leave-last-out: {d['users']:,} users, {d['items']:,} items, "
        f"{d['train']:,} train purchases (excluded from each user's ranking), one test item per "
        f"user ({d['test_in_train']:,} test items were also bought earlier, so cannot be hit). "
        f"Top {K_MAX} over the full catalog for every user, chunks of {DEFAULT_CHUNK_SIZE:,} users, "
        "float32 scores from the same matmul for every path. Time is end to end (scores, "
        "exclusion, selection); memory is the peak resident set above the level before the call. "
        "*agree* is the share of users whose 50 items equal the naive path's, in order (every "
        "path breaks ties like a stable sort, by the smaller item index); *max abs score diff* "
        "the largest difference of the scores at equal ranks.",
        "",
        "| model | path | time (s) | speed-up vs naive | peak memory (MB) | agree | max abs score diff |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for model in report["models"]:
        for p in model["paths"]:
            lines.append(
                f"| {model['model']} | {p['path']} | {p['seconds']:.1f} | "
                f"{p['speedup_vs_naive']:.1f}x | {p['peak_mb']:,.0f} | {p['same_items']:.4f} | "
                f"{p['max_score_diff']:.1g} |"
            )
    lines += [
        "",
        "Accuracy of the top 50 (mean over users; NDCG with gain 2^g - 1, here binary), and "
        "beyond-accuracy of the top 10 (coverage: share of the catalog shown; novelty: mean "
        "-log2 p(item) from train counts, add-one smoothed; Gini of position-discounted "
        "exposure over all items):",
        "",
        "| model | fit (s) | Recall@10 | Recall@50 | NDCG@10 | NDCG@50 | MRR@10 | coverage@10 | novelty@10 | exposure Gini@10 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model in report["models"]:
        x, b = model["metrics"], model["beyond_at_10"]
        lines.append(
            f"| {model['model']} | {model['fit_s']:.1f} | {x['recall@10']:.4f} | {x['recall@50']:.4f} | "
            f"{x['ndcg@10']:.4f} | {x['ndcg@50']:.4f} | {x['mrr@10']:.4f} | {b['coverage']:.4f} | "
            f"{b['novelty']:.2f} | {b['gini_items']:.3f} |"
        )
    sweep = report["chunk_sweep"]
    lines += [
        "",
        f"Metrics of all {report['models'][0]['users_evaluated']:,} users from the top 50: "
        f"{report['models'][0]['metrics_s']:.2f} s. torch.topk by chunk size (SVD): "
        + ", ".join(
            f"{r['chunk_size']:,} users {r['seconds']:.1f} s (+{r['peak_mb']:,.0f} MB)"
            for r in sweep
        )
        + ".",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 users, for a smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    allocate_large_arrays_by_mmap()

    train, test, n_items = load_split(5_000 if args.quick else None)
    item_counts = np.asarray(train.sum(axis=0)).ravel()
    test_in_train = int(train.multiply(test).sum())
    print(f"{train.shape[0]:,} users, {n_items:,} items, {train.nnz:,} train, {test.nnz:,} test")
    svd = fit(lambda: svd_model(train))
    models = [
        run_model("SVD-64", svd, train, test, item_counts),
        run_model("popularity", fit(lambda: popularity_model(train)), train, test, item_counts),
    ]
    sweep = chunk_sweep(svd[0], svd[1], train)
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        },
        "command": "python benchmarks/bench_topk.py" + (" --quick" if args.quick else ""),
        "data": {
            "users": train.shape[0],
            "items": n_items,
            "train": int(train.nnz),
            "test": int(test.nnz),
            "test_in_train": test_in_train,
        },
        "k": K_MAX,
        "chunk_size": DEFAULT_CHUNK_SIZE,
        "models": models,
        "chunk_sweep": sweep,
    }
    text = markdown(report)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "topk-quick" if args.quick else "topk"
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
