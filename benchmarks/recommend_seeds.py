"""Training seeds of bench_recommend's learned models (#21): each `--only ours
--model-seed N` run other than 0 keeps its figures and per-user lists in
.work/recommend/seeds; this collects them with the stored seed-0 run into mean ± sd per
model and seed-averaged paired intervals, and renders their section of recommend.md.

The split, the validation users and co-visitation do not depend on the seed; the neural
generators' initialisation and batches and the learned merge's training sample and trees
do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from paretorec.evaluate.paired import paired_bootstrap
from significance import SIG, yes_no
from spread import mean_sd_text, t_interval

PerUser = dict[str, dict[str, NDArray[np.float64]]]

LEARNED = "learned merge"
SEEDED = ("two-tower", "sequential", "merge", LEARNED)  # the rows a seed changes
METRICS = ("ndcg@10", "recall@10", "recall@50")
N_BOOTSTRAP = 1000


def seed_files(folder: Path, seed: int) -> tuple[Path, Path]:
    return folder / f"seed-{seed}.json", folder / f"seed-{seed}.npz"


def save_seed_run(folder: Path, seed: int, run: dict[str, Any], per_user: PerUser) -> None:
    """One seed's figures (results, training logs, command) and its per-user lists."""
    folder.mkdir(parents=True, exist_ok=True)
    figures, lists = seed_files(folder, seed)
    figures.write_text(json.dumps(run, indent=2, default=str) + "\n")
    save_lists(lists, per_user)


def save_lists(path: Path, per_user: PerUser) -> None:
    """Each model's per-user figures, one array per `model|metric`, in one .npz."""
    flat = {f"{m}|{metric}": v for m, values in per_user.items() for metric, v in values.items()}
    np.savez(path, **flat)  # type: ignore[arg-type]


def load_lists(path: Path) -> PerUser:
    out: PerUser = {}
    with np.load(path) as saved:
        for key in saved.files:
            model, metric = key.split("|")
            out.setdefault(model, {})[metric] = saved[key]
    return out


def stored_seeds(folder: Path) -> list[int]:
    return sorted(int(p.stem.removeprefix("seed-")) for p in folder.glob("seed-*.json"))


def _epochs(training: dict[str, Any]) -> dict[str, list[int | bool]]:
    return {
        name: [log["epochs_run"], log["best_epoch"] + 1, log["stopped_early"]]  # best: 1-based
        for name, log in training.items()
    }


def seed_averaged(a: list[NDArray[np.float64]], b: list[NDArray[np.float64]]) -> dict[str, Any]:
    """a minus b (one list per seed, the same users): the seed-averaged paired interval,
    each seed's difference, how many seeds a is ahead in and significantly ahead in."""
    each = [
        paired_bootstrap(x, y, n_bootstrap=N_BOOTSTRAP, seed=0) for x, y in zip(a, b, strict=True)
    ]
    averaged = paired_bootstrap(
        np.mean(a, axis=0), np.mean(b, axis=0), n_bootstrap=N_BOOTSTRAP, seed=0
    )
    per_seed = [found.difference for found in each]
    over_seeds = t_interval(per_seed) if len(per_seed) > 1 else None
    return {
        **averaged.as_dict(),
        "per_seed": per_seed,
        "t_over_seeds": over_seeds,  # (mean, lower, upper): counts training-seed variance
        "ahead": sum(found.difference > 0 for found in each),
        "significant_seeds": sum(found.significant and found.difference > 0 for found in each),
    }


