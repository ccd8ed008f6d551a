"""The neural recommenders before and after training to convergence (#18), with seeds (#21).

Run by ``bench_recommend.py --only convergence``: on the benchmark's own split (the seeded
5% item hold-out, leave-last-out), each of two-tower and sequential is trained

- *fixed epochs (before)*: the benchmark's earlier settings: two-tower 1 epoch,
  sequential 2 epochs with max length 20 and in-batch negatives, constant learning rate,
  best epoch by valid Recall@10;
- *early stopping (after)*: the library's defaults: up to `--max-epochs` epochs, stopped
  after 3 epochs without a better valid NDCG@10, the best epoch's weights kept, linear
  warm-up then the rate halved on each plateau; sequential with max length 10 (windows
  keep every next-item pair), mixed in-batch + 512 uniform negatives with logQ;

for each seed, and measured on test (full-catalog ranking, the history excluded): mean ±
sd over the seeds, the epochs run and each run's validation curve. `--convergence-users N`
restricts training, validation and test to a seeded sample of N users (all items stay
in the catalog), so the comparison fits a shared CPU; 0 takes every user.

RecBole's SASRec on the same sample (its own venv; its settings in bench_recommend's
runner, RecBole's defaults with stopping_step 10), started in DIR unless DIR already holds
the sample, then collected and scored as our rows (one process; seen: 52 epochs, 45 min
on 5,000 users, 1 thread):

    .venv/bin/python benchmarks/bench_recommend.py --only convergence \
        --convergence-users 5000 --max-epochs 30 --threads 1 \
        --recbole-from benchmarks/.work/recommend/recbole-u5000 --recbole-epochs 300 \
        --recbole-budget 7200
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.data.locations import cache_dir
from paretorec.encode import SentenceTransformerEncoder, encode_items_cached, item_text
from paretorec.retrieve.recommend import Sequential, TrainingData, TwoTower, ValidationSet
from paretorec.retrieve.recommend.base import Generator
from recommend_seeds import seed_averaged
from significance import SIG, yes_no

VARIANTS = ("fixed epochs (before)", "early stopping (after)")
MODELS = ("two-tower", "sequential")
FIGURES = ("ndcg@10", "recall@10", "recall@50")
CHUNK = 2000
RECBOLE = "RecBole SASRec"
PerUserOf = Callable[[NDArray[np.int64], sp.csr_array], dict[str, NDArray[np.float64]]]
Lists = dict[str, NDArray[np.float64]]  # "model|variant|seed|metric" -> each test user's figure
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORK = HERE / ".work" / "recommend"


def build(model: str, variant: str, seed: int, max_epochs: int) -> TwoTower | Sequential:
    """The generator of `model` under `variant` (see the module docstring)."""
    before = variant == VARIANTS[0]
    if model == "two-tower":
        if before:
            return TwoTower(
                epochs=1,
                batch_size=1024,
                patience=2,
                schedule="constant",
                warmup_epochs=0.0,
                valid_metric="recall",
                seed=seed,
            )
        return TwoTower(epochs=max_epochs, batch_size=1024, seed=seed)
    if before:
        return Sequential(
            epochs=2,
            batch_size=512,
            max_length=20,
            negatives="in-batch",
            uniform_negatives=0,
            patience=2,
            schedule="constant",
            warmup_epochs=0.0,
            valid_metric="recall",
            seed=seed,
        )
    return Sequential(epochs=max_epochs, batch_size=512, seed=seed)


def top_k(
    model: Generator, histories: list[NDArray[np.int64]], vectors: NDArray[np.float32], k: int
) -> NDArray[np.int64]:
    """Each history's top k over the full catalog, its own items excluded."""
    out = np.empty((len(histories), k), dtype=np.int64)
    for start in range(0, len(histories), CHUNK):
        part = histories[start : start + CHUNK]
        scores = model.score(part, vectors)
        for row, history in enumerate(part):
            scores[row, history] = -np.inf
        best = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, best, axis=1), axis=1, kind="stable")
        out[start : start + len(part)] = np.take_along_axis(best, order, axis=1)
    return out


