"""The learned merge over the ID generators and text, on bench_recommend's Amazon Games split.

bench_recommend.py measures the learned merge over all four generators, but its neural
training does not fit a shared CPU's budget every time. This run needs no neural model:
popularity, co-visitation (bench_recommend's defaults) and the session's text neighbours,
merged by the learned merge (`paretorec.retrieve.recommend.learned_merge`), on the same
split (the same seeded 5% of items held out of training, the same 5,000-user valid
sample, every one of the 50,546 test users). It is paired, user by user, with the
co-visitation row computed here and with the fixed-quota merge of the stored
bench_recommend run (its per-user figures, .work/recommend/per_user.npz: the quota merge
of co-visitation, two-tower and sequential), on all test users and on the cold (held-out
test item) and long-tail (1 to 5 train interactions) slices.

    .venv/bin/python benchmarks/bench_learned_merge.py      # -> results/learned_merge.md/json
    .venv/bin/python benchmarks/bench_learned_merge.py --seeds 0 1 2 3 4   # + training seeds
    .venv/bin/python benchmarks/bench_learned_merge.py --render

With several `--seeds`, the first seed's model gives the tables; every seed trains the
merge again (its training users drawn and LightGBM's seed) and the seeds section pairs
each seed with co-visitation and the stored quota merge (mean ± sd, the t interval over
the seeds and the users' bootstrap of the seed-averaged figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from bench_recommend import (
    HOLD_OUT,
    LEARNED,
    RESULTS,
    SEED,
    VALID_USERS,
    WORK,
    K,
    PerUser,
    _paired_slices,
    _slices,
    load_per_user,
    log,
    merge_slice_tables,
    metrics_of,
    per_user_of,
    top_gains,
)
from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.locations import cache_dir
from paretorec.encode import SentenceTransformerEncoder, encode_items_cached, item_text
from paretorec.retrieve.recommend import (
    CoVisitation,
    LearnedMerge,
    MergeConfig,
    Popularity,
    Quotas,
    Recommender,
    Source,
    TrainingData,
    split_sequences,
)
from recommend_seeds import seed_averaged
from significance import SIG, yes_no
from spread import mean_sd_text

MERGE_USERS = 10000
STORED = "stored quota merge (4 generators)"
STORED_COVISITATION = "stored co-visitation"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[SEED], help="training seeds of the merge"
    )
    parser.add_argument("--render", action="store_true", help="only the md from the json")
    args = parser.parse_args()
    if args.render:
        render(json.loads((RESULTS / "learned_merge.json").read_text()))
        return
    started = time.perf_counter()
    torch.set_num_threads(2)
    dataset = load_builtin(BuiltinDataset.AMAZON_GAMES)
    full = split_sequences(dataset)
    n_items, n_users = full.n_items, len(full.user_ids)
    rng = np.random.default_rng(SEED)  # the draws of bench_recommend, in its order
    held = np.zeros(n_items, dtype=bool)
    held[rng.choice(n_items, round(HOLD_OUT * n_items), replace=False)] = True
    train = [s[~held[s]] for s in full.train]
    valid_items = np.array([v[0] if v.size else -1 for v in full.valid])
    test_items = np.array([t[0] if t.size else -1 for t in full.test])
    test_users = np.flatnonzero(test_items >= 0)
    with_valid = np.flatnonzero(valid_items >= 0)
    sample = np.sort(rng.choice(with_valid, min(VALID_USERS, with_valid.size), replace=False))
    test_histories = [np.concatenate([train[u], full.valid[u]]) for u in test_users.tolist()]
    test_relevance = sp.csr_array(
        (np.ones(test_users.size), (np.arange(test_users.size), test_items[test_users])),
        shape=(test_users.size, n_items),
    )
    valid_relevance = sp.csr_array(
        (np.ones(sample.size), (np.arange(sample.size), valid_items[sample])),
        shape=(sample.size, n_items),
    )
    cold = held[test_items[test_users]]
    vectors = encode_items_cached(
        SentenceTransformerEncoder(), item_text(dataset.items), cache_dir() / "embeddings"
    )
    data = TrainingData(vectors, tuple(train))
    valid_histories = [train[u] for u in sample.tolist()]
    start = time.perf_counter()
    popularity = Popularity().fit(data)
    best: tuple[float, float, CoVisitation] | None = None
    for penalty in (0.0, 0.2, 0.5):  # co-visitation's popularity penalty, as bench_recommend
        candidate = CoVisitation(popularity_penalty=penalty).fit(data)
        probe = Recommender(
            full.item_ids,
            vectors,
            {Source.POPULARITY: popularity, Source.COVISITATION: candidate},
            quotas=Quotas({Source.COVISITATION: 1.0}),
        )
        top = probe.rank(Source.COVISITATION, valid_histories, k=K)[0]
        value = metrics_of(top, valid_relevance)["recall@10"]
        log(f"co-visitation penalty {penalty}: valid recall@10 {value:.4f}")
        if best is None or value > best[0]:
            best = (value, penalty, candidate)
    assert best is not None
    generators = {Source.POPULARITY: popularity, Source.COVISITATION: best[2]}
    recommender = Recommender(
        full.item_ids, vectors, generators, quotas=Quotas({Source.COVISITATION: 1.0})
    )
    generator_seconds = time.perf_counter() - start
    pool = np.setdiff1d(with_valid[[train[u].size > 0 for u in with_valid.tolist()]], sample)

    def fit_merge(seed: int) -> tuple[LearnedMerge, NDArray[np.int64], float]:
        """The merge trained with `seed` (its training users drawn, LightGBM's seed)."""
        rng = np.random.default_rng(SEED + 18 + seed)
        chosen = np.sort(rng.choice(pool, MERGE_USERS, replace=False))
        log(f"seed {seed}: training the learned merge on the valid items of {chosen.size} users")
        start = time.perf_counter()
        learned = LearnedMerge.fit(
            generators,
            vectors,
            train,
            [train[u] for u in chosen.tolist()],
            valid_items[chosen],
            config=MergeConfig(seed=seed, threads=2),
        )
        return learned, chosen, time.perf_counter() - start

    learned, chosen, merge_seconds = fit_merge(args.seeds[0])
    valid = {
        LEARNED: metrics_of(
            learned.rank(generators, vectors, valid_histories, k=K)[0], valid_relevance
        ),
        "covisitation": metrics_of(
            recommender.rank(Source.COVISITATION, valid_histories, k=K)[0], valid_relevance
        ),
    }
    log(f"valid: {valid}")
    start = time.perf_counter()
    covisitation = recommender.rank(Source.COVISITATION, test_histories, k=K)[0]
    covisitation_seconds = time.perf_counter() - start
    log(f"co-visitation ranked in {covisitation_seconds:.0f} s")
    start = time.perf_counter()
    items, sources = learned.rank(generators, vectors, test_histories, k=K)
    learned_seconds = time.perf_counter() - start
    log(f"learned merge ranked in {learned_seconds:.0f} s")
    per_user: PerUser = {
        LEARNED: per_user_of(items, test_relevance),
        "covisitation": per_user_of(covisitation, test_relevance),
    }
    np.savez(WORK / "learned_merge_per_user.npz", **per_user[LEARNED])  # type: ignore[arg-type]
    stored = load_per_user()
    for name, label in (("merge", STORED), ("covisitation", STORED_COVISITATION)):
        if name in stored and stored[name]["ndcg@10"].size == test_users.size:
            per_user[label] = stored[name]
    slices = _slices(train, test_relevance, cold)
    by_slice = {
        name: {
            model: {metric: float(values[metric][inside].mean()) for metric in values}
            for model, values in per_user.items()
        }
        for name, inside in slices.items()
    }
    pairs = [(LEARNED, "covisitation")] + [
        (LEARNED, name) for name in (STORED_COVISITATION, STORED) if name in per_user
    ]
    importance = learned.booster.feature_importance("gain")
    seed_lists = {args.seeds[0]: per_user[LEARNED]}
    for seed in args.seeds[1:]:
        other, _, _ = fit_merge(seed)
        seed_lists[seed] = per_user_of(
            other.rank(generators, vectors, test_histories, k=K)[0], test_relevance
        )
    report: dict[str, Any] = {
        "users": n_users,
        "items": n_items,
        "test_users": int(test_users.size),
        "slice_users": {name: int(inside.sum()) for name, inside in slices.items()},
        "merge_train_users": int(chosen.size),
        "covisitation_penalty": best[1],
        "valid": valid,
        "test": {
            LEARNED: metrics_of(items, test_relevance),
            "covisitation": metrics_of(covisitation, test_relevance),
        },
        "slices": by_slice,
        "paired": _paired_slices(per_user, pairs, slices),
        "source_share@10": {
            str(s): float((sources[:, :10] == s).mean()) for s in np.unique(sources[:, :10])
        },
        "feature_gain_share": {
            n: float(v / importance.sum())
            for n, v in zip(learned.feature_names, importance, strict=True)
        },
        "seconds": {
            "generators_fit": generator_seconds,
            "merge_fit": merge_seconds,
            "covisitation_rank": covisitation_seconds,
            "learned_rank": learned_seconds,
            "wall": time.perf_counter() - started,
        },
        "seeds": seeds_section(seed_lists, per_user) if len(seed_lists) > 1 else None,
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}",
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "learned_merge.json").write_text(json.dumps(report, indent=2) + "\n")
    render(report)
    log(json.dumps(report["test"]))


