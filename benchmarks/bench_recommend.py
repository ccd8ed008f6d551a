"""Benchmark of the recommendation candidate generators on real Amazon Video Games data.

Leave-last-out by sequence order: each user's last item is test, the one before valid,
the rest train. Before training, a seeded 5% of the items are held out: removed from
every train sequence (they stay as valid and test items, and in the history a test
prediction reads), so the test users whose test item is held out form the cold-start
slice, where a model that knows items only by their ID cannot score the item.

Measured on test, full-catalog ranking over all items (the user's history excluded, no
sampled negatives), every user with a test item: Recall@10, Recall@50, NDCG@10 for
popularity, co-visitation, two-tower, sequential and their merge (quotas tuned on the
valid item of a seeded user sample), and for peers on the same split: ALS and BPR from
`implicit`, and RecBole's SASRec (its own virtual environment, /tmp/peer-recbole, run by
subprocess on RecBole atomic files written from the same split; its own test figures,
and its top 50 with the history excluded scored by our metrics, cold slice included).
Models are fitted on train; a test history is train + valid. ALS and BPR are refitted
on train + valid for test (they cannot score a user they were not fitted on), without
the held-out items' interactions, so every model trains on the same items.

Every model runs on the same number of threads (`--threads`, default 2: ours through
torch, implicit's `num_threads`, RecBole's torch and OMP threads). Every comparison has a
paired bootstrap interval over the test users (`paretorec.evaluate.paired`): each model
against co-visitation, and the pairs the text claims (the merge against the best peer and
against its own generators), with a "significant at 95%" column. Per-user figures are kept
in .work/recommend/per_user.npz, so a peers-only run is compared with the stored run of
our models on the same users.

    .venv/bin/python benchmarks/bench_recommend.py [--quick]
    # the peers alone, merged into the stored figures of our models (recommend.json):
    .venv/bin/python benchmarks/bench_recommend.py --only peers --recbole-epochs 50 \\
        --recbole-budget 2400
    .venv/bin/python benchmarks/bench_recommend.py --render   # recommend.md from the json
    # our models again with other training seeds (parallel processes are fine, but they
    # rewrite recommend.json in turn: collect once all have finished), then the seeds table:
    .venv/bin/python benchmarks/bench_recommend.py --only ours --threads 1 --model-seed 1
    .venv/bin/python benchmarks/bench_recommend.py --collect-seeds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.locations import cache_dir
from paretorec.encode import SentenceTransformerEncoder, encode_items_cached, item_text
from paretorec.evaluate.metrics import Metric, batch_ranking_metrics
from paretorec.evaluate.paired import paired_bootstrap
from paretorec.retrieve.recommend import (
    DEFAULT_QUOTAS,
    CoVisitation,
    Popularity,
    Quotas,
    Recommender,
    Sequential,
    Source,
    SplitSequences,
    TwoTower,
    ValidationSet,
    as_matrix,
    fit_on_train,
    split_sequences,
    validation_set,
)
from paretorec.retrieve.recommend.evaluation import TAIL_MAX, fit_learned_merge
from paretorec.retrieve.recommend.learned_merge import LearnedMerge, MergeConfig
from recommend_convergence import convergence_only, render_convergence
from recommend_seeds import collect_seeds, load_lists, render_seeds, save_lists, save_seed_run

RESULTS = Path(__file__).resolve().parent / "results"
WORK = Path(__file__).resolve().parent / ".work" / "recommend"
PEER_PYTHON = Path("/tmp/peer-recbole/bin/python")
K = 50
KS = (10, 50)
HOLD_OUT = 0.05
SEED = 0
VALID_USERS = 5000
BASELINE = "covisitation"
COMPARED = ("recall@10", "recall@50", "ndcg@10")
N_BOOTSTRAP = 1000
PER_USER = WORK / "per_user.npz"
MODELS = WORK / "models"  # our fitted generators (seed 0), for --reuse-models
SEEDS = WORK / "seeds"  # the --model-seed runs other than 0: figures and per-user lists
LEARNED = "learned merge"
UNSEEN = WORK / "unseen_shops.json"  # the unseen shops' figures, for --unseen-from-cache
PerUser = dict[str, dict[str, NDArray[np.float64]]]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def metrics_of(items: NDArray[np.int64], relevance: sp.csr_array) -> dict[str, float]:
    found = batch_ranking_metrics(
        items, relevance, ks=KS, metrics=(Metric.RECALL, Metric.NDCG, Metric.HIT_RATE)
    )
    return {name: found[name] for name in ("recall@10", "recall@50", "ndcg@10")}


def per_user_of(
    items: NDArray[np.int64], relevance: sp.csr_array
) -> dict[str, NDArray[np.float64]]:
    """Each test user's Recall@10, Recall@50 and NDCG@10 (every test user has one item)."""
    found = batch_ranking_metrics(items, relevance, ks=KS, metrics=(Metric.RECALL, Metric.NDCG))
    if found.users.size != relevance.shape[0]:
        raise ValueError("every test user must have a relevant item to pair users")
    return {name: np.asarray(found.per_user[name], dtype=np.float64) for name in COMPARED}


def comparisons(per_user: PerUser) -> list[dict[str, Any]]:
    """Each model against co-visitation, and the merge against the best peer (by mean
    NDCG@10) and against each of its own generators: paired over the test users."""
    pairs = [(name, BASELINE) for name in per_user if name != BASELINE and BASELINE in per_user]
    peers = [n for n in per_user if n.startswith(("implicit ", "RecBole "))]
    if "merge" in per_user:
        if peers:
            best = max(peers, key=lambda n: float(per_user[n]["ndcg@10"].mean()))
            pairs.append(("merge", best))
        pairs += [("merge", n) for n in ("two-tower", "sequential") if n in per_user]
    if LEARNED in per_user:
        pairs += [(LEARNED, n) for n in ("merge", "two-tower", "sequential") if n in per_user]
        if peers:
            best = max(peers, key=lambda n: float(per_user[n]["ndcg@10"].mean()))
            pairs.append((LEARNED, best))
    out = []
    for a, b in pairs:
        for metric in COMPARED:
            found = paired_bootstrap(
                per_user[a][metric], per_user[b][metric], n_bootstrap=N_BOOTSTRAP, seed=SEED
            )
            out.append({"a": a, "b": b, "metric": metric, **found.as_dict()})
    return out


def save_per_user(per_user: PerUser) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    save_lists(PER_USER, per_user)


def load_per_user() -> PerUser:
    return load_lists(PER_USER) if PER_USER.exists() else {}


# ------------------------------------------------------------------ RecBole (peer)