def collect_seeds(
    report: dict[str, Any], per_user: PerUser, folder: Path, best_peer: str | None
) -> dict[str, Any] | None:
    """The stored run (seed 0: `report`, `per_user`) and every seed run in `folder`: each
    seeded model's figures per seed, and paired comparisons (seed-averaged per user, and
    per seed) of the merges against the best peer and co-visitation. None below 2 seeds."""
    seeds = [0, *(s for s in stored_seeds(folder) if s != 0)]
    if len(seeds) < 2:
        return None
    runs = {0: (report["results"], per_user, report.get("training", {}), report["command"])}
    for seed in seeds[1:]:
        figures, lists = seed_files(folder, seed)
        run = json.loads(figures.read_text())
        runs[seed] = (run["results"], load_lists(lists), run["training"], run["command"])
    rows = {
        name: {metric: [runs[s][0][name][metric] for s in seeds] for metric in METRICS}
        for name in SEEDED
        if all(name in runs[s][0] for s in seeds)
    }
    pairs = [(LEARNED, "covisitation"), ("merge", "covisitation"), (LEARNED, "merge")]
    pairs += [(n, "covisitation") for n in ("two-tower", "sequential")]
    if best_peer is not None:
        pairs[:0] = [(LEARNED, best_peer), ("merge", best_peer)]

    def lists_of(name: str, metric: str) -> list[NDArray[np.float64]]:
        # a model no seed changes (co-visitation, a peer) is the stored run's list
        return [
            runs[s][1][name][metric] if name in runs[s][1] else per_user[name][metric]
            for s in seeds
        ]

    def known(name: str) -> bool:
        # a seeded model needs every seed's lists; another is the stored run's
        return all(name in runs[s][1] for s in seeds) or (name not in SEEDED and name in per_user)

    compared = []
    for a, b in [(a, b) for a, b in pairs if known(a) and known(b)]:
        for metric in ("ndcg@10", "recall@10"):
            found = seed_averaged(lists_of(a, metric), lists_of(b, metric))
            compared.append({"a": a, "b": b, "metric": metric, **found})
    return {
        "seeds": seeds,
        "commands": [runs[s][3] for s in seeds],
        "rows": rows,
        "epochs": {s: _epochs(runs[s][2]) for s in seeds},
        "comparisons": compared,
    }


def _stopped(epochs: dict[Any, dict[str, list[Any]]]) -> str:
    """Whether every neural run stopped by itself, from the runs' own flags."""
    runs = [e for by_model in epochs.values() for e in by_model.values()]
    if all(e[2] for e in runs):
        return "every run stopped by itself"
    capped = sum(not e[2] for e in runs)
    return f"{capped} of {len(runs)} runs reached the cap"


def render_seeds(found: dict[str, Any] | None, labels: dict[str, str]) -> list[str]:
    """The seeds section of recommend.md (nothing when fewer than 2 seeds ran)."""
    if not found:
        return []
    seeds = found["seeds"]
    n = len(seeds)
    lines = [
        f"### Training seeds ({n} seeds: {', '.join(map(str, seeds))})",
        "",
        "The table above is seed 0. The neural generators and the learned merge were trained "
        "again with `--model-seed` (their initialisation and batches, the merge's training "
        "sample and trees; the split, the validation users, co-visitation and the peers are "
        f"the same), under the same epoch cap with early stopping ({_stopped(found['epochs'])}). "
        "Commands: " + "; ".join(f"`python benchmarks/{c}`" for c in found["commands"]) + ".",
        "",
        "| model | seeds | NDCG@10 | Recall@10 | Recall@50 | NDCG@10 by seed |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, values in found["rows"].items():
        by_seed = " ".join(f"{v:.4f}" for v in values["ndcg@10"])
        cells = " | ".join(mean_sd_text(values[m]) for m in METRICS)
        lines.append(f"| {labels.get(name, name)} | {n} | {cells} | {by_seed} |")
    lines += [
        "",
        "Epochs run, best epoch, stopped by its own early stopping, by seed: "
        + "; ".join(
            f"seed {s}: "
            + ", ".join(
                f"{name} {e[0]} (best {e[1]}, {'stopped' if e[2] else 'cap'})"
                for name, e in epochs.items()
            )
            for s, epochs in found["epochs"].items()
        )
        + ".",
        "",
        f"Pairs, a minus b: Δ averaged over the seeds per test user, with its 95% paired bootstrap interval over the users ({N_BOOTSTRAP:,} resamples), and the 95% Student t interval of the per-seed differences over the seeds (the one that counts training-seed variance); *{SIG}*: both intervals exclude 0; *ahead*: seeds where a's mean is above b's; *sig. ahead*: seeds where a's own interval over the users lies above 0.",
        "",
        f"| a | b | metric | Δ [95% CI over users] | 95% t over seeds | {SIG} | Δ by seed | ahead | sig. ahead |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for c in found["comparisons"]:
        by_seed = " ".join(f"{d:+.4f}" for d in c["per_seed"])
        _, low, high = c.get("t_over_seeds") or (0.0, 0.0, 0.0)
        both = bool(c["significant"]) and (low > 0 or high < 0)
        lines.append(
            f"| {labels.get(c['a'], c['a'])} | {labels.get(c['b'], c['b'])} | {c['metric']} | "
            f"{c['difference']:+.4f} [{c['lower']:+.4f}, {c['upper']:+.4f}] | "
            f"[{low:+.4f}, {high:+.4f}] | {yes_no(both)} | {by_seed} | {c['ahead']}/{n} | "
            f"{c['significant_seeds']}/{n} |"
        )
    return [*lines, ""]