def mean_sd(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    sd = float(array.std(ddof=1)) if array.size > 1 else float("nan")
    return {"mean": float(array.mean()), "sd": sd, "n": int(array.size)}


def run_convergence(
    *,
    train: list[NDArray[np.int64]],
    valid_items: NDArray[np.int64],
    test_items: NDArray[np.int64],
    before_test: list[NDArray[np.int64]],
    vectors: NDArray[np.float32],
    users: int,
    seeds: int,
    max_epochs: int,
    valid_users: int,
    metrics_of: Callable[[NDArray[np.int64], sp.csr_array], dict[str, float]],
    log: Callable[[str], None],
    save: Callable[[dict[str, Any], Lists], None],
    per_user_of: PerUserOf | None = None,
    sample_seed: int = 0,
    only_seed: int | None = None,
    recbole_from: Path | None = None,
    recbole_wait: float = 0.0,
    recbole_start: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """Every (model, variant, seed): its epochs, curve and test figures; `save(report,
    lists)` after each run (with each test user's figures when `per_user_of` is given, for
    the paired intervals), so a run cut short keeps what finished. With `recbole_from`, RecBole's
    SASRec on the same users instead (started there first, with `recbole_start` = (epoch
    cap, threads), when the folder holds no sample yet)."""
    n_users, n_items = len(train), vectors.shape[0]
    with_test = np.flatnonzero(test_items >= 0)
    rng = np.random.default_rng(sample_seed)
    chosen = (
        np.sort(rng.choice(with_test, users, replace=False))
        if 0 < users < with_test.size
        else with_test
    )
    data = TrainingData(vectors, tuple(train[u] for u in chosen.tolist()))
    with_valid = chosen[(valid_items[chosen] >= 0) & np.array([train[u].size > 0 for u in chosen])]
    checked = np.sort(rng.choice(with_valid, min(valid_users, with_valid.size), replace=False))
    validation = ValidationSet(tuple(train[u] for u in checked.tolist()), valid_items[checked])
    histories = [before_test[u] for u in chosen.tolist()]
    relevance = sp.csr_array(
        (np.ones(chosen.size), (np.arange(chosen.size), test_items[chosen])),
        shape=(chosen.size, n_items),
    )
    report: dict[str, Any] = {
        "users": int(chosen.size),
        "of_users": int(n_users),
        "items": int(n_items),
        "train_interactions": int(sum(s.size for s in data.sequences)),
        "validation_users": int(checked.size),
        "max_epochs": max_epochs,
        "seeds": list(range(seeds)),
        "runs": [],
    }
    if recbole_from is not None:  # the peer on the same users, instead of our models
        if recbole_start is not None and not (recbole_from / "users.npy").exists():
            start_recbole_sample(
                recbole_from, chosen, before_test, test_items, recbole_start, recbole_wait, log
            )
        report["recbole"], recbole_lists = collect_recbole_sample(
            recbole_from, chosen, relevance, metrics_of, log, recbole_wait, per_user_of
        )
        save(report, recbole_lists)
        return report
    lists: Lists = {}
    for seed in range(seeds) if only_seed is None else (only_seed,):
        for model_name in MODELS:
            for variant in VARIANTS:
                model = build(model_name, variant, seed, max_epochs)
                log(f"convergence: {model_name}, {variant}, seed {seed}")
                start = time.perf_counter()
                model.fit(data, validation=validation)
                fit_seconds = time.perf_counter() - start
                assert model.training_log is not None
                start = time.perf_counter()
                top = top_k(model, histories, vectors, 50)
                found = metrics_of(top, relevance)
                if per_user_of is not None:
                    for metric, values in per_user_of(top, relevance).items():
                        lists[f"{model_name}|{variant}|{seed}|{metric}"] = values
                run = {
                    "model": model_name,
                    "variant": variant,
                    "seed": seed,
                    "config": model._config(),
                    "fit_seconds": fit_seconds,
                    "eval_seconds": time.perf_counter() - start,
                    "training": model.training_log.as_dict(),
                    "test": found,
                }
                log(f"  {model.training_log.summary()}; test {json.dumps(found)}")
                report["runs"].append(run)
                report["summary"] = summarize(report["runs"])
                save(report, lists)
    return report


def start_recbole_sample(
    folder: Path,
    chosen: NDArray[np.int64],
    before_test: list[NDArray[np.int64]],
    test_items: NDArray[np.int64],
    start: tuple[int, int],
    budget: float,
    log: Callable[[str], None],
) -> None:
    """The sample's atomic file (each user's train + valid + test; tokens are the user and
    item indices, so the top-k maps back) and users.npy, then bench_recommend's runner on
    it in the background, its process id in ``folder/pid``."""
    from bench_recommend import start_recbole

    (folder / "games").mkdir(parents=True, exist_ok=True)
    with (folder / "games" / "games.inter").open("w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for user in chosen.tolist():
            sequence = np.append(before_test[user], test_items[user])
            for step, item in enumerate(sequence.tolist()):
                f.write(f"{user}\t{item}\t{step}\n")
    np.save(folder / "users.npy", chosen)
    epochs, threads = start
    log(f"starting RecBole on the {chosen.size} users ({threads} thread(s), {budget:.0f} s)")
    process = start_recbole(folder, epochs, budget - 30, threads)
    if isinstance(process, str):
        raise RuntimeError(process)
    (folder / "pid").write_text(str(process.pid))


def collect_recbole_sample(
    folder: Path,
    chosen: NDArray[np.int64],
    relevance: sp.csr_array,
    metrics_of: Callable[[NDArray[np.int64], sp.csr_array], dict[str, float]],
    log: Callable[[str], None],
    wait: float,
    per_user_of: PerUserOf | None = None,
) -> tuple[dict[str, Any], Lists]:
    """RecBole's SASRec run by hand on the sample's sequences (bench_recommend's runner, an
    atomic file of these users only, its process id in ``folder/pid``): waits up to `wait`
    seconds while it runs, then its own figures and its top 50 (history excluded) scored
    here (with each user's figures, when `per_user_of` is given); a test user it did not
    rank counts as a miss."""
    written = np.load(folder / "users.npy")
    if not np.array_equal(written, chosen):
        return {"error": f"{folder} holds other users than this sample"}, {}
    result = folder / "result.json"
    deadline = time.perf_counter() + wait
    while not result.exists() and time.perf_counter() < deadline and _alive(folder / "pid"):
        time.sleep(30)
    items = {line.split("\t")[1] for line in (folder / "games" / "games.inter").open()}
    if not result.exists():
        found: dict[str, Any] = {"error": "the RecBole run did not finish"}
        if (folder / "progress.json").exists():
            found.update(json.loads((folder / "progress.json").read_text()))
        return found, {}
    done: dict[str, Any] = json.loads(result.read_text())
    saved = np.load(folder / "top.npz")
    position = {int(u): i for i, u in enumerate(saved["users"])}
    rows = np.array([position.get(int(u), -1) for u in chosen])
    have = rows >= 0
    found = metrics_of(saved["top"][rows[have]], relevance[np.flatnonzero(have)])
    share = have.sum() / chosen.size  # an unranked user is a miss: means scale by the share
    ours = {name: value * share for name, value in found.items()}
    misses = int((~have).sum())
    log(f"RecBole on the sample: {json.dumps(ours)}")
    lists: Lists = {}
    if per_user_of is not None:
        for metric, values in per_user_of(
            saved["top"][rows[have]], relevance[np.flatnonzero(have)]
        ).items():
            every = np.zeros(chosen.size)  # an unranked user: a miss
            every[have] = values
            lists[f"{RECBOLE}|-|-|{metric}"] = every
    found = {**done, "ours": ours, "unranked_users": misses, "items_in_file": len(items) - 1}
    return found, lists


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def summarize(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Mean ± sd over seeds of each (model, variant): test figures, epochs run."""
    out: dict[str, dict[str, Any]] = {}
    for model in MODELS:
        for variant in VARIANTS:
            mine = [r for r in runs if r["model"] == model and r["variant"] == variant]
            if not mine:
                continue
            out[f"{model} | {variant}"] = {
                **{name: mean_sd([r["test"][name] for r in mine]) for name in FIGURES},
                "epochs_run": [r["training"]["epochs_run"] for r in mine],
                "best_epoch": [r["training"]["best_epoch"] + 1 for r in mine],
                "stopped_early": [r["training"]["stopped_early"] for r in mine],
                "fit_seconds": mean_sd([r["fit_seconds"] for r in mine]),
            }
    return out


def render_convergence(scales: list[dict[str, Any]], out: Path) -> None:
    """results/recommend_convergence.md: one section for each sample size run."""
    lines = [
        "## Neural recommenders trained to convergence (Amazon Games)",
        "",
        "The benchmark's split (seeded 5% item hold-out, leave-last-out) on a seeded sample of users (so that it fits the shared CPU; every item stays rankable). Early stopping and the best epoch are chosen on the sample's valid items (second-to-last), figures are on their test items (last), full-catalog ranking with the history excluded. *Fixed epochs (before)*: the settings of the benchmark's earlier runs (two-tower 1 epoch; sequential 2 epochs, max length 20, in-batch negatives; constant learning rate, best epoch by valid Recall@10). *Early stopping (after)*: the library's defaults (patience 3 on valid NDCG@10, best weights restored, warm-up then the rate halved on each plateau; sequential: max length 10 in windows, in-batch + 512 uniform negatives with logQ) under the epoch cap given. Mean ± sd over the seeds; times are wall clock on 2 cores shared with other jobs.",
        "",
    ]
    for scale in scales:
        lines += _render_scale(scale)
    out.write_text("\n".join(lines))


def _render_recbole(row: dict[str, Any] | None, report: dict[str, Any]) -> list[str]:
    if not row:
        return []
    epochs = row.get("epochs", [])
    curve = " ".join(f"{e.get('valid', {}).get('ndcg@10', float('nan')):.4f}" for e in epochs)
    from bench_recommend import recbole_settings

    threads = row.get("threads", row.get("config", {}).get("threads", "?"))
    cap = row.get("config", {}).get("epochs", 50)
    head = f"RecBole SASRec (1.2.1, its own venv, {threads} torch thread(s), {recbole_settings(row)}, cap {cap} epochs) on these same {report['users']:,} users: {len(epochs)} epoch(s), stopped by {row.get('stopped') or 'being killed'}; valid NDCG@10 by epoch: {curve}."
    if epochs and "wall_seconds" in epochs[-1]:
        # RecBole keeps the later epoch on a tie (`>=`)
        best = max(range(len(epochs)), key=lambda i: (epochs[i]["valid"]["ndcg@10"], i))
        head += f" Best epoch {best + 1} of {len(epochs)}; training ended {epochs[-1]['wall_seconds'] / 60:.1f} min after the start."
    if "error" in row:
        return ["", f"{head} No test figures: {row['error']}."]
    test, ours = row["test"], row["ours"]
    return [
        "",
        f"{head} Its own test figures: NDCG@10 {test['ndcg@10']:.4f}, Recall@10 {test['recall@10']:.4f}, Recall@50 {test['recall@50']:.4f}; its top 50 with the history excluded, scored here as the rows above: NDCG@10 {ours['ndcg@10']:.4f}, Recall@10 {ours['recall@10']:.4f}, Recall@50 {ours['recall@50']:.4f} ({row['unranked_users']} user(s) unranked, counted as misses). {row['seconds'] / 60:.1f} min in all. Read with care: RecBole ranks over the {row['items_in_file']:,} items its atomic file of these users holds, ours over all {report['items']:,}, which makes its task easier.",
    ]


def _render_paired(rows: list[dict[str, Any]]) -> list[str]:
    """After minus before (and minus RecBole) with seed-averaged paired intervals."""
    if not rows:
        return []
    lines = [
        "",
        f"Paired over the sample's test users: *early stopping (after)* minus the row named, each user's figure averaged over the seeds, 95% paired bootstrap interval over the users (1,000 resamples), and the 95% Student t interval of the per-seed differences over the seeds (the one that counts training-seed variance); *{SIG}*: both exclude 0; *ahead*: seeds where after's mean is above; *sig. ahead*: seeds where that seed's own interval over the users lies above 0.",
        "",
        f"| model | minus | metric | Δ [95% CI over users] | 95% t over seeds | {SIG} | Δ by seed | ahead | sig. ahead |",
        "|---|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for row in rows:
        n = len(row["seeds"])
        minus = (
            "fixed epochs (before)"
            if row["against"] == "before"
            else f"{row['against']} (its top 50 scored here)"
        )
        by_seed = " ".join(f"{d:+.4f}" for d in row["per_seed"])
        _, low, high = row.get("t_over_seeds") or (0.0, 0.0, 0.0)
        both = bool(row["significant"]) and (low > 0 or high < 0)
        lines.append(
            f"| {row['model']} | {minus} | {row['metric']} | {row['difference']:+.4f} [{row['lower']:+.4f}, {row['upper']:+.4f}] | [{low:+.4f}, {high:+.4f}] | {yes_no(both)} | {by_seed} | {row['ahead']}/{n} | {row['significant_seeds']}/{n} |"
        )
    return lines


def _render_scale(report: dict[str, Any]) -> list[str]:
    commands = "; ".join(f"`python benchmarks/{c}`" for c in report.get("commands", []))
    lines = [
        f"### {report['users']:,} of {report['of_users']:,} users, epoch cap {report['max_epochs']}",
        "",
        f"{report['train_interactions']:,} train interactions; validation on {report['validation_users']:,} users; seeds {report['seeds']}. Commands: {commands or '(not recorded)'}; machine: {report.get('machine', '?')}.",
        "",
        "| model | variant | seeds | NDCG@10 | Recall@10 | Recall@50 | epochs run | best epoch | stopped by itself | train (s) |",
        "|---|---|---:|---:|---:|---:|---|---|---|---:|",
    ]

    def cell(found: dict[str, float]) -> str:
        if found["n"] < 2:
            return f"{found['mean']:.4f}"
        return f"{found['mean']:.4f} ± {found['sd']:.4f}"

    for key, row in report.get("summary", {}).items():
        model, variant = key.split(" | ")
        lines.append(
            f"| {model} | {variant} | {row['ndcg@10']['n']} | {cell(row['ndcg@10'])} | {cell(row['recall@10'])} | {cell(row['recall@50'])} | {row['epochs_run']} | {row['best_epoch']} | {row['stopped_early']} | {row['fit_seconds']['mean']:.0f} |"
        )
    lines += _render_recbole(report.get("recbole"), report)
    lines += _render_paired(report.get("paired", []))
    lines += ["", "Validation curves (valid metric by epoch, each run):", ""]
    for run in report["runs"]:
        t = run["training"]
        curve = " ".join(f"{v:.4f}" for v in t["values"])
        rates = " ".join(f"{v:.2g}" for v in t["learning_rates"])
        lines.append(
            f"- {run['model']}, {run['variant']}, seed {run['seed']}: {t['metric']}@{t['k']} {curve} (learning rate at each epoch's start: {rates}; {t['epochs_run']} epoch(s), best {t['best_epoch'] + 1}, {'stopped early' if t['stopped_early'] else 'ran to the cap'})"
        )
    lines.append("")
    return lines


def convergence_only(
    args: argparse.Namespace,
    dataset: Any,
    train: list[NDArray[np.int64]],
    valid_items: NDArray[np.int64],
    test_items: NDArray[np.int64],
    before_test: list[NDArray[np.int64]],
    started: float,
    metrics_of: Callable[[NDArray[np.int64], sp.csr_array], dict[str, float]],
    log: Callable[[str], None],
    per_user_of: PerUserOf | None = None,
) -> None:
    """`bench_recommend.py --only convergence`: results/recommend_convergence.{json,md},
    rewritten after each run."""
    import torch

    vectors = encode_items_cached(
        SentenceTransformerEncoder(), item_text(dataset.items), cache_dir() / "embeddings"
    )
    machine = (
        f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch thread(s)"
    )
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    RESULTS.mkdir(exist_ok=True)

    seeds_dir = WORK / "convergence"
    seeds_dir.mkdir(parents=True, exist_ok=True)
    seed_name = "all" if args.seed is None else str(args.seed)
    if args.recbole_from is not None:
        seed_name = "recbole"
    mine = seeds_dir / f"u{args.convergence_users}-e{args.max_epochs}-seed-{seed_name}.json"

    def save(report: dict[str, Any], lists: Lists) -> None:
        """This process's runs (and each test user's figures, beside them), then every
        process's runs into results/ (write_scales)."""
        if lists:
            partial = mine.with_name(mine.stem + f".{os.getpid()}.partial.npz")
            np.savez(partial, **lists)  # type: ignore[arg-type]
            partial.replace(mine.with_suffix(".npz"))
        report = {
            **report,
            "command": command,
            "machine": machine,
            "wall_seconds": time.perf_counter() - started,
        }
        atomic_write(mine, json.dumps(report, indent=2, default=str) + "\n")
        write_scales(seeds_dir)

    run_convergence(
        train=train,
        valid_items=valid_items,
        test_items=test_items,
        before_test=before_test,
        vectors=vectors,
        users=args.convergence_users,
        seeds=args.seeds,
        max_epochs=args.max_epochs,
        valid_users=5000,
        metrics_of=metrics_of,
        log=log,
        save=save,
        per_user_of=per_user_of,
        only_seed=args.seed,
        recbole_from=None if args.recbole_from is None else Path(args.recbole_from),
        recbole_wait=args.recbole_budget or 0.0,
        recbole_start=(args.recbole_epochs, args.recbole_threads or args.threads),
    )


def write_scales(seeds_dir: Path) -> None:
    """Every process's runs in `seeds_dir` (seeds may run as parallel processes, one --seed
    each), grouped by sample size and cap, with their paired intervals, into
    results/recommend_convergence.{json,md} (`bench_recommend.py --only convergence
    --render` rewrites the md from that json alone)."""
    groups: dict[tuple[int, int, int], list[dict[str, Any]]] = {}
    for path in sorted(seeds_dir.glob("*.json")):
        found = json.loads(path.read_text())
        key = (found["users"], found["max_epochs"], found["validation_users"])
        found["lists"] = path.with_suffix(".npz")
        groups.setdefault(key, []).append(found)
    scales = []
    for key in sorted(groups):
        files = groups[key]
        for found in files:
            found["lists"] = Path(found["lists"])
        runs = [run for found in files for run in found["runs"]]
        runs.sort(key=lambda r: (r["seed"], MODELS.index(r["model"]), VARIANTS.index(r["variant"])))
        scales.append(
            {
                **{
                    k: v
                    for k, v in files[0].items()
                    if k not in ("command", "wall_seconds", "lists")
                },
                "runs": runs,
                "seeds": sorted({r["seed"] for r in runs}),
                "summary": summarize(runs),
                "commands": sorted({f["command"] for f in files if "command" in f}),
                "recbole": next((f["recbole"] for f in files if "recbole" in f), None),
                "paired": paired_rows(
                    [load_lists(f["lists"]) for f in files if f["lists"].exists()]
                ),
            }
        )
    atomic_write(
        RESULTS / "recommend_convergence.json",
        json.dumps({"scales": scales}, indent=2, default=str) + "\n",
    )
    render_convergence(scales, RESULTS / "recommend_convergence.md")


def load_lists(path: Path) -> Lists:
    with np.load(path) as saved:
        return {key: saved[key] for key in saved.files}


def paired_rows(files: list[Lists]) -> list[dict[str, Any]]:
    """For each model, *after* minus *before* and *after* minus RecBole's SASRec (where its
    figures are there): each test user's figure averaged over the seeds that ran both,
    then a 95% paired bootstrap interval over the users; with each seed's difference."""
    lists: Lists = {k: v for found in files for k, v in found.items()}
    rows = []
    for model in MODELS:
        for metric in ("ndcg@10", "recall@10"):
            by_variant = [
                {
                    int(k.split("|")[2]): v
                    for k, v in lists.items()
                    if k.startswith(f"{model}|{variant}|") and k.endswith(f"|{metric}")
                }
                for variant in VARIANTS
            ]
            both = sorted(set(by_variant[0]) & set(by_variant[1]))
            if not both:
                continue
            after = [by_variant[1][s] for s in both]
            against = {"before": [by_variant[0][s] for s in both]}
            if (peer := lists.get(f"{RECBOLE}|-|-|{metric}")) is not None:
                against[RECBOLE] = [peer] * len(both)
            for name, base in against.items():
                rows.append(
                    {"model": model, "against": name, "metric": metric, "seeds": both}
                    | seed_averaged(after, base)
                )
    return rows


def atomic_write(path: Path, text: str) -> None:
    partial = path.with_name(path.name + f".{os.getpid()}.partial")
    partial.write_text(text)
    partial.replace(path)
