"""Robustness of recommendation on real Amazon Video Games data: click spam, click noise
and a cold catalog, undefended vs defended, at increasing strength.

Leave-last-out by sequence order (each user's last item test, the one before valid, the
rest train). Each scenario of `paretorec.robustness.events` transforms the *train* rows
only (valid and test stay the clean truth), at each of its strengths (0 = clean), seed 0.
On each stressed log the same recommender is fitted twice, with the same (count-based:
one pass) training budget: popularity + co-visitation (co-visitation's quota 1, the
popularity floor fills), and

- undefended: today's generators (no caps);
- defended: per-actor caps (`ActorCaps(per_user=PER_USER, per_item=PER_ITEM)`) on both
  counting generators, and co-visitation pair support (`min_support`: a pair counts only
  when that many distinct shoppers made it), chosen among SUPPORTS on the clean data by
  NDCG@10 on the valid item of a seeded sample of users (their train histories), before
  any scenario is seen.

Measured on test, full-catalog ranking (the user's history excluded), on a seeded sample
of `--users` test users (the same users in every run; bots and users a scenario adds are
never evaluated): NDCG@10 and Recall@10. At each scenario's middle strength, paired
bootstrap intervals over the sampled users (1,000 resamples, seed 0): stressed minus
clean for each variant, and defended minus undefended. "Keeps" is the stressed mean over
the clean mean of the same variant.

    .venv/bin/python benchmarks/bench_robustness_recommend.py [--users 10000] [--quick]
    .venv/bin/python benchmarks/bench_robustness_recommend.py --scenarios click-spam-many
    .venv/bin/python benchmarks/bench_robustness_recommend.py --render

`--scenarios` runs only the named ones and merges them into the stored json (the others,
the clean rows and the chosen support are kept; the clean run is deterministic, so it is
the same). The spam scenarios are two attackers: `click-spam`, 5 heavy bots (the caps and
pair support were built against it), and `click-spam-many`, the same campaign from many
accounts of 20 clicks (each within the per-shopper cap, each a distinct shopper for pair
support); no other attacker is measured.
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
from numpy.typing import NDArray

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.locations import cache_dir
from paretorec.data.splits import assign_splits
from paretorec.evaluate.metrics import Metric, batch_ranking_metrics
from paretorec.evaluate.paired import paired_bootstrap
from paretorec.retrieve.recommend import (
    ActorCaps,
    CoVisitation,
    Popularity,
    Quotas,
    Recommender,
    Source,
    SplitSequences,
    split_sequences,
    validation_set,
)
from paretorec.robustness.events import (
    CLICK_NOISE,
    CLICK_NOISE_POSITION,
    CLICK_SPAM,
    CLICK_SPAM_MANY,
    COLD_CATALOG,
)
from paretorec.robustness.scenarios import Scenario
from paretorec.types import Dataset

RESULTS = Path(__file__).resolve().parent / "results"
NAME = "robustness_recommend"
SEED = 0
K = 10
METRICS = ("ndcg@10", "recall@10")
N_BOOTSTRAP = 1000
PER_USER = 50
PER_ITEM = 1
SUPPORTS = (1, 2, 3, 4, 5)
SCENARIOS: tuple[Scenario, ...] = (
    CLICK_SPAM,
    CLICK_SPAM_MANY,
    CLICK_NOISE,
    CLICK_NOISE_POSITION,
    COLD_CATALOG,
)
VARIANTS = ("undefended", "defended")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def fitted(
    sequences: SplitSequences, vectors: NDArray[np.float32], variant: str, support: int
) -> Recommender:
    caps = ActorCaps(per_user=PER_USER, per_item=PER_ITEM) if variant == "defended" else ActorCaps()
    covisitation = CoVisitation(caps=caps, min_support=support if variant == "defended" else 1)
    return Recommender.fit(
        sequences.item_ids,
        vectors,
        sequences.train,
        generators=[Popularity(caps=caps), covisitation],
        quotas=Quotas({Source.COVISITATION: 1.0}),
    )


def choose_support(dataset: Dataset, vectors: NDArray[np.float32], users: int) -> dict[str, Any]:
    """The defended model's min_support by valid NDCG@10 on clean data."""
    sequences = split_sequences(dataset)
    valid = validation_set(sequences, users=users, seed=SEED)
    assert valid is not None
    relevance = sp.csr_array(
        (np.ones(valid.targets.size), (np.arange(valid.targets.size), valid.targets)),
        shape=(valid.targets.size, sequences.n_items),
    )
    found = {}
    for support in SUPPORTS:
        model = fitted(sequences, vectors, "defended", support)
        ranked, _ = model.rank_many(list(valid.histories), k=K)
        metrics = batch_ranking_metrics(ranked, relevance, ks=(K,), metrics=(Metric.NDCG,))
        found[support] = float(metrics["ndcg@10"])
        log(f"valid NDCG@10 with min_support {support}: {found[support]:.4f}")
    return {"valid_ndcg@10": found, "chosen": max(found, key=lambda s: found[s])}


