"""Robustness of the multi-task ranker to flipped click labels: cross-entropy (today) vs
the generalized cross-entropy and APR's adversarial training, at increasing noise.

Simulated logs with their truth (`simulate_with_truth`, a lively world, seed 0; the
uniform logging policy), ranker features without text (hashed ids, position, dense
features). A share r of the *train* rows' click labels is flipped (seeded; valid and test
labels stay clean), then an MMoE ranker (hidden 64-32, tower 16) is trained with the same
budget for each variant (`--epochs` epochs at most, early stopping on the valid rows'
log loss, batch 1,024, Adam 2e-3):

- cross-entropy: today's training;
- gce: `label_loss=gce` (q = 0.7);
- apr: `adversarial_eps=EPS`, `adversarial_weight=1` (APR: the gradient step of norm EPS
  on each id-embedding vector alone);
- gce+apr: both.

Measured on the test rows: click AUC against the logged (clean) labels and the mean
absolute error against the true click probability (the simulator's); mean ± sd over
`--seeds` seeds (of the flips and the training).

    .venv/bin/python benchmarks/bench_robustness_ranker.py [--seeds 2] [--epochs 4]
    .venv/bin/python benchmarks/bench_robustness_ranker.py --render
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from paretorec.rank import (
    RankerConfig,
    RankerFeatures,
    TrainConfig,
    build_ranker_features,
    evaluate_ranker,
    simulate_with_truth,
    train_ranker,
)
from paretorec.rank.config import LabelLoss
from paretorec.rank.simulated import truth_for
from paretorec.simulate import WorldConfig
from significance import SIG, yes_no
from spread import t_interval_verdict

RESULTS = Path(__file__).resolve().parent / "results"
NAME = "robustness_ranker"
NOISE = (0.0, 0.1, 0.2, 0.3)
EPS = 0.5
CONFIG = RankerConfig(hidden=(64, 32), tower=(16,), n_experts=2)
VARIANTS: dict[str, dict[str, Any]] = {
    "cross-entropy": {},
    "gce": {"label_loss": LabelLoss.GCE},
    "apr": {"adversarial_eps": EPS},
    "gce+apr": {"label_loss": LabelLoss.GCE, "adversarial_eps": EPS},
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def flipped(features: RankerFeatures, share: float, seed: int) -> RankerFeatures:
    """`features` with a seeded share of the train rows' click labels flipped."""
    if share == 0:
        return features
    assert features.split is not None
    train = np.flatnonzero(features.split == "train")
    rng = np.random.default_rng(seed)
    rows = rng.choice(train, size=round(share * train.size), replace=False)
    click = features.labels["click"].copy()
    click[rows] = 1.0 - click[rows]
    return replace(features, labels={**features.labels, "click": click})


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    torch.set_num_threads(1)
    logs = simulate_with_truth(
        args.items, args.users, args.sessions, seed=0, config=WorldConfig.lively()
    )
    features = build_ranker_features(logs.dataset)
    truth = truth_for(features, logs)
    log(f"{len(features):,} rows")
    rows = []
    for share in NOISE:
        row: dict[str, Any] = {"noise": share}
        for name, options in VARIANTS.items():
            auc, mae = [], []
            for seed in range(args.seeds):
                train = TrainConfig(epochs=args.epochs, seed=seed, **options)
                ranker = train_ranker(flipped(features, share, seed), config=CONFIG, train=train)
                found = evaluate_ranker(ranker, features, truth=truth).as_dict()
                auc.append(found["click.auc"])
                mae.append(found["click.true_mae"])
            # per-seed values kept for re-summarizing (the stored 2-seed run has mean, sd only)
            row[name] = {
                "auc": {"mean": float(np.mean(auc)), "sd": float(np.std(auc, ddof=1))},
                "true_mae": {"mean": float(np.mean(mae)), "sd": float(np.std(mae, ddof=1))},
                "values": {"auc": auc, "true_mae": mae},
            }
        log(json.dumps(row))
        rows.append(row)
    return {
        "rows": rows,
        "config": {
            "rows": len(features),
            "items": args.items,
            "users": args.users,
            "sessions": args.sessions,
            "seeds": args.seeds,
            "epochs": args.epochs,
            "eps": EPS,
            "seconds": time.perf_counter() - started,
            "command": "python benchmarks/bench_robustness_ranker.py " + " ".join(sys.argv[1:]),
            "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, "
            f"Python {platform.python_version()}, torch {torch.__version__} (1 thread)",
        },
    }


def spread(summary: dict[str, float]) -> str:
    """A stored {mean, sd} over the seeds as `mean ± sd` (a nonzero sd never prints as 0)."""
    sd = summary["sd"]
    shown = "<0.0001" if 0 < sd < 0.00005 else f"{sd:.4f}"
    return f"{summary['mean']:.4f} ± {shown}"