RECBOLE_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import numpy as np
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_logger, init_seed

    out, data_path = Path(sys.argv[1]), sys.argv[2]
    epochs, budget, threads, k = int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), 50
    stopping_step = int(sys.argv[6]) if len(sys.argv) > 6 else 10
    started = time.perf_counter()
    torch.set_num_threads(threads)
    # RecBole's documented defaults for SASRec (batch 2048, inner size 256, dropout 0.5,
    # lr 0.001, eval batch 4096), but max length 20 (covers 96% of the histories whole)
    settings = {"MAX_ITEM_LIST_LENGTH": 20, "loss_type": "CE", "train_batch_size": 2048,
                "eval_batch_size": 4096, "hidden_size": 64, "inner_size": 256,
                "n_layers": 2, "n_heads": 2, "stopping_step": stopping_step}
    config = Config(model="SASRec", config_dict={
        "data_path": data_path, "dataset": "games", "USER_ID_FIELD": "user_id",
        "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        **settings, "train_neg_sample_args": None,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full",
                      "group_by": "user"},
        "metrics": ["Recall", "NDCG"], "topk": [10, 50], "valid_metric": "NDCG@10",
        "epochs": epochs, "seed": 0, "reproducibility": True, "show_progress": False,
        "checkpoint_dir": data_path + "/saved", "device": "cpu", "use_gpu": False,
        "worker": 0, "log_wandb": False,
    })
    init_seed(config["seed"], config["reproducibility"])
    init_logger(config)
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])
    model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
    trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
    setup_seconds = time.perf_counter() - started
    progress = {"setup_seconds": setup_seconds, "epochs": [], "stopped": None,
                "config": {**settings, "epochs": epochs, "threads": threads,
                           "learning_rate": config["learning_rate"],
                           "dropout": config["hidden_dropout_prob"]}}

    def save_progress():
        (out / "progress.json").write_text(json.dumps(progress, indent=1))

    train_epoch, valid_epoch = trainer._train_epoch, trainer._valid_epoch

    def timed_train(*args, **kwargs):
        t = time.perf_counter()
        loss = train_epoch(*args, **kwargs)
        progress["epochs"].append({"train_seconds": time.perf_counter() - t,
                                   "loss": float(loss)})
        save_progress()
        return loss

    def timed_valid(*args, **kwargs):
        t = time.perf_counter()
        score, result = valid_epoch(*args, **kwargs)
        progress["epochs"][-1].update(valid_seconds=time.perf_counter() - t,
                                      valid={m: float(v) for m, v in result.items()},
                                      wall_seconds=time.perf_counter() - started)
        save_progress()
        return score, result

    trainer._train_epoch, trainer._valid_epoch = timed_train, timed_valid

    class OutOfTime(Exception):
        pass

    def check_budget(epoch_idx, valid_score):
        last = progress["epochs"][-1]
        need = last["train_seconds"] + 4 * last["valid_seconds"] + 60  # one more + test
        if time.perf_counter() - started + need > budget:
            raise OutOfTime

    try:
        trainer.fit(train_data, valid_data, saved=True, callback_fn=check_budget)
        # RecBole stops once `stopping_step` + 1 epochs in a row bring no better score
        progress["stopped"] = (f"its own early stopping ({stopping_step + 1} epochs without "
                               "a better valid NDCG@10, stopping_step "
                               f"{stopping_step})"
                               if len(progress["epochs"]) < epochs else
                               f"the epoch limit ({epochs})")
    except OutOfTime:
        progress["stopped"] = f"the time budget ({budget:.0f} s): no room for another epoch"
    save_progress()
    t = time.perf_counter()
    test_result = trainer.evaluate(test_data, load_best_model=True)
    test_seconds = time.perf_counter() - t

    # top-k with the user's whole history excluded (as paretorec's evaluation does)
    t = time.perf_counter()
    history = {}
    with open(Path(data_path) / "games" / "games.inter") as f:
        next(f)
        for line in f:
            user, item, _ = line.split("\t")
            history.setdefault(user, []).append(item)
    item_id = dataset.field2token_id["item_id"]
    users_out, top_out = [], []
    model = trainer.model
    model.eval()
    with torch.no_grad():
        for interaction, _, _, _ in test_data:
            scores = model.full_sort_predict(interaction)
            scores[:, 0] = -torch.inf
            uids = interaction["user_id"].tolist()
            tokens = dataset.id2token("user_id", uids)
            for row, token in enumerate(tokens):
                seen = [item_id[i] for i in history[str(token)][:-1]]
                if seen:
                    scores[row, torch.as_tensor(seen, dtype=torch.long)] = -torch.inf
            top = torch.topk(scores, k, dim=1).indices.numpy()
            users_out.extend(int(t) for t in tokens)
            top_out.append(np.asarray(dataset.id2token("item_id", top), dtype=np.int64))
    np.savez(out / "top.npz", users=np.array(users_out, dtype=np.int64),
             top=np.concatenate(top_out))
    rank_seconds = time.perf_counter() - t
    best = trainer.best_valid_result or {}
    json.dump({
        "test": {m: float(v) for m, v in test_result.items()},
        "valid": {m: float(v) for m, v in best.items()},
        "epochs": progress["epochs"], "stopped": progress["stopped"],
        "config": progress["config"],
        "setup_seconds": setup_seconds,
        "train_seconds": sum(e["train_seconds"] for e in progress["epochs"]),
        "valid_seconds": sum(e.get("valid_seconds", 0) for e in progress["epochs"]),
        "test_eval_seconds": test_seconds, "topk_seconds": rank_seconds,
        "threads": threads, "seconds": time.perf_counter() - started,
    }, open(out / "result.json", "w"), indent=1)
    """
)


def write_recbole_atomic(folder: Path, sequences: list[NDArray[np.int64]]) -> None:
    """Tokens are paretorec's user and item indices, so RecBole's top-k maps back."""
    (folder / "games").mkdir(parents=True, exist_ok=True)
    with (folder / "games" / "games.inter").open("w") as f:
        f.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for user, sequence in enumerate(sequences):
            for step, item in enumerate(sequence.tolist()):
                f.write(f"{user}\t{item}\t{step}\n")


def start_recbole(
    folder: Path, epochs: int, budget: float, threads: int, stopping_step: int = 10
) -> subprocess.Popen[bytes] | str:
    if not PEER_PYTHON.exists():
        return f"{PEER_PYTHON} not found: create /tmp/peer-recbole as shared/PEERS.md says"
    for stale in ("result.json", "progress.json", "top.npz"):
        (folder / stale).unlink(missing_ok=True)
    runner = folder / "run_recbole.py"
    runner.write_text(RECBOLE_RUNNER)
    env = {
        **os.environ,
        "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1",
        "OMP_NUM_THREADS": str(threads),
    }
    return subprocess.Popen(
        [
            str(PEER_PYTHON),
            str(runner),
            str(folder),
            str(folder),
            str(epochs),
            str(budget),
            str(threads),
            str(stopping_step),
        ],
        cwd=folder,
        env=env,
        stdout=(folder / "recbole.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def finish_recbole(
    process: subprocess.Popen[bytes] | str, folder: Path, timeout: float
) -> dict[str, Any]:
    if isinstance(process, str):
        return {"error": process}
    try:
        process.wait(timeout=max(1.0, timeout))
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        found = {"error": f"killed after the benchmark's time budget ({timeout:.0f} s left)"}
    else:
        result = folder / "result.json"
        if process.returncode == 0 and result.exists():
            done: dict[str, Any] = json.loads(result.read_text())
            return done
        lines = (folder / "recbole.log").read_text(errors="replace").strip().splitlines()
        errors = [line for line in lines if "Error" in line or "error" in line]
        found = {"error": (errors or lines or ["no output"])[-1][:400]}
    progress = folder / "progress.json"
    if progress.exists():  # how far it got
        found.update(json.loads(progress.read_text()))
    return found


def collect_recbole(folder: Path, wait: float) -> dict[str, Any]:
    """The figures of a RecBole run started by hand on this benchmark's atomic file (the
    runner and arguments `start_recbole` uses; its process id in ``folder/pid``): refused
    unless it read the same data; waits up to `wait` seconds while it still runs."""
    written = WORK / "recbole" / "games" / "games.inter"
    if (folder / "games" / "games.inter").read_bytes() != written.read_bytes():
        return {"error": f"{folder} was not run on this split's atomic file"}
    result = folder / "result.json"
    deadline = time.perf_counter() + wait
    while not result.exists() and time.perf_counter() < deadline and _alive(folder / "pid"):
        time.sleep(30)
    if result.exists():
        done: dict[str, Any] = json.loads(result.read_text())
        done["collected_from"] = str(folder)
        return done
    found: dict[str, Any] = {"error": f"{folder}: the RecBole run has not finished"}
    if (folder / "progress.json").exists():
        found.update(json.loads((folder / "progress.json").read_text()))
    return found


def _alive(pid_file: Path) -> bool:
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (OSError, ValueError):
        return False
    return True


def recbole_rescored(
    folder: Path,
    test_users: NDArray[np.int64],
    test_relevance: sp.csr_array,
    cold: NDArray[np.bool_],
    per_user: PerUser,
) -> dict[str, Any]:
    """RecBole's top-k (history excluded) scored by our metrics, cold slice included;
    its per-user figures go to `per_user["RecBole SASRec"]`.

    A test user RecBole did not rank counts as a miss.
    """
    saved = np.load(folder / "top.npz")
    position = {int(u): i for i, u in enumerate(saved["users"])}
    rows = np.array([position.get(int(u), -1) for u in test_users])
    have = rows >= 0
    top = saved["top"][rows[have]]

    def scaled(mask: NDArray[np.bool_]) -> dict[str, float]:
        inside = mask[have]
        found = metrics_of(top[inside], test_relevance[np.flatnonzero(have & mask)])
        share = inside.sum() / max(1, mask.sum())
        return {name: value * share for name, value in found.items()}

    everyone = np.ones(test_users.size, dtype=bool)
    ranked = per_user_of(top, test_relevance[np.flatnonzero(have)])
    per_user["RecBole SASRec"] = {}
    for metric, values in ranked.items():
        full = np.zeros(test_users.size)
        full[have] = values
        per_user["RecBole SASRec"][metric] = full
    return {**scaled(everyone), "cold": scaled(cold), "unranked_users": int((~have).sum())}


# ------------------------------------------------------------------ implicit (peers)


def implicit_top(
    name: str,
    train: sp.csr_array,
    histories: sp.csr_array,
    users: NDArray[np.int64],
    *,
    factors: int,
    regularization: float,
    iterations: int,
    threads: int,
    alpha: float = 1.0,
    learning_rate: float = 0.05,
) -> tuple[NDArray[np.int64], float, float]:
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    matrix = sp.csr_matrix(train, dtype=np.float32)
    model: Any
    if name == "ALS":
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            iterations=iterations,
            alpha=alpha,
            random_state=SEED,
            num_threads=threads,
        )
    else:
        model = BayesianPersonalizedRanking(
            factors=factors,
            regularization=regularization,
            iterations=iterations,
            learning_rate=learning_rate,
            random_state=SEED,
            num_threads=threads,
        )
    start = time.perf_counter()
    model.fit(matrix, show_progress=False)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    items, _ = model.recommend(
        users, sp.csr_matrix(histories)[users], N=K, filter_already_liked_items=True
    )
    return np.asarray(items, dtype=np.int64), fit_seconds, time.perf_counter() - start


# ALS and BPR settings searched on the valid items (by NDCG@10), the best refitted for test
IMPLICIT_GRID: dict[str, list[dict[str, Any]]] = {
    # (a first pass found regularization 0.05 and 0.5 alike for ALS: alpha is what matters)
    "ALS": [
        {"factors": f, "regularization": 0.05, "alpha": a, "iterations": 15}
        for f in (64, 128)
        for a in (1.0, 10.0)
    ],
    "BPR": [
        {"factors": f, "regularization": 0.01, "learning_rate": lr, "iterations": 100}
        for f in (64, 128)
        for lr in (0.01, 0.05)
    ],
}


# ------------------------------------------------------------------ the report

ORDER = (
    "popularity",
    "covisitation",
    "two-tower",
    "sequential",
    "merge",
    "learned merge",
    "implicit ALS",
    "implicit BPR",
    "RecBole SASRec",
)


def _cell(value: Any, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def recbole_settings(row: dict[str, Any]) -> str:
    """SASRec's settings as the run recorded them (runs before they were recorded: the
    runner's settings of that time)."""
    c = row.get("config") or {
        "MAX_ITEM_LIST_LENGTH": 20,
        "train_batch_size": 1024,
        "inner_size": 128,
        "stopping_step": 3,
        "learning_rate": 0.001,
        "dropout": 0.5,
    }
    return (
        f"`loss_type=CE` over the full catalog, hidden 64, inner size {c['inner_size']}, 2 layers, 2 heads, "
        f"dropout {c['dropout']}, max length {c['MAX_ITEM_LIST_LENGTH']}, batch {c['train_batch_size']:,}, "
        f"Adam lr {c['learning_rate']}, early stopping after {c['stopping_step'] + 1} epochs without a "
        f"better valid NDCG@10 (RecBole's stopping_step {c['stopping_step']})"
    )