def seeds_section(seed_lists: dict[int, dict[str, Any]], per_user: PerUser) -> dict[str, Any]:
    """Each seed's test figures, and the merge against co-visitation and the stored quota
    merge (neither depends on the merge's seed) paired per user and by seed."""
    seeds = sorted(seed_lists)
    lists = [seed_lists[s] for s in seeds]
    compared = []
    for baseline in [b for b in ("covisitation", STORED) if b in per_user]:
        for metric in ("ndcg@10", "recall@10"):
            found = seed_averaged(
                [x[metric] for x in lists], [per_user[baseline][metric]] * len(lists)
            )
            compared.append({"b": baseline, "metric": metric, **found})
    return {
        "seeds": seeds,
        "test": {
            metric: [float(x[metric].mean()) for x in lists]
            for metric in ("ndcg@10", "recall@10", "recall@50")
        },
        "comparisons": compared,
    }


def render_seeds(found: dict[str, Any] | None) -> list[str]:
    if not found:
        return []
    n = len(found["seeds"])
    test = found["test"]
    lines = [
        f"### Training seeds of the merge ({n}: {', '.join(map(str, found['seeds']))})",
        "",
        "The tables above are the first seed's model. Each seed trains the merge again (its "
        f"{MERGE_USERS:,} training users drawn and LightGBM's seed; the generators, split and "
        "slices stay). Over the seeds: NDCG@10 "
        + mean_sd_text(test["ndcg@10"])
        + ", Recall@10 "
        + mean_sd_text(test["recall@10"])
        + ", Recall@50 "
        + mean_sd_text(test["recall@50"])
        + ".",
        "",
        f"Learned merge minus b, all test users: each user's figure averaged over the seeds with its 95% paired bootstrap interval over the users, and the 95% Student t interval of the per-seed differences over the seeds; *{SIG}*: both exclude 0.",
        "",
        f"| b | metric | Δ [95% CI over users] | 95% t over seeds | {SIG} | Δ by seed | ahead |",
        "|---|---|---:|---:|---:|---|---:|",
    ]
    for c in found["comparisons"]:
        _, low, high = c["t_over_seeds"]
        both = bool(c["significant"]) and (low > 0 or high < 0)
        by_seed = " ".join(f"{d:+.4f}" for d in c["per_seed"])
        lines.append(
            f"| {c['b']} | {c['metric']} | {c['difference']:+.4f} [{c['lower']:+.4f}, {c['upper']:+.4f}] | [{low:+.4f}, {high:+.4f}] | {yes_no(both)} | {by_seed} | {c['ahead']}/{n} |"
        )
    return [*lines, ""]


