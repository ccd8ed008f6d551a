"""Multi-task rankers against one single-task model per objective, in one run.

Three logs: the simulator (the `lively` shop, uniformly random lists of 10, where the true
click / cart / purchase probability of every impression is known), Taobao's behaviour
sample (page view -> cart -> buy) and the Open Bandit Dataset (random/ALL, clicks).
Every model is trained on the same features (hashed ids, MiniLM text vectors of items,
users and queries, dense features, retrieval scores, position) with the same
optimizer budget, early-stopped on valid, and judged on the test split: per-task AUC,
log loss, ECE (15 equal-mass bins) and, on the simulator, calibration against the true
probabilities (ECE and mean absolute error), plus training time.

    .venv/bin/python benchmarks/bench_ranker.py [--sessions 12000] [--epochs 3] [--datasets taobao obd]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from paretorec.data.datasets import BuiltinDataset, fetch_obd, load_builtin
from paretorec.data.locations import cache_dir
from paretorec.encode import SentenceTransformerEncoder
from paretorec.rank import (
    Architecture,
    RankerConfig,
    RankerFeatures,
    TrainConfig,
    Weighting,
    build_ranker_features,
    evaluate_ranker,
    simulate_with_truth,
    train_ranker,
    truth_for,
)
from paretorec.simulate import WorldConfig

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REPO_CACHE = HERE.parent / ".cache" / "obd"
DATASETS = ("simulator", "taobao", "obd")
TITLES = {
    "simulator": "Simulator (`WorldConfig.lively()`, uniform random lists of 10)",
    "taobao": "Taobao UserBehavior sample (view -> cart -> buy)",
    "obd": "Open Bandit Dataset random/ALL (click only)",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass(frozen=True)
class Variant:
    name: str
    architecture: Architecture
    weighting: Weighting = Weighting.FIXED
    task: str | None = None  # a single-task baseline


def variants(tasks: tuple[str, ...], *, full: bool) -> list[Variant]:
    out = [Variant("single-task", Architecture.SHARED_BOTTOM, task=t) for t in tasks]
    if len(tasks) == 1:
        return [*out, Variant("mmoe", Architecture.MMOE)]
    out += [
        Variant("shared-bottom", Architecture.SHARED_BOTTOM),
        Variant("mmoe", Architecture.MMOE),
        Variant("ple", Architecture.PLE),
        Variant("esmm", Architecture.ESMM),
    ]
    if full:
        out += [
            Variant("mmoe + uncertainty", Architecture.MMOE, Weighting.UNCERTAINTY),
            Variant("mmoe + mgda", Architecture.MMOE, Weighting.MGDA),
        ]
    return out


def run(
    name: str,
    features: RankerFeatures,
    *,
    epochs: int,
    truth: Mapping[str, object] | None,
    full: bool,
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for v in variants(features.tasks, full=full):
        train = TrainConfig(
            weighting=v.weighting,
            epochs=epochs,
            batch_size=1024,
            tasks=None if v.task is None else (v.task,),
            seed=0,
        )
        started = time.perf_counter()
        ranker = train_ranker(
            features, config=RankerConfig(architecture=v.architecture), train=train
        )
        seconds = time.perf_counter() - started
        metrics = evaluate_ranker(ranker, features, truth=truth)  # type: ignore[arg-type]
        history = ranker.metadata["history"]
        weights = history["epochs"][history["best_epoch"] - 1]["task_weights"]
        for task, m in metrics.tasks.items():
            rows.append(
                {
                    "data": name,
                    "model": v.name,
                    "task": task,
                    "seconds": seconds,
                    "best_epoch": history["best_epoch"],
                    "weight": weights[task],
                    **m.as_dict(),
                }
            )
        log(f"  {name} {v.name}{'' if v.task is None else ' ' + v.task}: {seconds:.1f} s, "
            + ", ".join(f"{t} auc {m.auc:.3f} ll {m.logloss:.4f} ece {m.ece:.4f}" for t, m in metrics.tasks.items()))  # fmt: skip
    return rows


def table(rows: list[dict[str, object]], data: str, truth: bool) -> list[str]:
    head = "| model | task | AUC | log loss | ECE |" + (" true ECE | true MAE |" if truth else "")
    head += " train (s) | epochs |"
    lines = [head, "|---|---|---:|---:|---:|" + ("---:|---:|" if truth else "") + "---:|---:|"]
    for r in rows:
        if r["data"] != data:
            continue
        cells = [
            str(r["model"]),
            str(r["task"]),
            f"{r['auc']:.4f}",
            f"{r['logloss']:.4f}",
            f"{r['ece']:.4f}",
        ]
        if truth:
            cells += [f"{r['true_ece']:.4f}", f"{r['true_mae']:.4f}"]
        cells += [f"{r['seconds']:.1f}", str(r["best_epoch"])]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=12_000)
    parser.add_argument("--items", type=int, default=3_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--datasets", nargs="+", default=list(DATASETS), choices=DATASETS, help="Which logs to run."
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    encoder = SentenceTransformerEncoder()
    embeddings = cache_dir() / "embeddings"
    rows: list[dict[str, object]] = []
    sizes: dict[str, str] = {}

    def write() -> None:
        minutes = (time.perf_counter() - started) / 60
        _write(rows, sizes, args, minutes)

    if "simulator" in args.datasets:
        log(f"simulating {args.sessions:,} sessions")
        logs = simulate_with_truth(
            args.items, args.users, args.sessions, seed=0, config=WorldConfig.lively()
        )
        sim = build_ranker_features(logs.dataset, encoder=encoder, cache_dir=embeddings)
        sizes["simulator"] = _describe(sim)
        log(f"  features: {sizes['simulator']}")
        rows += run("simulator", sim, epochs=args.epochs, truth=truth_for(sim, logs), full=True)
        write()
    if "taobao" in args.datasets:
        taobao = build_ranker_features(
            load_builtin(BuiltinDataset.TAOBAO),
            encoder=encoder,
            cache_dir=embeddings,
            test_fraction=0.3,
        )
        sizes["taobao"] = _describe(taobao)
        log(f"taobao: {sizes['taobao']}")
        rows += run("taobao", taobao, epochs=args.epochs * 2, truth=None, full=False)
        write()
    if "obd" in args.datasets:
        obd = build_ranker_features(
            load_builtin(BuiltinDataset.OBD_RANDOM_ALL, cache=fetch_obd(REPO_CACHE).parent),
            encoder=encoder,
            cache_dir=embeddings,
            test_fraction=0.3,
        )
        sizes["obd"] = _describe(obd)
        log(f"obd: {sizes['obd']}")
        rows += run("obd", obd, epochs=args.epochs * 2, truth=None, full=False)
        write()
    log(f"wrote {RESULTS / 'ranker.md'} ({(time.perf_counter() - started) / 60:.1f} min)")


def _write(
    rows: list[dict[str, object]], sizes: dict[str, str], args: argparse.Namespace, minutes: float
) -> None:
    """Write what has run so far (so a run cut short keeps its finished sections)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ranker.json").write_text(json.dumps(rows, indent=2))
    md = [
        "## Multi-task ranker",
        "",
        f"Machine: 2 CPUs (shared with other jobs), Python {platform.python_version()}, torch "
        f"{torch.__version__} ({args.threads} threads). Command: `python benchmarks/bench_ranker.py "
        f"--sessions {args.sessions} --epochs {args.epochs} --datasets {' '.join(args.datasets)}` "
        f"({minutes:.1f} min).",
        "",
        "Each multi-task model against a single-task Shared-Bottom model per objective "
        "(`single-task`), same features, optimizer (Adam 2e-3, batch 1024) and epoch budget, "
        "early-stopped on valid; figures on the test split (latest sessions / pairs by time). "
        "ECE over 15 equal-mass bins. `true ECE` / `true MAE`: predictions against the "
        "simulator's exact probabilities of each impression. Train time is per model "
        "(single-task: per task).",
    ]
    for name in DATASETS:
        if name in sizes:
            md += [
                "",
                f"### {TITLES[name]}: {sizes[name]}",
                "",
                *table(rows, name, name == "simulator"),
            ]
    (RESULTS / "ranker.md").write_text("\n".join(md) + "\n")


def _describe(features: RankerFeatures) -> str:
    assert features.split is not None
    n_test = int((features.split == "test").sum())
    positives = ", ".join(f"{t} {int(y.sum()):,}" for t, y in features.labels.items())
    return f"{len(features):,} exposures ({n_test:,} test), positives: {positives}"


if __name__ == "__main__":
    main()