def _recbole_summary(row: dict[str, Any]) -> list[str]:
    """RecBole's epochs: train seconds, valid NDCG@10 and wall clock at the end of each,
    and why it stopped."""
    epochs = row.get("epochs", [])
    if not epochs:
        return []
    per_epoch = "; ".join(
        f"epoch {i}: {e['train_seconds']:.0f} s, valid NDCG@10 {_cell(e.get('valid', {}).get('ndcg@10'))}"
        + (f", at {e['wall_seconds'] / 60:.0f} min" if "wall_seconds" in e else "")
        for i, e in enumerate(epochs)
    )
    # RecBole keeps the later epoch on a tie (`>=`)
    best = max(
        range(len(epochs)), key=lambda i: (epochs[i].get("valid", {}).get("ndcg@10", -1.0), i)
    )
    lines = [
        f"RecBole SASRec ran {len(epochs)} epoch(s) (train time and RecBole's valid NDCG@10 over every user): {per_epoch}. "
        f"Stopped by {row.get('stopped') or 'being killed'}; test figures are from the best valid epoch ({best})."
    ]
    if "test_eval_seconds" in row:
        lines[0] += (
            f" Data setup {row['setup_seconds']:.0f} s, training {row['train_seconds']:.0f} s, "
            f"validation {row['valid_seconds']:.0f} s, its test evaluation {row['test_eval_seconds']:.0f} s, "
            f"our top-50 pass {row['topk_seconds']:.0f} s; {row['seconds'] / 60:.1f} min in all, {row['threads']} torch thread(s)."
        )
    return lines


LABELS = {"merge": "merge (quotas)", LEARNED: "learned merge (the default)"}


def _chosen_on_valid(report: dict[str, Any]) -> str:
    """What was chosen on valid items, and how (the epochs: early stopping, or earlier runs'
    best epoch by valid Recall@10)."""
    training = report.get("training")
    if not training:
        return "Hyperparameters and epochs were chosen on the valid item of 5,000 sampled users (neural models: best epoch by valid Recall@10; co-visitation: popularity penalty; merge: quotas by valid NDCG@10)."
    cap = max(log["max_epochs"] for log in training.values())
    return (
        f"Our generators are the ones `eval recommend` fits by default: the neural ones train under its epoch cap ({cap}) with early stopping on the valid items of the 5,000 seeded users `fit_on_train` draws (patience 3 on valid NDCG@10, the best epoch's weights kept; a half-epoch warm-up, then the learning rate halved on each plateau; sequential: a sampled softmax of in-batch plus 512 uniform negatives with logQ correction), and the learned merge is trained and checked on valid items as `--merge auto` does (below). "
        "On the valid item of a separate seeded sample of 5,000 users: co-visitation's popularity penalty (its row, the baseline), the quota merge's quotas (by valid NDCG@10) and the ALS and BPR grids."
    )


def _curves(report: dict[str, Any]) -> list[str]:
    """Each neural generator's validation curve, learning rates and epoch times."""
    training = report.get("training")
    if not training:
        return [
            f"Validation curves by epoch (NDCG@10 under early stopping, Recall@10 in runs before it): {report['validation_recall']}."
        ]
    lines = [
        "",
        "Validation curves (valid metric of each epoch on the 5,000 early-stopping users):",
        "",
    ]
    for name, log in training.items():
        why = _why(log)
        curve = " ".join(f"{v:.4f}" for v in log["values"])
        rates = " ".join(f"{v:.2g}" for v in log["learning_rates"])
        seconds = " ".join(f"{v:.0f}" for v in log["seconds"])
        note = f" {log['cut']['note']}" if "note" in log.get("cut", {}) else ""
        lines.append(
            f"- {name}: {log['epochs_run']} epoch(s), {why}, best epoch {log['best_epoch'] + 1}; valid {log['metric']}@{log['k']} by epoch: {curve} (learning rate at each epoch's start: {rates}; seconds per epoch: {seconds}).{note}"
        )
    return lines


def _why(log: dict[str, Any]) -> str:
    """Why a neural generator's training ended: early stopping, its cap, or the wall clock."""
    if "cut" in log:
        cut = log["cut"]
        return (
            f"cut by the wall clock under the cap of {cut['cap']} ({cut['why']}), the best epoch's "
            f"weights kept: what `--epochs {log['epochs_run']}` gives"
        )
    return "stopped early" if log["stopped_early"] else f"ran to the cap of {log['max_epochs']}"


def _ours_converged(report: dict[str, Any]) -> str:
    training = report.get("training")
    if not training:
        return ", as are our neural generators"
    if all(log["stopped_early"] for log in training.values()):
        return "; our neural generators stopped early on valid (their curves above)"
    if any("cut" in log for log in training.values()):
        return (
            ", as are our neural generators, cut by the wall clock in this run (their curves above)"
        )
    return ", as are those of our neural generators that ran to their cap (their curves above)"


def _neural_note(report: dict[str, Any]) -> list[str]:
    """How far the neural generators trained: epochs run, and whether they stopped."""
    training = report.get("training")
    if not training:
        return [
            "- The neural generators are short of convergence in this run: two-tower ran 1 epoch, sequential 2 (valid Recall@10 still rising); sequential trained with in-batch negatives plus logQ. RecBole's SASRec trains with the full-catalog softmax."
        ]
    said = []
    for name, log in training.items():
        why = ("was " if "cut" in log else "") + _why(log)
        said.append(
            f"{name} ran {log['epochs_run']} epoch(s) and {why}, best epoch {log['best_epoch'] + 1} by valid {log['metric']}@{log['k']}"
        )
    said.append(
        "sequential trains a sampled softmax (in-batch + uniform negatives with logQ); RecBole's SASRec the full-catalog softmax"
    )
    return ["- " + "; ".join(said) + "."]


def _implicit_note(results: dict[str, Any]) -> list[str]:
    """How ALS and BPR were chosen: the grid searched on valid, or their fixed settings."""
    lines = []
    for name in ("implicit ALS", "implicit BPR"):
        row = results.get(name, {})
        if "grid" in row:
            lines.append(
                f"- {name} was grid-searched on the valid items ({len(row['grid'])} settings, by valid NDCG@10; each in recommend.json): chosen {row['params']}, valid NDCG@10 {row['valid']['ndcg@10']:.4f}; refitted with it on train + valid for test."
            )
        elif row and "error" not in row:
            lines.append(
                f"- {name} ran with fixed settings (not grid-searched); its valid figures are in recommend.json."
            )
    return lines


def peer_ndcg(results: dict[str, Any]) -> dict[str, float]:
    """Test NDCG@10 of each finished peer (RecBole by its top 50 scored here)."""
    return {
        name: row["ndcg@10"] if "test" not in row else row.get("ours", row["test"])["ndcg@10"]
        for name, row in results.items()
        if name.startswith(("implicit ", "RecBole ")) and "error" not in row
    }


def best_peer(results: dict[str, Any]) -> tuple[str, float] | None:
    """The peer with the highest test NDCG@10, and that figure (None before any ran)."""
    finished = peer_ndcg(results)
    if not finished:
        return None
    name = max(finished, key=lambda n: finished[n])
    return name, finished[name]