def render(report: dict[str, Any]) -> None:
    users = report["slice_users"]
    seconds = report["seconds"]
    lines = [
        "## Learned merge of the recommenders' candidates (ID generators and text)",
        "",
        f"Machine: {report['machine']} (2 cores shared with other jobs: times are wall clock). Command: `python benchmarks/{report['command']}`; wall {seconds['wall'] / 60:.1f} min.",
        "",
        f"Amazon Video Games, bench_recommend's split: the same seeded 5% of items held out of training, leave-last-out, {report['test_users']:,} test users ranked over the full catalog (history excluded). The learned merge ranks the union of popularity's and co-visitation's top {K} and the session's {K} text neighbours with LightGBM lambdarank, trained on the valid item (second-to-last) of {report['merge_train_users']:,} users outside the 5,000-user valid sample ({seconds['merge_fit']:.0f} s); no neural generator here. Valid NDCG@10 on the sample: learned merge {report['valid'][LEARNED]['ndcg@10']:.4f}, co-visitation {report['valid']['covisitation']['ndcg@10']:.4f}. Ranking the test users: co-visitation {seconds['covisitation_rank']:.0f} s, the learned merge {seconds['learned_rank']:.0f} s (it scores every source over the catalog, then the union).",
        "",
        f"Slices: all ({users['all']:,}); cold, the test item held out of training ({users['cold']:,}); long-tail, the test item has 1 to 5 train interactions ({users['tail']:,}). *{STORED}* is the fixed-quota merge of co-visitation, two-tower and sequential from the stored bench_recommend run, *{STORED_COVISITATION}* that run's co-visitation (its per-user figures on the same users); co-visitation's popularity penalty here was chosen on valid as there ({report['covisitation_penalty']}).",
        "",
    ]
    lines += merge_slice_tables(report["slices"], report["paired"])
    lines += [
        "",
        f"Share of the top 10 by the source that ranks each item best: {report['source_share@10']}. Features by share of the trees' gain: "
        + top_gains(report["feature_gain_share"])
        + ".",
        "",
        *render_seeds(report.get("seeds")),
    ]
    (RESULTS / "learned_merge.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