def paired_lines(found: dict[str, Any]) -> list[str]:
    """Each variant minus cross-entropy at each noise level, paired by seed (the same flips
    and shop), with its 95% t interval over the seeds (rows stored before the per-seed
    values were kept: none)."""
    rows = [r for r in found["rows"] if "values" in r["cross-entropy"]]
    if not rows or len(rows[0]["cross-entropy"]["values"]["auc"]) < 2:
        return []
    lines = [
        "",
        "Each variant minus cross-entropy, paired by seed, with the 95% Student t interval "
        f"over the seeds; *{SIG}*: the interval excludes 0.",
        "",
        f"| flipped | variant | Δ AUC [95% t] | {SIG} | Δ MAE vs truth [95% t] | {SIG} |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        base = row["cross-entropy"]["values"]
        for name in [n for n in VARIANTS if n != "cross-entropy"]:
            cells = []
            for key in ("auc", "true_mae"):
                diff = np.subtract(row[name]["values"][key], base[key]).tolist()
                text, significant = t_interval_verdict(diff)
                cells += [text, yes_no(significant)]
            lines.append(f"| {row['noise']:.0%} | {name} | " + " | ".join(cells) + " |")
    return lines


def render(found: dict[str, Any]) -> str:
    config = found["config"]
    names = list(VARIANTS)
    lines = [
        "## Robustness of the ranker: flipped click labels (simulator)",
        "",
        f"Machine: {config['machine']}. Command: `{config['command'].strip()}`; "
        f"wall {config['seconds'] / 60:.1f} min.",
        "",
        f"Simulated logs with their truth ({config['items']:,} items, {config['users']:,} "
        f"shoppers, {config['sessions']:,} sessions of the uniform logging policy, lively "
        f"world, seed 0; {config['rows']:,} impression rows), ranker features without text. "
        "A share of the *train* rows' click labels is flipped (valid and test stay clean); "
        f"an MMoE ranker trains on the same budget for each variant (at most "
        f"{config['epochs']} epochs, early stopping on the valid log loss): cross-entropy "
        f"(today), the generalized cross-entropy (q = 0.7), APR (eps = {config['eps']:g} "
        "on each id-embedding vector, the text, position and dense inputs untouched; "
        "weight 1) and both. Test rows: click AUC against the logged labels and mean "
        "absolute error against the simulator's true click probability; mean ± sd over "
        f"{config['seeds']} seeds (of the flips and the training; with so few seeds the sd "
        "is itself rough).",
        "",
        "| flipped | "
        + " | ".join(f"{n} AUC" for n in names)
        + " | "
        + " | ".join(f"{n} MAE" for n in names)
        + " |",
        "|---:|" + "---:|" * (2 * len(names)),
    ]
    for row in found["rows"]:
        aucs = [spread(row[n]["auc"]) for n in names]
        maes = [spread(row[n]["true_mae"]) for n in names]
        lines.append(f"| {row['noise']:.0%} | " + " | ".join(aucs + maes) + " |")
    clean = found["rows"][0]
    middle = found["rows"][len(found["rows"]) // 2]
    lines += [
        "",
        f"At {middle['noise']:.0%} flipped, each variant keeps of its clean AUC (the ratio of "
        f"the means over the {config['seeds']} seeds, so without an sd): ",
    ]
    lines[-1] += (
        ", ".join(f"{n} {middle[n]['auc']['mean'] / clean[n]['auc']['mean']:.1%}" for n in names)
        + "; error against the true click probability there: "
        + ", ".join(f"{n} {spread(middle[n]['true_mae'])}" for n in names)
        + f" (clean cross-entropy: {spread(clean['cross-entropy']['true_mae'])})."
    )
    lines += paired_lines(found)
    lines += [
        "",
        "Read with care: clicks are rare here, so flipping labels mostly adds false clicks; "
        "cross-entropy then learns the inflated click rate (its error against the truth grows "
        "with the noise) while its ranking (AUC) barely moves, because symmetric flips keep "
        "the order of the click probabilities. GCE ignores the confident mistakes: its error "
        f"against the truth is {spread(found['rows'][0]['gce']['true_mae'])} on clean labels "
        f"and {spread(found['rows'][-1]['gce']['true_mae'])} at "
        f"{found['rows'][-1]['noise']:.0%} flipped, against cross-entropy's "
        f"{spread(found['rows'][-1]['cross-entropy']['true_mae'])} there (over only "
        f"{config['seeds']} seeds), but it fits rare positives slowly and "
        "ranks worse, on clean labels too; APR's perturbations guard against small moves of "
        "the id embeddings "
        "(tests/rank/test_robust.py), not against flipped labels. (The run before this one "
        "perturbed the whole representation, dense features included, FGM-style: APR's AUC "
        "at 20% flipped was then 0.6676 ± 0.0692; on the id embeddings alone, as here, it "
        "tracks cross-entropy.) Both therefore stay off by "
        "default.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=6000)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--render", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{NAME}.json"
    found = json.loads(path.read_text()) if args.render else run(args)
    if not args.render:
        path.write_text(json.dumps(found, indent=1) + "\n")
    (RESULTS / f"{NAME}.md").write_text(render(found))
    log(f"wrote {path} and {NAME}.md")


if __name__ == "__main__":
    main()