def render(report: dict[str, Any], out: Path = RESULTS / "recommend.md") -> None:
    """benchmarks/results/recommend.md from the figures of a run."""
    results = report["results"]
    peers = report.get("peers_run")
    paired = {(c["a"], c["b"], c["metric"]): c for c in report.get("comparisons", [])}

    def against(name: str, baseline: str = BASELINE, metric: str = "ndcg@10") -> str:
        """` Δ [interval] | sig. ` cells of `name` against `baseline` (blank when unpaired)."""
        if name == baseline:
            return " (baseline) | |"
        c = paired.get((name, baseline, metric))
        if c is None:
            return " | |"
        return (
            f" {c['difference']:+.4f} [{c['lower']:+.4f}, {c['upper']:+.4f}] | "
            f"{'yes' if c['significant'] else 'no'} |"
        )

    threads_note = (
        f"Our models ran on {report.get('threads', 'the default number of')} torch thread(s)"
    )
    if peers:
        recbole_threads = results.get("RecBole SASRec", {}).get("threads", 1)
        threads_note += f"; ALS and BPR on {peers.get('threads', 'the default number of')} thread(s), RecBole on {recbole_threads}."
    elif results.get("RecBole SASRec", {}).get("reused_from"):
        threads_note += f", as did ALS and BPR; RecBole's rows are reused from an earlier run on {results['RecBole SASRec'].get('threads', 1)} thread(s) (see below)."
    else:
        threads_note += f", as did the peers (RecBole: {report.get('recbole_threads', 1)})."
    header = "| model | Recall@10 | Recall@50 | NDCG@10 | Δ NDCG@10 vs co-visitation [95% CI] | sig. at 95% | cold Recall@10 | cold Recall@50 | cold NDCG@10 | train (s) | full-catalog eval (s) |"
    lines = [
        "## Recommendation candidate generators",
        "",
        f"Machine: {report['machine']} (2 cores shared with other jobs while it ran: times are wall clock and only comparable within one run). Command: `python benchmarks/{report['command']}`; wall {report['wall_seconds'] / 60:.1f} min.",
    ]
    if peers:
        lines.append(
            f"The peers (implicit ALS, BPR{'' if '--recbole-epochs 0' in peers['command'] else ', RecBole SASRec'}) were rerun alone, without our models: `python benchmarks/{peers['command']}`; wall {peers['wall_seconds'] / 60:.1f} min; their rows replace the first run's and their times are from that run."
        )
    if recbole_run := report.get("recbole_run"):
        lines.append(
            f"RecBole SASRec was then run on its own: `python benchmarks/{recbole_run['command']}`"
            + (
                " (collecting the run started by hand with this script's runner in the folder named there)"
                if "--recbole-from" in recbole_run["command"]
                else ""
            )
            + "; its rows replace the peers run's."
        )
    lines += [
        "",
        f"Amazon Video Games, leave-last-out by sequence order: {report['users']:,} users, {report['items']:,} items, {report['test_users']:,} test users (one test item each), ranked over the full catalog (the user's history excluded, no sampled negatives). {report['held_out_items']:,} items (5%, seeded) are held out of training on purpose: removed from every train sequence ({report['train_interactions']:,} train interactions remain); {report['cold_test_users']:,} test users whose test item is one of them form the cold-start slice. Models are fitted on train; a test history is train + valid. {_chosen_on_valid(report)} Figures are on test. ALS and BPR are refitted on train + valid for test (they cannot score a user they were not fitted on), with the held-out items' interactions removed as from train, so no model ever trains on a held-out item.",
        "",
        f"Δ: the model minus co-visitation, averaged over the {report['test_users']:,} test users, with its 95% paired bootstrap interval over those users ({N_BOOTSTRAP:,} resamples, seed {SEED}); *sig. at 95%*: the interval excludes 0. {threads_note}",
        "",
        header,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ORDER:
        row = results.get(name)
        if row is None:
            continue
        if "error" in row:
            lines.append(f"| {name} | error: {row['error']} | | | | | | | | | |")
            continue
        if "test" in row:  # RecBole: its own figures, then its top 50 scored by ours
            test, ours = row["test"], row.get("ours", {})
            cold = ours.get("cold", {})
            lines.append(
                f"| {name}, RecBole's own evaluation | {_cell(test.get('recall@10'))} | {_cell(test.get('recall@50'))} | {_cell(test.get('ndcg@10'))} | | | n/a | n/a | n/a | {row['train_seconds']:.1f} | {row['test_eval_seconds']:.1f} |"
            )
            if ours:
                lines.append(
                    f"| {name}, its top 50 scored here | {_cell(ours['recall@10'])} | {_cell(ours['recall@50'])} | {_cell(ours['ndcg@10'])} |{against(name)} {_cell(cold.get('recall@10'))} | {_cell(cold.get('recall@50'))} | {_cell(cold.get('ndcg@10'))} | (same model) | {row['topk_seconds']:.1f} |"
                )
            continue
        cold = row.get("cold", {})
        lines.append(
            f"| {LABELS.get(name, name)} | {_cell(row['recall@10'])} | {_cell(row['recall@50'])} | {_cell(row['ndcg@10'])} |{against(name)} {_cell(cold.get('recall@10'))} | {_cell(cold.get('recall@50'))} | {_cell(cold.get('ndcg@10'))} | {row.get('fit_seconds', 0):.1f} | {row.get('eval_seconds', 0):.1f} |"
        )
    merge = results.get("merge", {})
    recbole = results.get("RecBole SASRec", {})
    claims = [c for c in report.get("comparisons", []) if c["b"] != BASELINE]
    if claims:
        lines += [
            "",
            "Pairs the text compares (a minus b over the same test users, 95% paired bootstrap interval; RecBole by its top 50 scored here):",
            "",
            "| a | b | Δ Recall@10 [95% CI] | Δ Recall@50 [95% CI] | Δ NDCG@10 [95% CI] |",
            "|---|---|---:|---:|---:|",
        ]
        for a, b in dict.fromkeys((c["a"], c["b"]) for c in claims):
            cells = []
            for metric in COMPARED:
                c = paired[(a, b, metric)]
                sig = " (sig.)" if c["significant"] else " (not sig.)"
                cells.append(f"{c['difference']:+.4f} [{c['lower']:+.4f}, {c['upper']:+.4f}]{sig}")
            lines.append(f"| {a} | {b} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Merge quotas chosen on valid: {merge.get('quotas')}; share of the top 10 placed by each source on test: {merge.get('source_share@10')}. The merge's train time is the sum of its generators'; its eval time includes ranking by each generator.",
        *_curves(report),
        "",
        f"RecBole SASRec (1.2.1, its own venv, {recbole_settings(recbole)}, and a wall-clock budget that ends training when another epoch and the test step would not fit) ran on atomic files of the same sequences (train with the held-out items removed, then valid, then test), its own leave-one-out (`LS valid_and_test`, full ranking). Its train time is the sum of its epochs' training (validation excluded); its eval time is its own test step. Text embeddings: all-MiniLM-L6-v2 over titles, from the embedding cache (encoding the 16,859 titles once took about 2 minutes on this machine).",
        "",
        *_recbole_summary(recbole),
        "",
    ]
    if report.get("recbole_log"):
        lines += [
            "RecBole's own log of the run, epoch lines:",
            "",
            *(f"    {n}" for n in report["recbole_log"]),
            "",
        ]
    finished = peer_ndcg(results)
    ours = {n: results[n]["ndcg@10"] for n in ORDER[:6] if n in results}
    bar = max(finished, key=lambda n: finished[n]) if finished else None
    best_ours = max(ours, key=lambda n: ours[n]) if ours else None
    lines += render_learned(report)
    lines += render_seeds(report.get("model_seeds"), LABELS)
    lines += ["Read with care:", ""]
    if bar and best_ours:
        lines.append(
            f"- The bar is the best peer by test NDCG@10: {bar} ({finished[bar]:.4f}); our best is {best_ours} ({ours[best_ours]:.4f})."
        )
        if BASELINE in ours and ours[BASELINE] > finished[bar]:
            lines.append(
                f"- Co-visitation ({ours[BASELINE]:.4f}), the counting baseline every row is paired with, beats every peer here; {best_ours} reaches {ours[best_ours] / ours[BASELINE]:.2f}x its NDCG@10 ({ours[best_ours] / finished[bar]:.2f}x {bar}'s)."
            )
    learned_cold = results.get(LEARNED, {}).get("slices", {}).get("cold", {})
    tower_cold = learned_cold.get("two-tower", {}).get("ndcg@10")
    if tower_cold is not None and learned_cold[LEARNED]["ndcg@10"] < tower_cold:
        lines.append(
            f"- On the cold slice the learned merge (NDCG@10 {learned_cold[LEARNED]['ndcg@10']:.4f}, Recall@50 {learned_cold[LEARNED]['recall@50']:.4f}) is below the two-tower alone ({tower_cold:.4f}, {learned_cold['two-tower']['recall@50']:.4f}): a loss on the {report['cold_test_users']:,} cold users, which the merge's gain on the warm ones outweighs."
        )
    if recbole.get("reused_from"):
        lines.append(
            f"- RecBole's SASRec was not rerun in this run: its rows are reused from an earlier run (`python benchmarks/{recbole['reused_from']}`, {recbole.get('threads', 1)} torch thread(s), times from that run), on the same split (the same seeded hold-out and leave-last-out). That run kept no per-user lists, so its rows have no interval; a rerun on the same thread count as ours, trained to its own early stop, is left (see below)."
        )
    if str(recbole.get("stopped", "")).startswith("its own early stopping"):
        patience = recbole.get("config", {}).get("stopping_step", 3) + 1
        lines.append(
            f"- RecBole's SASRec trained until its own early stopping ended it ({patience} epochs without a better valid NDCG@10; ours stop after 3), not by a time budget, so its thread count ({recbole.get('threads', 1)}, ours {report.get('threads')}) changes its time only, not its figures."
        )
    if "error" in recbole:
        lines.append(
            f"- RecBole's SASRec did not finish ({recbole['error']}), so it has no test figures; how far it got is above."
        )
    elif recbole:
        lines.append(
            "- RecBole ranks for a sequential model without excluding the user's history (a repeat of a past item may take a slot), which is its standard evaluation; the row scored here takes its scores, excludes the whole history as ours do, and adds the cold slice. RecBole's figures are rounded to 4 decimals by RecBole."
        )
        unranked = recbole.get("ours", {}).get("unranked_users", 0)
        if unranked:
            lines.append(
                f"- RecBole left {unranked} test user(s) unranked (its test data held no row for them); the row scored here counts them as misses, RecBole's own row averages over the users it ranked."
            )
        valid = [e.get("valid", {}).get("ndcg@10") for e in recbole.get("epochs", [])]
        if recbole.get("stopped", "").startswith("the time budget") and len(valid) >= 2:
            trend = "still rose" if (valid[-1] or 0) > (valid[-2] or 0) else "did not rise"
            lines.append(
                f"- SASRec was stopped by the time budget, not by early stopping: its valid NDCG@10 {trend} in the last epoch ({_cell(valid[-2])} to {_cell(valid[-1])}), so it is short of convergence on this shared CPU{_ours_converged(report)}."
            )
    lines += [
        "- ALS and BPR are refitted on train + valid without the held-out items (as our generators never train on one), so their cold slice is truly cold; before this fix the refit kept them and let BPR learn some held-out items from valid rows (cold Recall@50 0.0587 then).",
        *_implicit_note(results),
        *_neural_note(report),
        "- Text-only items are recommendable and are reached (two-tower cold Recall@50 above zero, where ID-only models score near zero), but weakly: a warm item carries its ID embedding and beats a cold one.",
        "- Times are wall clock on 2 cores shared with other engineers' jobs; our models' times and the peers' come from different runs under different load.",
        "",
    ]
    out.write_text("\n".join(lines))


# ------------------------------------------------------------------ the learned merge (#18)

SLICE_METRICS = ("ndcg@10", "recall@10")


def _slices(
    train: list[NDArray[np.int64]], relevance: sp.csr_array, cold: NDArray[np.bool_]
) -> dict[str, NDArray[np.bool_]]:
    """Test users by their test item's train interactions: all, cold (the held-out items)
    and long-tail (1 to TAIL_MAX train interactions)."""
    counts = np.bincount(np.concatenate(train), minlength=relevance.shape[1])
    target = relevance.indices[relevance.indptr[:-1]]  # one test item each
    tail = (counts[target] >= 1) & (counts[target] <= TAIL_MAX)
    return {"all": np.ones(relevance.shape[0], dtype=bool), "cold": cold, "tail": tail}


def _paired_slices(
    per_user: PerUser, pairs: list[tuple[str, str]], slices: dict[str, NDArray[np.bool_]]
) -> list[dict[str, Any]]:
    out = []
    for a, b in pairs:
        for name, inside in slices.items():
            for metric in SLICE_METRICS:
                found = paired_bootstrap(
                    per_user[a][metric][inside],
                    per_user[b][metric][inside],
                    n_bootstrap=N_BOOTSTRAP,
                    seed=SEED,
                )
                out.append({"a": a, "b": b, "slice": name, "metric": metric, **found.as_dict()})
    return out


def run_learned_merge(
    product: Recommender,
    sequences: SplitSequences,
    test_histories: list[NDArray[np.int64]],
    test_relevance: sp.csr_array,
    test_lists: dict[str, NDArray[np.int64]],
    cold: NDArray[np.bool_],
    per_user: PerUser,
    threads: int,
    reuse: bool = False,
    keep: bool = True,
    seed: int = SEED,
) -> dict[str, Any]:
    """The learned merge as `eval recommend --merge auto` (the default) trains and picks it:
    `fit_learned_merge` over the product's recommender (its default generators, the
    neural ones early-stopped on valid), trained on the valid items of up to 20,000 seeded
    users and checked against the default quotas on a fifth of them it did not train on;
    measured on test with paired intervals per slice."""
    saved = models_dir(seed) / "learned-merge"
    start = time.perf_counter()
    if reuse and (saved / "choice.json").exists():  # trained by an earlier run
        learned = LearnedMerge.load(saved)
        check = json.loads((saved / "choice.json").read_text())
    else:
        log("learned merge: fit_learned_merge as eval recommend runs it")
        choice = fit_learned_merge(
            product, sequences, config=MergeConfig(seed=seed, threads=threads), seed=seed
        )
        learned = choice.learned
        check = {
            "learned": choice.learned_ndcg,
            "quotas": choice.quotas_ndcg,
            "learned_wins": choice.learned_wins,
            "train_users": choice.train_users,
            "check_users": choice.check_users,
            "fit_seconds": time.perf_counter() - start,
        }
        if keep:  # for --reuse-models (not a --quick run's)
            learned.save(saved)
            (saved / "choice.json").write_text(json.dumps(check, indent=1) + "\n")
    log(
        f"  {check['fit_seconds']:.0f} s; check ndcg@10 learned {check['learned']:.4f} vs "
        f"default quotas {check['quotas']:.4f} on {check['check_users']} users"
    )
    start = time.perf_counter()
    items, sources = learned.rank(product.generators, product.text_vectors, test_histories, k=K)
    eval_seconds = time.perf_counter() - start
    per_user[LEARNED] = per_user_of(items, test_relevance)
    slices = _slices(list(sequences.train), test_relevance, cold)
    by_slice = {
        name: {
            model: metrics_of(top[inside], test_relevance[np.flatnonzero(inside)])
            for model, top in {LEARNED: items, **test_lists}.items()
            if model in (LEARNED, "merge", "covisitation", "two-tower", "sequential")
        }
        for name, inside in slices.items()
    }
    importance = learned.booster.feature_importance("gain")
    return {
        **metrics_of(items, test_relevance),
        "cold": by_slice["cold"][LEARNED],
        "tail": by_slice["tail"][LEARNED],
        "slices": by_slice,
        "slice_users": {name: int(inside.sum()) for name, inside in slices.items()},
        "paired": _paired_slices(per_user, [(LEARNED, "merge"), (LEARNED, "covisitation")], slices),
        "check_ndcg@10": {"learned": check["learned"], "quotas": check["quotas"]},
        "default": "learned" if check["learned_wins"] else "quotas",
        "train_users": check["train_users"],
        "check_users": check["check_users"],
        "sources": list(learned.sources),
        "covisitation_penalty": getattr(
            product.generators[Source.COVISITATION], "popularity_penalty", None
        ),
        "merge_fit_seconds": check["fit_seconds"],
        "fit_seconds": check["fit_seconds"],
        "eval_seconds": eval_seconds,
        "source_share@10": {
            str(s): float((sources[:, :10] == s).mean()) for s in np.unique(sources[:, :10])
        },
        "feature_gain_share": {
            name: float(v / importance.sum())
            for name, v in zip(learned.feature_names, importance, strict=True)
        },
    }


UNSEEN_SHOPS = ("taobao", "tmall")


def run_unseen_shops(args: argparse.Namespace) -> dict[str, Any]:
    """Another shop's sequences, as `eval recommend` runs them (its defaults: its
    generators, the neural ones early-stopped under the epoch cap, the default quotas, the merge learned on the valid items and kept where it beats the
    quotas on held-out valid users): co-visitation, the quotas, the learned merge and what
    the default picks, on each test user, paired intervals against co-visitation."""
    from paretorec.cli._recommend import ModelChoice, _generators

    out: dict[str, Any] = {}
    cap = 30  # eval recommend's --epochs default
    for name in UNSEEN_SHOPS:
        log(f"unseen shop {name}")
        dataset = load_builtin(BuiltinDataset(name))
        sequences = split_sequences(dataset)
        vectors = encode_items_cached(
            SentenceTransformerEncoder(), item_text(dataset.items), cache_dir() / "embeddings"
        )
        start = time.perf_counter()
        recommender = fit_on_train(
            sequences,
            vectors,
            generators=_generators(ModelChoice.ALL, cap, SEED),
            quotas=DEFAULT_QUOTAS,
            seed=SEED,
        )
        choice = fit_learned_merge(
            recommender, sequences, config=MergeConfig(seed=SEED, threads=args.threads), seed=SEED
        )
        fit_seconds = time.perf_counter() - start
        users = np.flatnonzero([t.size > 0 for t in sequences.test])
        held = sequences.held_out_test(users)
        lists = {
            "covisitation": recommender.rank(Source.COVISITATION, held.histories, k=K)[0],
            "merge": recommender.rank_many(held.histories, k=K, quotas=recommender.quotas)[0],
            LEARNED: choice.learned.rank(
                recommender.generators, recommender.text_vectors, held.histories, k=K
            )[0],
        }
        lists["default (auto)"] = lists[LEARNED if choice.learned_wins else "merge"]
        shop_users: PerUser = {
            model: per_user_of(top, held.relevance) for model, top in lists.items()
        }
        out[name] = {
            "users": len(sequences.user_ids),
            "items": sequences.n_items,
            "test_users": int(users.size),
            "train_interactions": int(sum(t.size for t in sequences.train)),
            "merge_train_users": choice.train_users,
            "merge_check_users": choice.check_users,
            "valid_ndcg@10": {"learned": choice.learned_ndcg, "quotas": choice.quotas_ndcg},
            "default": "learned" if choice.learned_wins else "quotas",
            "fit_seconds": fit_seconds,
            "epochs_cap": cap,
            "training": {
                s.value: trained.as_dict()
                for s, g in recommender.generators.items()
                if (trained := getattr(g, "training_log", None)) is not None
            },
            "results": {model: metrics_of(top, held.relevance) for model, top in lists.items()},
            "paired": _paired_slices(
                shop_users,
                [(m, "covisitation") for m in ("merge", LEARNED, "default (auto)")]
                + [(LEARNED, "merge")],
                {"all": np.ones(users.size, dtype=bool)},
            ),
        }
        log(f"  {json.dumps(out[name]['results'])}")
    return out


def _interval(c: dict[str, Any]) -> str:
    sig = "sig." if c["significant"] else "not sig."
    return f"{c['difference']:+.4f} [{c['lower']:+.4f}, {c['upper']:+.4f}] ({sig})"


def merge_slice_tables(slices: dict[str, Any], paired_rows: list[dict[str, Any]]) -> list[str]:
    """The learned merge's per-slice metrics table and its paired-difference table (shared by
    recommend.md and bench_learned_merge.py's learned_merge.md)."""
    lines = [
        "| slice | model | NDCG@10 | Recall@10 | Recall@50 |",
        "|---|---|---:|---:|---:|",
    ]
    for name, models in slices.items():
        for model, found in models.items():
            lines.append(
                f"| {name} | {model} | {found['ndcg@10']:.4f} | {found['recall@10']:.4f} | {found['recall@50']:.4f} |"
            )
    lines += [
        "",
        "Paired differences over the same test users (95% bootstrap interval, 1,000 resamples):",
        "",
        "| a | b | slice | Δ NDCG@10 | Δ Recall@10 |",
        "|---|---|---|---:|---:|",
    ]
    paired = {(c["a"], c["b"], c["slice"], c["metric"]): c for c in paired_rows}
    for a, b, name in dict.fromkeys((c["a"], c["b"], c["slice"]) for c in paired_rows):
        lines.append(
            f"| {a} | {b} | {name} | {_interval(paired[(a, b, name, 'ndcg@10')])} | {_interval(paired[(a, b, name, 'recall@10')])} |"
        )
    return lines


def top_gains(feature_gain_share: dict[str, float], most: int = 8) -> str:
    """The features with the largest share of the trees' gain, largest first: 'name 0.31, ...'."""
    gains = sorted(feature_gain_share.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{n} {v:.2f}" for n, v in gains[:most])


def _shop_epochs(shops: dict[str, Any]) -> str:
    """How the unseen shops' neural generators trained: a fixed 3 epochs (runs before early
    stopping), or early stopping under the cap with each one's epochs run and best epoch."""
    if not all("training" in found for found in shops.values()):
        return "3 epochs"
    said = [
        f"{shop} {name} {log['epochs_run']} (best {log['best_epoch'] + 1})"
        for shop, found in shops.items()
        for name, log in found["training"].items()
    ]
    cap = max(found["epochs_cap"] for found in shops.values())
    return f"early stopping on valid under the epoch cap of {cap}; epochs run: {', '.join(said)}"


def render_learned(report: dict[str, Any]) -> list[str]:
    """The learned merge's section of recommend.md: slices with paired intervals, and the
    unseen shops."""
    row = report["results"].get(LEARNED)
    lines: list[str] = []
    if row and "error" not in row:
        users = row["slice_users"]
        lines += [
            "### Learned merge (#18)",
            "",
            f"What `eval recommend` ranks with by default (`--merge auto`): `fit_learned_merge` (`paretorec.retrieve.recommend.evaluation`) trains a LightGBM lambdarank over the union of each source's top {K} (sources: {', '.join(row.get('sources', []))}; co-visitation at the product's default popularity penalty {row.get('covisitation_penalty')}, the neural generators as trained above; `text`: the session's {K} text neighbours), features: each source's score and rank, how many sources list the item, its recent popularity and recency (in steps), the history length, the text cosine to the last history item; trained on the valid item (second-to-last) of {row['train_users']:,} seeded users (their train histories, the generators fitted on train: no test item seen), {row['merge_fit_seconds']:.0f} s, and checked on the valid items of {row['check_users']:,} further users: NDCG@10 {row['check_ndcg@10']['learned']:.4f} against the default quotas' {row['check_ndcg@10']['quotas']:.4f}, so the default keeps {'the learned merge' if row['default'] == 'learned' else 'the quotas'}. Ranking the {report['test_users']:,} test users took {row['eval_seconds']:.0f} s.",
            "",
            f"Slices of the test users: all ({users['all']:,}); cold: the test item is one of the held-out items, no train interaction ({users['cold']:,}); long-tail: the test item has 1 to {TAIL_MAX} train interactions ({users['tail']:,}).",
            "",
        ]
        lines += merge_slice_tables(row["slices"], row["paired"])
        lines += [
            "",
            f"Share of the top 10 placed by each source (the source that ranks the item best): {row['source_share@10']}. Features by share of the trees' gain: "
            + top_gains(row["feature_gain_share"])
            + ".",
            "",
        ]
    shops = report.get("unseen_shops", {})
    if shops:
        lines += [
            "### Unseen shops: the learned merge on another shop's sequences",
            "",
            f"The same code on data it was never developed on, run as `eval recommend` runs it ({_shop_epochs(shops)}, the default quotas, leave-last-out by timestamp, full-catalog ranking): the Tianchi Taobao and Tmall samples in `../shared/data/taobao` (no item text: each item's title is its synthetic id and category). *default (auto)* is what `eval recommend` ranks with: the learned merge where its NDCG@10 on held-out valid users beats the quotas', else the quotas. These shops are tiny, so the intervals are wide.",
            "",
            "| shop | users / items / train interactions | valid NDCG@10 learned vs quotas (users) | model | NDCG@10 | Recall@10 | Recall@50 | Δ NDCG@10 vs co-visitation [95% CI] |",
            "|---|---|---|---|---:|---:|---:|---:|",
        ]
        for shop, found in shops.items():
            shop_pairs = {
                (c["a"], c["b"], c["metric"]): c for c in found["paired"] if c["slice"] == "all"
            }
            head = f"{found['users']:,} / {found['items']:,} / {found['train_interactions']:,}"
            valid = f"{found['valid_ndcg@10']['learned']:.4f} vs {found['valid_ndcg@10']['quotas']:.4f} ({found['merge_check_users']}); default: {found['default']}"
            for model, metrics in found["results"].items():
                c = shop_pairs.get((model, "covisitation", "ndcg@10"))
                lines.append(
                    f"| {shop} | {head} | {valid} | {model} | {metrics['ndcg@10']:.4f} | {metrics['recall@10']:.4f} | {metrics['recall@50']:.4f} | {_interval(c) if c else '(baseline)'} |"
                )
                head = valid = ""
        lines.append("")
    return lines


# ------------------------------------------------------------------ the run


def models_dir(seed: int) -> Path:
    """Where a training seed's fitted generators are kept (seed 0: MODELS, as before)."""
    return MODELS if seed == SEED else WORK / f"models-seed-{seed}"


def _cut(saved: Path) -> dict[str, Any]:
    """A reused model's note that its training was cut short (cut.json beside it: the
    cap it was running under and why it had not stopped yet)."""
    note = saved / "cut.json"
    return {"cut": json.loads(note.read_text())} if note.exists() else {}


# the generators `eval recommend` fits by default (cli._recommend._generators), the neural
# ones under an epoch cap with early stopping on the valid items of the seeded 5,000 users
# `fit_on_train` draws (validation_set), as the product does
GENERATORS: tuple[tuple[Callable[[argparse.Namespace], Any], bool], ...] = (
    (lambda args: Popularity(), False),
    (lambda args: CoVisitation(), False),
    (lambda args: TwoTower(epochs=args.tower_epochs, seed=args.model_seed), True),
    (
        lambda args: Sequential(
            epochs=args.sequential_epochs, batch_size=512, seed=args.model_seed
        ),
        True,
    ),
)


def training_inputs(
    dataset: Any, full: Any, train: list[NDArray[np.int64]]
) -> tuple[NDArray[np.float32], float, SplitSequences, ValidationSet | None, Any]:
    """The item vectors (cached) and the sequences, early-stopping set and training data
    every generator is fitted on."""
    from paretorec.retrieve.recommend import TrainingData

    log("encoding item texts (cached)")
    start = time.perf_counter()
    vectors = encode_items_cached(
        SentenceTransformerEncoder(), item_text(dataset.items), cache_dir() / "embeddings"
    )
    encode_seconds = time.perf_counter() - start
    sequences = SplitSequences(
        full.item_ids, full.user_ids, tuple(train), tuple(full.valid), tuple(full.test)
    )
    stopping = validation_set(sequences, users=VALID_USERS, seed=SEED)
    return vectors, encode_seconds, sequences, stopping, TrainingData(vectors, tuple(train))


def fit_generator(
    args: argparse.Namespace, model: Any, neural: bool, data: Any, stopping: ValidationSet | None
) -> tuple[Any, float]:
    """One generator fitted on train (neural ones with early stopping on `stopping`) and
    saved under MODELS, or loaded from there with --reuse-models; with its fit seconds."""
    log(f"training {model.source}")
    start = time.perf_counter()
    saved = models_dir(args.model_seed) / model.source.value
    if args.reuse_models and (saved / "config.json").exists():  # fitted by an earlier run
        return type(model).load(saved), float((saved / "fit_seconds.json").read_text())
    if neural:
        source = model.source.value

        def heard(epoch: int, value: float) -> None:
            log(f"  {source} epoch {epoch + 1}: valid {value:.4f}")

        model.fit(data, validation=stopping, on_epoch=heard)
    else:
        model.fit(data)
    fit_seconds = time.perf_counter() - start
    if not args.quick:
        model.save(saved)
        (saved / "fit_seconds.json").write_text(f"{fit_seconds}\n")
        (saved / "cut.json").unlink(missing_ok=True)  # a note on an earlier, cut-short fit
    training_log = getattr(model, "training_log", None)
    log(f"  {fit_seconds:.0f} s; {training_log.summary() if training_log else ''}")
    return model, fit_seconds


def run_ours(
    args: argparse.Namespace,
    dataset: Any,
    full: Any,
    train: list[NDArray[np.int64]],
    validation: ValidationSet,
    valid_histories: list[NDArray[np.int64]],
    test_histories: list[NDArray[np.int64]],
    valid_relevance: sp.csr_array,
    test_relevance: sp.csr_array,
    cold: NDArray[np.bool_],
    per_user: PerUser,
    sample: NDArray[np.int64] | None = None,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Our generators and their merge: fitted on train, figures on test (per-user figures
    into `per_user`)."""
    vectors, encode_seconds, sequences, stopping, data = training_inputs(dataset, full, train)
    fit_times: dict[Source, float] = {}
    fitted: dict[Source, Any] = {}
    for build, neural in GENERATORS:
        model, seconds = fit_generator(args, build(args), neural, data, stopping)
        fitted[model.source] = model
        fit_times[model.source] = seconds

    # the product's recommender: its default co-visitation and quotas
    product = Recommender(full.item_ids, vectors, dict(fitted), quotas=DEFAULT_QUOTAS)
    if not args.quick:  # co-visitation (the baseline row): its popularity penalty, tuned on valid
        best = None
        for penalty in (0.0, 0.2, 0.5):
            start = time.perf_counter()
            candidate = CoVisitation(popularity_penalty=penalty).fit(data)
            seconds = time.perf_counter() - start
            probe = Recommender(
                full.item_ids,
                vectors,
                {Source.POPULARITY: fitted[Source.POPULARITY], Source.COVISITATION: candidate},
                quotas=Quotas({Source.COVISITATION: 1.0}),
            )
            items, _ = probe.rank(Source.COVISITATION, valid_histories, k=K)
            value = metrics_of(items, valid_relevance)["recall@10"]
            log(f"  covisitation penalty {penalty}: valid recall@10 {value:.4f}")
            if best is None or value > best[0]:
                best = (value, candidate, seconds)
        assert best is not None
        fitted[Source.COVISITATION] = best[1]
        fit_times[Source.COVISITATION] = best[2]

    recommender = Recommender(full.item_ids, vectors, fitted)
    timings: dict[Source, float] = {}
    test_ranked: dict[Source, Any] = {}
    valid_ranked: dict[Source, Any] = {}
    for source in fitted:
        start = time.perf_counter()
        test_ranked[source] = recommender.rank(source, test_histories, k=K)
        timings[source] = time.perf_counter() - start
        valid_ranked[source] = recommender.rank(source, valid_histories, k=K)
        log(f"ranked {source} for {len(test_histories)} users in {timings[source]:.1f} s")

    grid = [
        {Source.SEQUENTIAL: 1.0},
        {Source.SEQUENTIAL: 0.6, Source.TWO_TOWER: 0.2, Source.COVISITATION: 0.2},
        {Source.SEQUENTIAL: 0.5, Source.TWO_TOWER: 0.25, Source.COVISITATION: 0.25},
        {Source.SEQUENTIAL: 0.4, Source.TWO_TOWER: 0.3, Source.COVISITATION: 0.3},
        {Source.TWO_TOWER: 0.5, Source.COVISITATION: 0.5},
        {Source.COVISITATION: 0.5, Source.SEQUENTIAL: 0.25, Source.TWO_TOWER: 0.25},
        {Source.COVISITATION: 0.4, Source.TWO_TOWER: 0.3, Source.SEQUENTIAL: 0.3},
        {Source.COVISITATION: 0.5, Source.SEQUENTIAL: 0.5},
    ]
    best_quota, best_value = grid[0], -1.0
    for shares in grid:
        items, _ = recommender.rank_many(
            valid_histories, k=K, ranked=valid_ranked, quotas=Quotas(shares)
        )
        value = metrics_of(items, valid_relevance)["ndcg@10"]
        log(f"  quotas {Quotas(shares).as_dict()}: valid ndcg@10 {value:.4f}")
        if value > best_value:
            best_quota, best_value = shares, value
    start = time.perf_counter()
    merged_items, merged_sources = recommender.rank_many(
        test_histories, k=K, ranked=test_ranked, quotas=Quotas(best_quota)
    )
    merge_seconds = time.perf_counter() - start + sum(timings.values())

    results: dict[str, dict[str, Any]] = {}
    for source, (items, _) in test_ranked.items():
        results[source.value] = {
            **metrics_of(items, test_relevance),
            "cold": metrics_of(items[cold], test_relevance[cold]),
            "eval_seconds": timings[source],
            "fit_seconds": fit_times[source],
        }
        per_user[source.value] = per_user_of(items, test_relevance)
    per_user["merge"] = per_user_of(merged_items, test_relevance)
    results["merge"] = {
        **metrics_of(merged_items, test_relevance),
        "cold": metrics_of(merged_items[cold], test_relevance[cold]),
        "eval_seconds": merge_seconds,
        "fit_seconds": sum(fit_times.values()),
        "quotas": Quotas(best_quota).as_dict(),
        "source_share@10": {
            str(s): float((merged_sources[:, :10] == s).mean())
            for s in np.unique(merged_sources[:, :10])
        },
    }

    if sample is not None:
        results[LEARNED] = run_learned_merge(
            product,
            sequences,
            test_histories,
            test_relevance,
            {s.value: items for s, (items, _) in test_ranked.items()} | {"merge": merged_items},
            cold,
            per_user,
            args.threads,
            reuse=args.reuse_models,
            keep=not args.quick,
            seed=args.model_seed,
        )
        results[LEARNED]["fit_seconds"] += sum(fit_times.values())
    extra = {
        "encode_seconds": encode_seconds,
        "validation_recall": {  # the valid metric by epoch (NDCG@10 by default)
            s.value: getattr(m, "validation_curve", None) for s, m in fitted.items()
        },
        "training": {
            s.value: m.training_log.as_dict() | _cut(models_dir(args.model_seed) / s.value)
            for s, m in fitted.items()
            if getattr(m, "training_log", None) is not None
        },
    }
    return results, extra


def with_seeds(report: dict[str, Any], per_user: PerUser) -> None:
    """The training seeds' section of `report` from the stored seed runs (none below 2).
    Without the stored lists (a fresh checkout: .work is not committed) the section is
    kept as it is, with a warning, rather than dropped."""
    if not SEEDS.is_dir() or not per_user:
        if "model_seeds" in report:
            log(
                f"warning: no stored seed runs or per-user lists in {WORK}: seeds table kept as it was"
            )
        return
    peer = best_peer(report["results"])
    found = collect_seeds(report, per_user, SEEDS, peer[0] if peer else None)
    if found is None:
        report.pop("model_seeds", None)
    else:
        report["model_seeds"] = found


def seed_run(args: argparse.Namespace, run: dict[str, Any], per_user: PerUser) -> None:
    """A --model-seed run other than 0: kept beside the stored run, whose seeds table it joins."""
    save_seed_run(SEEDS, args.model_seed, run, per_user)
    report = json.loads((RESULTS / "recommend.json").read_text())
    with_seeds(report, load_per_user())
    (RESULTS / "recommend.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    render(report)


def merge_ours(
    report: dict[str, Any], results: dict[str, Any], per_user: PerUser, *, quick: bool
) -> None:
    """An ours-only run's rows merged with the stored peers' rows and per-user figures
    (recommend.json, per_user.npz; the stored run of the peers is on the same split and
    users), compared, and rendered (--quick: into .work, the stored figures untouched)."""
    stored = json.loads((RESULTS / "recommend.json").read_text())
    peer = ("implicit ", "RecBole ")
    kept = {n: r for n, r in stored["results"].items() if n.startswith(peer)}
    for key in ("peers_run", "recbole_run", "recbole_log", "recbole_threads", "unseen_shops"):
        if key in stored:
            report.setdefault(key, stored[key])
    report["results"] = {**results, **kept}
    if not quick:  # (--quick ranks other users: the stored per-user figures do not pair)
        per_user = {
            **{n: v for n, v in load_per_user().items() if n.startswith(peer)},
            **per_user,
        }
        save_per_user(per_user)
    report["comparisons"] = comparisons(per_user)
    if not quick:
        with_seeds(report, per_user)
    out = WORK / "quick.json" if quick else RESULTS / "recommend.json"
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    render(report, WORK / "quick.md" if quick else RESULTS / "recommend.md")
    log(json.dumps(results, indent=1, default=str)[:4000])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small epochs, for a smoke run")
    parser.add_argument(
        "--only",
        choices=("all", "ours", "peers", "recbole", "unseen", "convergence"),
        default="all",
        help="peers: run only ALS, BPR and RecBole and merge them into the stored recommend.json; "
        "recbole: only RecBole (or collect --recbole-from), the stored ALS and BPR rows kept; "
        "ours: only our generators and merges, the stored peers' rows kept",
    )
    parser.add_argument("--recbole-epochs", type=int, default=2)
    parser.add_argument(
        "--recbole-from",
        default=None,
        help="folder of a finished RecBole run on this split (started by hand with the "
        "benchmark's runner): collect its figures instead of starting one",
    )
    parser.add_argument("--seeds", type=int, default=3, help="convergence: seeds per model")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="convergence: run only this seed (parallel processes merge their runs)",
    )
    parser.add_argument(
        "--convergence-users",
        type=int,
        default=0,
        help="convergence: a seeded sample of this many users (0: every user)",
    )
    parser.add_argument(
        "--max-epochs", type=int, default=30, help="the epoch cap under early stopping"
    )
    parser.add_argument(
        "--recbole-budget", type=float, default=None, help="RecBole's own wall seconds"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads for every model, ours and the peers'"
    )
    parser.add_argument(
        "--recbole-threads", type=int, default=None, help="RecBole's threads (default: --threads)"
    )
    parser.add_argument(
        "--tower-epochs", type=int, default=30, help="two-tower's epoch cap (early stopping)"
    )
    parser.add_argument(
        "--sequential-epochs", type=int, default=30, help="sequential's epoch cap (early stopping)"
    )
    parser.add_argument("--budget", type=float, default=25 * 60, help="wall seconds in all")
    parser.add_argument("--render", action="store_true", help="only rewrite recommend.md")
    parser.add_argument(
        "--unseen-from-cache",
        action="store_true",
        help="the unseen shops' figures of an earlier run (--only unseen) instead of rerunning",
    )
    parser.add_argument(
        "--reuse-models",
        action="store_true",
        help="load our generators fitted by an earlier run (.work/recommend/models) instead of fitting",
    )
    parser.add_argument(
        "--model-seed",
        type=int,
        default=SEED,
        help="ours: the training seed of the neural generators and the learned merge (the "
        "split and validation users stay fixed); a seed other than 0 is kept beside the "
        "stored run (.work/recommend/seeds) and its figures join the seeds table",
    )
    parser.add_argument(
        "--collect-seeds",
        action="store_true",
        help="only recollect the stored --model-seed runs into recommend.json and rewrite the md",
    )
    args = parser.parse_args()
    if args.model_seed != SEED and args.only != "ours":
        parser.error("--model-seed goes with --only ours")
    if args.collect_seeds:  # the stored seed runs into recommend.json's seeds table
        report = json.loads((RESULTS / "recommend.json").read_text())
        with_seeds(report, load_per_user())
        (RESULTS / "recommend.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        render(report)
        return
    if args.render and args.only == "convergence":  # recommend_convergence.md from its json
        stored = json.loads((RESULTS / "recommend_convergence.json").read_text())
        render_convergence(stored["scales"], RESULTS / "recommend_convergence.md")
        return
    if args.render:
        report = json.loads((RESULTS / "recommend.json").read_text())
        if "comparisons" not in report and PER_USER.exists():
            report["comparisons"] = comparisons(load_per_user())
            (RESULTS / "recommend.json").write_text(
                json.dumps(report, indent=2, default=str) + "\n"
            )
        render(report)
        return
    started = time.perf_counter()
    torch.manual_seed(args.model_seed)
    torch.set_num_threads(args.threads)
    if args.only == "unseen":  # only the unseen shops, into the stored recommend.json
        shops = run_unseen_shops(args)
        WORK.mkdir(parents=True, exist_ok=True)
        UNSEEN.write_text(json.dumps(shops, indent=2, default=str) + "\n")
        report = json.loads((RESULTS / "recommend.json").read_text())
        report["unseen_shops"] = shops
        (RESULTS / "recommend.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
        render(report)
        return
    if args.recbole_threads is None:
        args.recbole_threads = args.threads
    WORK.mkdir(parents=True, exist_ok=True)

    dataset = load_builtin(BuiltinDataset.AMAZON_GAMES)
    full = split_sequences(dataset)
    if args.quick:  # the first 3,000 users: a smoke run of the whole script
        full = type(full)(
            full.item_ids,
            full.user_ids[:3000],
            full.train[:3000],
            full.valid[:3000],
            full.test[:3000],
        )
    n_items, n_users = full.n_items, len(full.user_ids)
    rng = np.random.default_rng(SEED)
    held = np.zeros(n_items, dtype=bool)
    held[rng.choice(n_items, round(HOLD_OUT * n_items), replace=False)] = True
    train = [s[~held[s]] for s in full.train]
    valid_items = np.array([v[0] if v.size else -1 for v in full.valid])
    test_items = np.array([t[0] if t.size else -1 for t in full.test])
    test_users = np.flatnonzero(test_items >= 0)
    before_test = [np.concatenate([train[u], full.valid[u]]) for u in range(n_users)]
    log(f"{n_users} users, {n_items} items, {sum(s.size for s in train)} train interactions")
    if args.only == "convergence":  # our neural models before / after, seeds (#18, #21)
        convergence_only(
            args,
            dataset,
            train,
            valid_items,
            test_items,
            before_test,
            started,
            metrics_of,
            log,
            per_user_of,
        )
        return

    peers_only = args.only in ("peers", "recbole")
    rerun = ("RecBole ",) if args.only == "recbole" else ("implicit ", "RecBole ")
    recbole_dir = WORK / "recbole"
    if args.only != "ours":  # (an ours-only run leaves a peer run's files alone)
        write_recbole_atomic(
            recbole_dir,
            [np.concatenate([train[u], full.valid[u], full.test[u]]) for u in range(n_users)],
        )
    if args.recbole_from is not None:  # a run started on its own (the same atomic file)
        recbole_dir = Path(args.recbole_from)
    recbole_budget = args.recbole_budget or args.budget
    recbole: subprocess.Popen[bytes] | str = "skipped (--recbole-epochs 0)"

    def launch_recbole() -> subprocess.Popen[bytes] | str:
        if args.recbole_from is not None:
            return "collect"
        if args.recbole_epochs <= 0:
            return recbole
        log(f"starting RecBole ({args.recbole_threads} threads, {recbole_budget:.0f} s budget)")
        return start_recbole(
            recbole_dir, args.recbole_epochs, recbole_budget - 30, args.recbole_threads
        )

    if args.only == "all":  # beside our models; a peers-only run starts it after ALS and BPR
        recbole = launch_recbole()

    with_valid = np.flatnonzero(valid_items >= 0)
    sample = np.sort(rng.choice(with_valid, min(VALID_USERS, with_valid.size), replace=False))
    validation = ValidationSet(tuple(train[u] for u in sample), valid_items[sample])
    valid_relevance = sp.csr_array(
        (np.ones(sample.size), (np.arange(sample.size), valid_items[sample])),
        shape=(sample.size, n_items),
    )
    test_relevance = sp.csr_array(
        (np.ones(test_users.size), (np.arange(test_users.size), test_items[test_users])),
        shape=(test_users.size, n_items),
    )
    cold = held[test_items[test_users]]
    test_histories = [before_test[u] for u in test_users]
    valid_histories = list(validation.histories)

    results: dict[str, dict[str, Any]] = {}
    extra: dict[str, Any] = {}
    per_user: PerUser = {}
    if not peers_only:
        results, extra = run_ours(
            args,
            dataset,
            full,
            train,
            validation,
            valid_histories,
            test_histories,
            valid_relevance,
            test_relevance,
            cold,
            per_user,
            sample=sample,
        )
        if args.only == "ours":
            report = {
                "users": n_users,
                "items": n_items,
                "test_users": int(test_users.size),
                "cold_test_users": int(cold.sum()),
                "held_out_items": int(held.sum()),
                "train_interactions": int(sum(s.size for s in train)),
                **extra,
                "wall_seconds": time.perf_counter() - started,
                "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}",
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                "threads": args.threads,
            }
            if args.model_seed != SEED and not args.quick:
                seed_run(args, {**report, "results": results}, per_user)
            else:
                merge_ours(report, results, per_user, quick=args.quick)
            return
        if not args.quick:  # kept at once: a failure among the peers loses nothing of ours
            save_per_user(per_user)
            RESULTS.mkdir(exist_ok=True)
            (WORK / "ours.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    train_matrix = as_matrix(tuple(train), n_items)
    # ALS and BPR score only users they were fitted on, so they are refitted on train +
    # valid for test, without the held-out items' interactions (as our models are fitted):
    # every model sees the same training items. Ranked rows exclude the whole history.
    refit_matrix = as_matrix(tuple(s[~held[s]] for s in before_test), n_items)
    before_matrix = as_matrix(tuple(before_test), n_items)
    peers_started = time.perf_counter()
    for name, grid in ({} if args.only == "recbole" else IMPLICIT_GRID).items():
        log(f"peer {name}: {len(grid)} settings on valid")
        searched = []
        for params in grid[:1] if args.quick else grid:
            if args.quick:
                params = {**params, "iterations": 2}
            valid_top, _, _ = implicit_top(
                name, train_matrix, train_matrix, sample, threads=args.threads, **params
            )
            value = metrics_of(valid_top, valid_relevance)
            searched.append({"params": params, "valid": value})
            log(f"  {params}: valid ndcg@10 {value['ndcg@10']:.4f}")
        chosen = max(searched, key=lambda found: found["valid"]["ndcg@10"])
        top, fit_seconds, eval_seconds = implicit_top(
            name, refit_matrix, before_matrix, test_users, threads=args.threads, **chosen["params"]
        )
        per_user[f"implicit {name}"] = per_user_of(top, test_relevance)
        results[f"implicit {name}"] = {
            **metrics_of(top, test_relevance),
            "cold": metrics_of(top[cold], test_relevance[cold]),
            "valid": chosen["valid"],
            "params": chosen["params"],
            "grid": searched,
            "fit_seconds": fit_seconds,
            "eval_seconds": eval_seconds,
            "refit_interactions": int(refit_matrix.nnz),
        }

    if peers_only:
        recbole = launch_recbole()
        left = recbole_budget
    else:
        left = args.budget - (time.perf_counter() - started)
    log(f"waiting for RecBole ({left:.0f} s left)")
    found = (
        collect_recbole(recbole_dir, left)
        if recbole == "collect"
        else finish_recbole(recbole, recbole_dir, left)
    )
    earlier = RESULTS / "recommend.json"
    if args.recbole_epochs <= 0 and earlier.exists():  # not rerun: keep the stored row, marked
        kept = json.loads(earlier.read_text())
        row = kept["results"].get("RecBole SASRec", {})
        if "error" not in row and not row.get("reused_from"):
            source = kept.get("peers_run", kept)
            found = {**row, "reused_from": source["command"]}
        elif row.get("reused_from"):
            found = row
    if "error" not in found and "reused_from" not in found:
        found["ours"] = recbole_rescored(recbole_dir, test_users, test_relevance, cold, per_user)
    results["RecBole SASRec"] = found
    log_file = recbole_dir / "recbole.log"
    recbole_log = (
        [
            " ".join(line.split()[3:])
            for line in log_file.read_text(errors="replace").splitlines()
            if " epoch " in line or "Finished training" in line
        ]
        if log_file.exists()
        else []
    )
    machine = f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}, torch {torch.__version__}"
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    if peers_only:  # merge with the stored figures of our models
        report = json.loads((RESULTS / "recommend.json").read_text())
        report.pop("recbole_log", None)
        stored = report["results"]
        for name in [n for n in stored if n.startswith(rerun)]:
            del stored[name]
        stored.update(results)
        report["recbole_run" if args.only == "recbole" else "peers_run"] = {
            "command": command,
            "machine": machine,
            "wall_seconds": time.perf_counter() - peers_started,
            "threads": args.threads,
            "recbole_threads": args.recbole_threads,
        }
        stored_per_user = load_per_user()
        for name in [n for n in stored_per_user if n.startswith(rerun)]:
            del stored_per_user[name]
        per_user = {**stored_per_user, **per_user}
        if not args.quick:  # the seeds' pairs against the (new) best peer
            with_seeds(report, per_user)
    else:
        report = {
            "users": n_users,
            "items": n_items,
            "test_users": int(test_users.size),
            "cold_test_users": int(cold.sum()),
            "held_out_items": int(held.sum()),
            "train_interactions": int(sum(s.size for s in train)),
            **extra,
            "results": results,
            "wall_seconds": time.perf_counter() - started,
            "machine": machine,
            "command": command,
            "threads": args.threads,
            "recbole_threads": args.recbole_threads,
        }
        if args.unseen_from_cache and UNSEEN.exists():
            report["unseen_shops"] = json.loads(UNSEEN.read_text())
        elif not args.quick:
            report["unseen_shops"] = run_unseen_shops(args)
            UNSEEN.write_text(json.dumps(report["unseen_shops"], indent=2, default=str) + "\n")
    report["recbole_log"] = recbole_log
    RESULTS.mkdir(exist_ok=True)
    stored = WORK / "quick.json" if args.quick else RESULTS / "recommend.json"
    if not args.quick:  # kept before the comparisons, which --render can redo from them
        save_per_user(per_user)
    stored.write_text(json.dumps(report, indent=2, default=str) + "\n")
    log("paired comparisons")
    report["comparisons"] = comparisons(per_user)
    stored.write_text(json.dumps(report, indent=2, default=str) + "\n")
    render(report, WORK / "quick.md" if args.quick else RESULTS / "recommend.md")
    log(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