def per_user_metrics(
    dataset: Dataset,
    vectors: NDArray[np.float32],
    users: list[str],
    variant: str,
    support: int,
) -> dict[str, NDArray[np.float64]]:
    """Fit on the train rows of `dataset`, rank the test of `users` (ids) over the catalog."""
    sequences = split_sequences(dataset)
    model = fitted(sequences, vectors, variant, support)
    row = {u: i for i, u in enumerate(sequences.user_ids)}
    held = sequences.held_out_test(np.array([row[u] for u in users], dtype=np.int64))
    ranked, _ = model.rank_many(held.histories, k=K)
    found = batch_ranking_metrics(
        ranked, held.relevance, ks=(K,), metrics=(Metric.NDCG, Metric.RECALL)
    )
    if found.users.size != len(users):
        raise ValueError("every sampled user must have a test item to pair users")
    return {m: np.asarray(found.per_user[m], dtype=np.float64) for m in METRICS}


def sample_users(dataset: Dataset, n: int) -> list[str]:
    sequences = split_sequences(dataset)
    usable = [
        u
        for u, t, h in zip(sequences.user_ids, sequences.test, sequences.train, strict=True)
        if t.size and h.size
    ]
    rng = np.random.default_rng(SEED)
    return sorted(rng.choice(np.array(usable), size=min(n, len(usable)), replace=False).tolist())


def interval(a: NDArray[np.float64], b: NDArray[np.float64]) -> dict[str, Any]:
    return paired_bootstrap(a, b, n_bootstrap=N_BOOTSTRAP, seed=SEED).as_dict()


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    dataset = assign_splits(load_builtin(BuiltinDataset.AMAZON_GAMES))
    vectors = text_vectors(dataset)
    users = sample_users(dataset, args.users)
    log(f"{len(users)} test users sampled")
    chosen = choose_support(dataset, vectors, args.valid_users)
    support = int(chosen["chosen"])
    clean: dict[str, dict[str, NDArray[np.float64]]] = {
        v: per_user_metrics(dataset, vectors, users, v, support) for v in VARIANTS
    }
    out: dict[str, Any] = {"scenarios": {}}
    wanted = set(args.scenarios.split(",")) if args.scenarios else {s.name for s in SCENARIOS}
    for scenario in (s for s in SCENARIOS if s.name in wanted):
        strengths = scenario.strengths[:2] if args.quick else scenario.strengths
        rows = []
        middle: dict[str, dict[str, NDArray[np.float64]]] = {}
        for strength in strengths:
            stressed = scenario.apply(dataset, strength, SEED)
            row: dict[str, Any] = {"strength": strength}
            for variant in VARIANTS:
                found = (
                    clean[variant]
                    if strength == 0.0
                    else per_user_metrics(stressed, vectors, users, variant, support)
                )
                row[variant] = {m: float(found[m].mean()) for m in METRICS}
                row[variant]["keeps"] = {
                    m: float(found[m].mean() / clean[variant][m].mean()) for m in METRICS
                }
                if strength == scenario.middle_strength:
                    middle[variant] = found
            log(f"{scenario.name} {strength}: " + json.dumps({v: row[v] for v in VARIANTS}))
            rows.append(row)
        found_middle: dict[str, Any] = {}
        if middle:
            found_middle = {
                "strength": scenario.middle_strength,
                **{
                    f"{v} minus its clean": {
                        m: interval(middle[v][m], clean[v][m]) for m in METRICS
                    }
                    for v in VARIANTS
                },
                "defended minus undefended": {
                    m: interval(middle["defended"][m], middle["undefended"][m]) for m in METRICS
                },
            }
        out["scenarios"][scenario.name] = {
            "description": scenario.description,
            "rows": rows,
            "middle": found_middle,
        }
    out["clean"] = {
        "defended minus undefended": {
            m: interval(clean["defended"][m], clean["undefended"][m]) for m in METRICS
        }
    }
    out["config"] = {
        "users": len(users),
        "caps": {"per_user": PER_USER, "per_item": PER_ITEM},
        "min_support": chosen,
        "valid_users": args.valid_users,
        "quick": bool(args.quick),
        "seconds": time.perf_counter() - started,
        "command": "python benchmarks/bench_robustness_recommend.py " + " ".join(sys.argv[1:]),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}",
    }
    return out


