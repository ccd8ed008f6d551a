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
from typing import Any

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
from significance import SIG, yes_no
from spread import mean_sd_text, t_interval, t_interval_verdict

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
    seed: int = 0,
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for v in variants(features.tasks, full=full):
        train = TrainConfig(
            weighting=v.weighting,
            epochs=epochs,
            batch_size=1024,
            tasks=None if v.task is None else (v.task,),
            seed=seed,
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
                    "seed": seed,
                    "model": v.name,
                    "task": task,
                    "seconds": seconds,
                    "best_epoch": history["best_epoch"],
                    "weight": weights[task],
                    **m.as_dict(),
                }
            )
        log(f"  {name} seed {seed} {v.name}{'' if v.task is None else ' ' + v.task}: {seconds:.1f} s, "
            + ", ".join(f"{t} auc {m.auc:.3f} ll {m.logloss:.4f} ece {m.ece:.4f}" for t, m in metrics.tasks.items()))  # fmt: skip
    return rows


def by_model_task(
    rows: list[dict[str, Any]], data: str
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The dataset's rows grouped by (model, task), one row per training seed."""
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r["data"] == data:
            grouped.setdefault((str(r["model"]), str(r["task"])), []).append(r)
    return grouped


def table(rows: list[dict[str, Any]], data: str, truth: bool) -> list[str]:
    head = "| model | task | seeds | AUC | log loss | ECE |" + (
        " true ECE | true MAE |" if truth else ""
    )
    head += " train (s) | epochs |"
    lines = [head, "|---|---|---:|---:|---:|---:|" + ("---:|---:|" if truth else "") + "---:|---:|"]
    for (model, task), group in by_model_task(rows, data).items():
        keys = ["auc", "logloss", "ece"] + (["true_ece", "true_mae"] if truth else [])
        cells = [model, task, str(len(group))]
        cells += [mean_sd_text([float(r[k]) for r in group]) for k in keys]
        cells += [
            mean_sd_text([float(r["seconds"]) for r in group], 1),
            " ".join(str(r["best_epoch"]) for r in group),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def paired_differences(rows: list[dict[str, Any]], data: str) -> dict[tuple[str, str], list[float]]:
    """Each multi-task model's AUC minus the single-task model's, per (model, task), one
    difference per training seed both ran (in the rows' seed order)."""
    grouped = by_model_task(rows, data)
    single = {
        task: {r["seed"]: r["auc"] for r in g}
        for (m, task), g in grouped.items()
        if m == "single-task"
    }
    out: dict[tuple[str, str], list[float]] = {}
    for (model, task), group in grouped.items():
        if model == "single-task" or task not in single:
            continue
        out[model, task] = [
            float(r["auc"]) - float(single[task][r["seed"]])
            for r in group
            if r["seed"] in single[task]
        ]
    return out


def against_single_task(rows: list[dict[str, Any]], data: str) -> list[str]:
    """Each multi-task model's AUC minus the single-task model's, task by task, paired by
    training seed: mean ± sd over the seeds, the mean's 95% Student t interval over the
    seeds (the variance that counts here: the data stay the same), whether it excludes 0,
    and in how many seeds the model is ahead."""
    lines = [
        "| model | task | Δ AUC vs single-task (mean ± sd) | Δ AUC, 95% t interval over seeds "
        f"| {SIG} | ahead in seeds |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (model, task), diffs in paired_differences(rows, data).items():
        if len(diffs) < 2:
            continue
        ahead = sum(d > 0 for d in diffs)
        text, significant = t_interval_verdict(diffs)
        lines.append(
            f"| {model} | {task} | {mean_sd_text(diffs, sign='+')} | {text} "
            f"| {yes_no(significant)} | {ahead}/{len(diffs)} |"
        )
    return lines if len(lines) > 2 else []


def paired_verdict(rows: list[dict[str, Any]], data: str) -> str:
    """One sentence from the intervals: which differences are significant at 95% (above or
    below the single-task model) and that the others' intervals hold 0."""
    above: list[str] = []
    below: list[str] = []
    rest = 0
    seeds = 0
    for (model, task), diffs in paired_differences(rows, data).items():
        if len(diffs) < 2:
            continue
        seeds = max(seeds, len(diffs))
        _, lower, upper = t_interval(diffs)
        if lower > 0:
            above.append(f"{model} on {task}")
        elif upper < 0:
            below.append(f"{model} on {task}")
        else:
            rest += 1
    if not above and not below:
        return (
            f"Over the {seeds} seeds no multi-task model differs significantly from the "
            "single-task model at 95%: every interval holds 0."
        )
    parts = [
        f"significantly {side} the single-task model at 95%: " + ", ".join(found)
        for side, found in (("above", above), ("below", below))
        if found
    ]
    tail = (
        ""
        if not rest
        else "; the other difference's interval holds 0 (no difference shown)"
        if rest == 1
        else f"; the other {rest} differences' intervals hold 0 (no difference shown)"
    )
    return f"Over the {seeds} seeds, " + "; ".join(parts) + tail + "."


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
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="training seeds (the data stay the same); rows are mean ± sd over them",
    )
    parser.add_argument(
        "--keep-stored",
        action="store_true",
        help="keep the stored rows of the (dataset, seed) pairs this run does not train "
        "(add seeds to a finished run)",
    )
    parser.add_argument("--render", action="store_true", help="ranker.md from ranker.json")
    args = parser.parse_args()
    stored = _stored()
    if args.render:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "ranker.md").write_text(
            _markdown(
                stored["rows"], stored["sizes"], stored["commands"], stored.get("minutes", {})
            )
        )
        return
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    encoder = SentenceTransformerEncoder()
    embeddings = cache_dir() / "embeddings"
    command = (
        f"python benchmarks/bench_ranker.py --sessions {args.sessions} --epochs {args.epochs} "
        f"--threads {args.threads} --datasets {' '.join(args.datasets)} --seeds "
        + " ".join(map(str, args.seeds))
        + (" --keep-stored" if args.keep_stored else "")
    )
    same_data = f"--sessions {args.sessions} --epochs {args.epochs} "
    if args.keep_stored and any(same_data not in c for c in stored["commands"]):
        raise SystemExit(
            f"--keep-stored pools seeds of one setting: the stored runs ({stored['commands']}) "
            f"were not all made with {same_data.strip()}"
        )
    rerun = {(d, seed) for d in args.datasets for seed in args.seeds}
    rows: list[dict[str, Any]] = (
        [r for r in stored["rows"] if (r["data"], r["seed"]) not in rerun]
        if args.keep_stored
        else []
    )
    sizes: dict[str, str] = dict(stored["sizes"]) if args.keep_stored else {}
    commands: list[str] = [*stored["commands"], command] if args.keep_stored else [command]
    minutes: dict[str, float] = dict(stored.get("minutes", {})) if args.keep_stored else {}

    def done(
        name: str, features: RankerFeatures, truth: Mapping[str, object] | None, **kw: Any
    ) -> None:
        sizes[name] = _describe(features)
        log(f"{name}: {sizes[name]}")
        for seed in args.seeds:
            rows.extend(run(name, features, truth=truth, seed=seed, **kw))
            minutes[command] = (time.perf_counter() - started) / 60
            _write(rows, sizes, commands, minutes)

    if "simulator" in args.datasets:
        log(f"simulating {args.sessions:,} sessions")
        logs = simulate_with_truth(
            args.items, args.users, args.sessions, seed=0, config=WorldConfig.lively()
        )
        sim = build_ranker_features(logs.dataset, encoder=encoder, cache_dir=embeddings)
        done("simulator", sim, truth_for(sim, logs), epochs=args.epochs, full=True)
    if "taobao" in args.datasets:
        taobao = build_ranker_features(
            load_builtin(BuiltinDataset.TAOBAO),
            encoder=encoder,
            cache_dir=embeddings,
            test_fraction=0.3,
        )
        done("taobao", taobao, None, epochs=args.epochs * 2, full=False)
    if "obd" in args.datasets:
        obd = build_ranker_features(
            load_builtin(BuiltinDataset.OBD_RANDOM_ALL, cache=fetch_obd(REPO_CACHE).parent),
            encoder=encoder,
            cache_dir=embeddings,
            test_fraction=0.3,
        )
        done("obd", obd, None, epochs=args.epochs * 2, full=False)
    log(f"wrote {RESULTS / 'ranker.md'} ({(time.perf_counter() - started) / 60:.1f} min)")


def _stored() -> dict[str, Any]:
    """ranker.json: rows (one per dataset, seed, model, task), the datasets' sizes, the
    commands that produced them and their minutes."""
    path = RESULTS / "ranker.json"
    if not path.is_file():
        return {"rows": [], "sizes": {}, "commands": [], "minutes": {}}
    stored: dict[str, Any] = json.loads(path.read_text())
    return stored


def _write(
    rows: list[dict[str, Any]],
    sizes: dict[str, str],
    commands: list[str],
    minutes: dict[str, float],
) -> None:
    """Write what has run so far (so a run cut short keeps its finished sections)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ranker.json").write_text(
        json.dumps(
            {"rows": rows, "sizes": sizes, "commands": commands, "minutes": minutes}, indent=2
        )
    )
    (RESULTS / "ranker.md").write_text(_markdown(rows, sizes, commands, minutes))


def _markdown(
    rows: list[dict[str, Any]],
    sizes: dict[str, str],
    commands: list[str],
    minutes: dict[str, float],
) -> str:
    """ranker.md from the rows (one per dataset, seed, model, task)."""
    runs = "; ".join(
        f"`{c}`" + (f" ({minutes[c]:.1f} min)" if c in minutes else "") for c in commands
    )
    md = [
        "## Multi-task ranker",
        "",
        f"Machine: 2 CPUs (shared with other jobs), Python {platform.python_version()}, torch "
        f"{torch.__version__}. Commands: {runs}.",
        "",
        "Each multi-task model against a single-task Shared-Bottom model per objective "
        "(`single-task`), same features, optimizer (Adam 2e-3, batch 1024) and epoch budget, "
        "early-stopped on valid; figures on the test split (latest sessions / pairs by time). "
        "ECE over 15 equal-mass bins. `true ECE` / `true MAE`: predictions against the "
        "simulator's exact probabilities of each impression. Train time is per model "
        "(single-task: per task). With several training seeds (the data stay the same) a "
        "figure is mean ± sd over them, and *epochs* lists each seed's best epoch; seeds "
        "added by a later command ran on a machine loaded differently, so the train time's "
        "sd mixes machine load with the seeds.",
    ]
    for name in DATASETS:
        if name in sizes:
            md += [
                "",
                f"### {TITLES[name]}: {sizes[name]}",
                "",
                *table(rows, name, name == "simulator"),
            ]
            paired = against_single_task(rows, name)
            if paired:
                synthetic = " (synthetic log)" if name == "simulator" else ""
                md += [
                    "",
                    f"Each multi-task model minus the single-task model{synthetic}, paired by "
                    "training seed: the mean difference's 95% Student t interval over the seeds "
                    f"counts the training-seed variance (the data stay the same); *{SIG}*: the "
                    "interval excludes 0.",
                    "",
                    *paired,
                    "",
                    paired_verdict(rows, name),
                ]
    return "\n".join(md) + "\n"


def _describe(features: RankerFeatures) -> str:
    assert features.split is not None
    n_test = int((features.split == "test").sum())
    positives = ", ".join(f"{t} {int(y.sum()):,}" for t, y in features.labels.items())
    return f"{len(features):,} exposures ({n_test:,} test), positives: {positives}"


if __name__ == "__main__":
    main()