def text_vectors(dataset: Dataset) -> NDArray[np.float32]:
    """Title embeddings from the shared cache (co-visitation's text fallback for items it
    has no counts for)."""
    from paretorec.encode import SentenceTransformerEncoder, encode_items_cached, item_text

    return encode_items_cached(
        SentenceTransformerEncoder(), item_text(dataset.items), cache_dir() / "embeddings"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--valid-users", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="the first strength only")
    parser.add_argument("--render", action="store_true", help="rewrite the .md from the .json")
    parser.add_argument(
        "--scenarios", default="", help="only these (comma-separated), merged into the json"
    )
    args = parser.parse_args()
    known = {s.name for s in SCENARIOS}
    unknown = sorted(set(filter(None, args.scenarios.split(","))) - known)
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; known: {sorted(known)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{NAME}.json"
    if args.render:
        found = json.loads(path.read_text())
    else:
        found = run(args)
        if args.scenarios and path.exists():
            found = merged(json.loads(path.read_text()), found)
        path.write_text(json.dumps(found, indent=1) + "\n")
    (RESULTS / f"{NAME}.md").write_text(render(found))
    log(f"wrote {path} and {NAME}.md")


def merged(stored: dict[str, Any], partial: dict[str, Any]) -> dict[str, Any]:
    """The stored run with `partial`'s scenarios put in (in SCENARIOS order); the stored
    config, with the partial run's command and time appended."""
    scenarios = {**stored["scenarios"], **partial["scenarios"]}
    order = [s.name for s in SCENARIOS if s.name in scenarios]
    config = dict(stored["config"])
    config["also"] = [
        *config.get("also", []),
        {k: partial["config"][k] for k in ("command", "seconds", "machine")},
    ]
    return {**stored, "scenarios": {n: scenarios[n] for n in order}, "config": config}


def _ci(found: dict[str, Any]) -> str:
    sig = "sig." if found["lower"] > 0 or found["upper"] < 0 else "not sig."
    return f"{found['difference']:+.4f} [{found['lower']:+.4f}, {found['upper']:+.4f}] ({sig})"


def render(found: dict[str, Any]) -> str:
    config = found["config"]
    support = config["min_support"]
    valid = ", ".join(f"{k}: {v:.4f}" for k, v in support["valid_ndcg@10"].items())
    clean = found["clean"]["defended minus undefended"]
    lines = [
        "## Robustness of recommendation: click spam, click noise, cold catalog (Amazon Games)",
        "",
        f"Machine: {config['machine']}. Command: `{config['command'].strip()}`; "
        f"wall {config['seconds'] / 60:.1f} min."
        + "".join(
            f" Then `{a['command'].strip()}` ({a['seconds'] / 60:.1f} min), merged in."
            for a in config.get("also", [])
        ),
        "",
        "Attackers measured: "
        + (
            "`click-spam` (5 heavy bots) and `click-spam-many` (accounts of 20 clicks); "
            if "click-spam-many" in found["scenarios"]
            else "`click-spam` only (5 heavy bots, each far over the per-user cap of "
            f"{config['caps']['per_user']}, repeating items the per-item cap drops); "
        )
        + "the caps and pair support were designed against the heavy bots, and no other "
        "attacker (accounts that mimic shoppers, campaigns over many items) was measured.",
        "",
        "Amazon Video Games, leave-last-out by sequence order; each scenario "
        "(`paretorec.robustness.events`, seed 0) dirties the *train* rows only, valid and "
        "test stay the clean truth. Recommender: popularity + co-visitation (co-visitation's "
        "quota 1, the popularity floor fills), count-based, so both variants train in one "
        "pass on the same rows (the same budget). *Undefended*: today's generators. "
        f"*Defended*: per-actor caps (`ActorCaps(per_user={config['caps']['per_user']}, "
        f"per_item={config['caps']['per_item']})`) on both, and co-visitation pair support "
        f"`min_support={support['chosen']}` (a pair counts only when that many distinct "
        "shoppers made it), chosen on the clean data by NDCG@10 on the valid item of "
        f"{config['valid_users']:,} seeded users ({valid}) before any scenario was run. "
        f"Test: full-catalog ranking (history excluded) for a seeded sample of "
        f"{config['users']:,} test users, the same users in every run. *Keeps*: the stressed "
        "mean over the clean mean of the same variant. Intervals: 95% paired bootstrap over "
        "the users (1,000 resamples, seed 0).",
        "",
        f"Clean data, defended minus undefended: NDCG@10 {_ci(clean['ndcg@10'])}, "
        f"Recall@10 {_ci(clean['recall@10'])}.",
        "",
    ]
    for name, scenario in found["scenarios"].items():
        lines += [
            f"**{name}** ({scenario['description']}):",
            "",
            "| strength | undefended NDCG@10 | keeps | defended NDCG@10 | keeps "
            "| undefended Recall@10 | keeps | defended Recall@10 | keeps |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in scenario["rows"]:
            u, d = row["undefended"], row["defended"]
            lines.append(
                f"| {row['strength']:g} | {u['ndcg@10']:.4f} | {u['keeps']['ndcg@10']:.1%} "
                f"| {d['ndcg@10']:.4f} | {d['keeps']['ndcg@10']:.1%} "
                f"| {u['recall@10']:.4f} | {u['keeps']['recall@10']:.1%} "
                f"| {d['recall@10']:.4f} | {d['keeps']['recall@10']:.1%} |"
            )
        middle = scenario["middle"]
        if middle:
            lines += [
                "",
                f"At the middle strength {middle['strength']:g} (paired over the users): "
                f"undefended minus its clean NDCG@10 "
                f"{_ci(middle['undefended minus its clean']['ndcg@10'])}; defended minus its "
                f"clean {_ci(middle['defended minus its clean']['ndcg@10'])}; defended minus "
                f"undefended {_ci(middle['defended minus undefended']['ndcg@10'])} "
                f"(Recall@10: {_ci(middle['defended minus undefended']['recall@10'])}).",
            ]
        lines.append("")
    lines += goal_lines(found)
    return "\n".join(lines) + "\n"


def goal_lines(found: dict[str, Any]) -> list[str]:
    """The issue's goal at each middle strength, by NDCG@10, as measured."""
    out = [
        "Goal (at the middle strength the defended keeps >= 95% of its clean NDCG@10 where "
        "the undefended loses >= 10%, at <= 2% loss on clean):",
        "",
    ]
    clean = found["clean"]["defended minus undefended"]["ndcg@10"]
    loss = -clean["difference"] / clean["mean_b"]
    out.append(
        f"- clean: the defended {'gains' if loss < 0 else 'loses'} {abs(loss):.1%} against "
        f"the undefended ({'met' if loss <= 0.02 else 'not met'})."
    )
    for name, scenario in found["scenarios"].items():
        strength = scenario["middle"].get("strength")
        row = next((r for r in scenario["rows"] if r["strength"] == strength), None)
        if row is None:
            continue
        u, d = row["undefended"]["keeps"]["ndcg@10"], row["defended"]["keeps"]["ndcg@10"]
        met = d >= 0.95 and u <= 0.90
        why = ""
        if not met:
            why = (
                " (the undefended loses less than 10%)"
                if u > 0.90
                else " (the defended keeps less than 95%)"
            )
        against = row["defended"]["ndcg@10"] / scenario["rows"][0]["undefended"]["ndcg@10"]
        out.append(
            f"- {name} at {strength:g}: undefended keeps {u:.1%}, defended {d:.1%}: "
            f"{'met' if met else 'not met'}{why}; the defended stressed is {against:.1%} of "
            "the undefended clean."
        )
    out += [
        "",
        "Read with care: *keeps* is against each variant's own clean figure, and the defended "
        "starts higher (pair support alone raises clean co-visitation), so against today's "
        "clean recommender the defended fares better than its own *keeps* says. The caps do "
        "nothing against uniform or position-biased noise (one stray click per shopper is "
        "within any cap); what the defended wins there is pair support's. Nothing here "
        "defends a cold catalog: co-visitation cannot recommend an item nobody bought; text "
        "(the two-tower, the learned merge) is the remedy.",
    ]
    if "click-spam-many" in found["scenarios"]:
        out[-1] += (
            " The same campaign from many small accounts (`click-spam-many`) gets past both "
            "defences: each account stays within the caps, and each pushed pair is made by "
            "many distinct accounts, so pair support keeps it; the defended loses nearly as "
            "much as the undefended, and what it keeps over it is mostly its higher clean "
            "start."
        )
    return out


if __name__ == "__main__":
    main()
