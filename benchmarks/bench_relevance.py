"""Relevance as an objective of the served policy (#19): does raising w_relevance raise the
lists' true relevance, and do the default weights put fewer off-topic items on top?

Two policies per seed, trained as `make demo` trains its policy (PPO in the demo's
simulated shop, `train_in_simulator` at `DemoModelSize`'s budget, the same seed, world
and logs):
- TODAY: objectives clicks, revenue, diversity (the demo's policy before #19);
- OURS: clicks, revenue, diversity, relevance (reward: the list's NDCG against the
  shopper's true graded relevance; input: the relevance predicted from the match features).

Measured on fresh sessions the policies never saw (the same sessions for every policy
and weighting), greedy top 10:
1. In the simulator: NDCG@10 against the simulator's true grades in search sessions (the
   relevance reward counts only those: browsing has no query), the share of the top 3 that is off-topic in search sessions
   (an item outside the query's mid-level category: "laptop" for "headphones"), and the
   exact expected clicks, revenue and category diversity; OURS over a sweep of
   w_relevance (the other weights equal), and both at the default (uniform) weights and
   at the demo's "mostly diversity" weighting.
2. Through the service's path on the demo shop itself (`make demo`'s 5,000-item catalog,
   the hybrid index over MiniLM vectors, `ServedPolicy` on the request features): sampled
   shoppers' search queries; off-topic share of the top 3 and NDCG@10 against the true
   grades of the retrieved candidates; the first stage's own order as a reference; and the
   issue's query "wireless headphones" shown.

Seeds: mean ± sd over seeds, and the demo shop per seed; the differences OURS - TODAY at
the default weights with 95% paired bootstrap intervals within each seed (over queries on
the demo shop, over search sessions in the simulator), pooled over (seed, unit) pairs, and
the 95% Student t interval of the per-seed mean differences over the seeds (the one that
counts training-seed variance).
How close the predicted relevance is to the truth (grade / MAX_GRADE): its correlation
and mean absolute error in the simulator's searches and on the demo shop.

    .venv/bin/python benchmarks/bench_relevance.py [--seeds 0 1 2] [--quick]
    .venv/bin/python benchmarks/bench_relevance.py --render   # relevance.md from its json

Writes benchmarks/results/relevance.md and relevance.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from paretorec.demo_models import DemoModelSize
from paretorec.policy import Algorithm, PolicyObjective, SimulatorSpec, rank
from paretorec.policy.recipe import SimulatorRun, train_in_simulator
from paretorec.policy.rewards import list_ndcg, list_objective_values
from paretorec.policy.simulator import list_facts
from paretorec.simulate.sessions import MAX_GRADE
from significance import SIG, yes_no
from spread import t_interval, t_interval_verdict

METRICS = ("ndcg_search", "off_topic_top3", "clicks", "revenue", "diversity")

RESULTS = Path(__file__).resolve().parent / "results"
WORK = Path(__file__).resolve().parent / ".work" / "relevance"
K = 10
TOP = 3
EVAL_SEED = 4242
TODAY = ("clicks", "revenue", "diversity")
OURS = ("clicks", "revenue", "diversity", "relevance")
SWEEP = (0.0, 0.25, 0.5, 0.75, 1.0)
EXAMPLE = "wireless headphones"


def weights_of(names: tuple[str, ...], relevance: float | None = None) -> np.ndarray:
    """Weights in `names` order: with `relevance`, that weight for relevance and the rest
    split equally; otherwise uniform."""
    if relevance is None:
        return np.full(len(names), 1.0 / len(names))
    others = (1.0 - relevance) / (len(names) - 1)
    return np.array([relevance if n == "relevance" else others for n in names])


def weightings(names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The default (uniform) weights, and the demo's "mostly diversity" weighting."""
    diversity = {"clicks": 0.1, "revenue": 0.1, "diversity": 0.7, "relevance": 0.1}
    if "relevance" not in names:
        diversity["diversity"] = 0.8
    return {
        "default (uniform)": weights_of(names),
        "mostly diversity": np.array([diversity[n] for n in names]),
    }


def train(names: tuple[str, ...], seed: int, quick: bool) -> SimulatorRun:
    size = DemoModelSize()
    spec = SimulatorSpec(n_items=size.policy_items, n_users=size.policy_users, world_seed=seed)
    return train_in_simulator(
        spec,
        list(names),
        algorithm=Algorithm.PPO,
        sessions=size.policy_sessions // (8 if quick else 1),
        log_sessions=size.policy_log_sessions // (4 if quick else 1),
        seed=seed,
    )


def in_simulator(run: SimulatorRun, w: np.ndarray, n_sessions: int) -> dict[str, Any]:
    """Per session of the evaluation batch: NDCG@10, off-topic share of the top 3 (NaN
    outside search), expected clicks and revenue, category diversity."""
    from paretorec.simulate.sessions import decode_query_keys, leaf_relevance

    task = run.task
    env = task.env(n_sessions, seed=EVAL_SEED)
    obs = env.reset(seed=EVAL_SEED)
    lists = rank(run.policy, task.inputs(obs), w, K).items
    grades = env.candidate_grades()
    feedback = env.expected_feedback(lists).per_session()
    diversity = list_objective_values(
        (PolicyObjective.DIVERSITY,), lists, list_facts(obs, env.examination)
    )[PolicyObjective.DIVERSITY]
    shown = np.take_along_axis(obs.candidates, lists, axis=1)
    searched = obs.is_search
    off = np.full(obs.n_sessions, np.nan)
    if searched.any():
        leaf = decode_query_keys(task.world, obs.query[searched]).leaf
        closeness = leaf_relevance(task.world, leaf[:, None], shown[searched, :TOP])
        off[searched] = (closeness < task.world.config.behaviour.relevance_mid).mean(axis=1)
    predicted = task.predictor.predict_observation(obs).get("relevance")
    return {
        "ndcg": list_ndcg(grades, lists),
        "search": searched,
        "truth": grades[searched] / MAX_GRADE,
        "predicted": None if predicted is None else predicted[searched],
        "off_topic": off,
        "clicks": feedback["clicks"],
        "revenue": feedback["revenue"],
        "diversity": diversity,
    }


def agreement(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """How close predicted relevance is to the true grade / MAX_GRADE: Pearson correlation
    and mean absolute error over all (query, candidate) pairs."""
    p, t = np.ravel(predicted), np.ravel(truth)
    return {"corr": float(np.corrcoef(p, t)[0, 1]), "mae": float(np.abs(p - t).mean())}


def summary(values: dict[str, Any]) -> dict[str, float]:
    s = values["search"]
    return {
        "ndcg_search": float(values["ndcg"][s].mean()),
        "off_topic_top3": float(np.nanmean(values["off_topic"])),
        "clicks": float(values["clicks"].mean()),
        "revenue": float(values["revenue"].mean()),
        "diversity": float(values["diversity"].mean()),
    }


# ----------------------------------------------------------------------------- demo shop


def demo_service(quick: bool) -> tuple[Any, Any, list[tuple[str, int, int, int]]]:
    """The demo shop's world, a serving pipeline over its catalog (the demo's hybrid index,
    MiniLM vectors), and sampled search queries: (text, leaf, brand, attribute)."""
    from paretorec.data.locations import cache_dir
    from paretorec.demo import DemoSize
    from paretorec.encode import SentenceTransformerEncoder
    from paretorec.retrieve import ScoreFusion
    from paretorec.serve.encoders import EncoderRef
    from paretorec.serve.index_version import build_index_version
    from paretorec.serve.loading import LoadOptions, load_pipeline
    from paretorec.serve.registry import ModelKind, ModelRegistry
    from paretorec.simulate import generate_world
    from paretorec.simulate.sessions import draw_intents, query_texts
    from paretorec.types import Catalog

    size = DemoSize()
    world = generate_world(size.items, size.users, seed=0)  # `paretorec demo`'s shop (seed 0)
    encoder = SentenceTransformerEncoder()
    models = WORK / "models"
    registry = ModelRegistry(models)
    if not registry.versions(ModelKind.INDEX):
        index = build_index_version(
            registry,
            Catalog(world.items_frame()),
            encoder,
            cache=cache_dir() / "embeddings",
            reference=EncoderRef.bundled(encoder.name),
            fusion=ScoreFusion(weight=0.7),
        )
        registry.promote(ModelKind.INDEX, index.version)
    pipeline = load_pipeline(registry, LoadOptions(encoder=encoder))
    rng = np.random.default_rng(EVAL_SEED)
    intents = draw_intents(world, world.users.draw(4000, rng), rng)
    texts = query_texts(world, intents).to_list()
    seen: dict[str, tuple[str, int, int, int]] = {}
    for i, text in enumerate(texts):
        seen.setdefault(
            text,
            (text, int(intents.leaf[i]), int(intents.brand[i]), int(intents.attribute[i])),
        )
    queries = list(seen.values())[: 60 if quick else 400]
    example = next((q for q in seen.values() if q[0] == EXAMPLE), None)
    if example is None:  # the query, built from the vocabulary
        leaf = world.taxonomy.leaf_nouns.index("headphones")
        attribute = world.words.attribute_words.index("wireless")
        example = (EXAMPLE, leaf, -1, attribute)
    return world, pipeline, [example, *[q for q in queries if q[0] != EXAMPLE]]


def retrieved(
    world: Any, pipeline: Any, queries: list[tuple[str, int, int, int]]
) -> Iterator[tuple[str, int, Any, Any, np.ndarray, np.ndarray]]:
    """Each query's text and leaf, the service's search context and top-K candidates for it,
    the candidates' rows in the world and their true grades (one row)."""
    from paretorec.serve.pipeline import SearchQuery
    from paretorec.simulate.sessions import Intent, graded_relevance

    row_of = {item: n for n, item in enumerate(world.item_ids.to_list())}
    for text, leaf, brand, attribute in queries:
        query = SearchQuery(text, k=K)
        context = pipeline.search_context(query)
        candidates = pipeline.search_candidates(context, query)
        rows = np.array([row_of[i] for i in candidates.item_ids], dtype=np.int64)
        intent = Intent(
            np.array([leaf]), np.array([brand]), np.array([attribute]), np.array([True])
        )
        yield text, leaf, context, candidates, rows, graded_relevance(world, intent, rows[None, :])


def on_demo_shop(
    world: Any, pipeline: Any, queries: list[tuple[str, int, int, int]], run: SimulatorRun,
    weights: dict[str, np.ndarray],
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, list[str]], dict[str, dict[str, float]]]:  # fmt: skip
    """Per weighting, per query: off-topic share of the top 3 and NDCG@10 against the true
    grades of the retrieved candidates; the example query's top 5 per weighting; and, for
    a policy that predicts relevance, how close that prediction (and the first stage's
    share) is to grade / MAX_GRADE over the retrieved candidates."""
    from paretorec.policy.predictors import LoggedFeedbackModel
    from paretorec.policy.served import ServedPolicy
    from paretorec.preference import Preference
    from paretorec.serve.fallback import relevance_predictions
    from paretorec.simulate.sessions import leaf_relevance

    predictor = run.task.predictor
    assert isinstance(predictor, LoggedFeedbackModel)  # the demo's recipe: logged feedback
    served = ServedPolicy(run.policy, pipeline.store, predictor=predictor)
    names = tuple(run.policy.config.objectives)
    titles = world.items_frame()["title"].to_list()
    out: dict[str, dict[str, list[float]]] = {n: {"off_topic": [], "ndcg": []} for n in weights}
    example: dict[str, list[str]] = {}
    predicted, truth, share = [], [], []
    for text, leaf, context, candidates, rows, grades in retrieved(world, pipeline, queries):
        own = served.predicted_relevance(context, candidates)
        if own is not None:  # what the service reports and floors for this policy
            predicted.append(own)
            truth.append(grades[0] / MAX_GRADE)
            share.append(relevance_predictions(candidates.scores)["relevance"])
        for name, w in weights.items():
            order = served.choose(context, candidates, {}, Preference(names, w), K).order
            top = rows[order[:TOP]]
            closeness = leaf_relevance(world, np.array([leaf]), top)
            relevant_mid = world.config.behaviour.relevance_mid
            out[name]["off_topic"].append(float((closeness < relevant_mid).mean()))
            out[name]["ndcg"].append(float(list_ndcg(grades, order[None, :K])[0]))
            if text == EXAMPLE:
                example[name] = [titles[r] for r in rows[order[:5]]]
    checked = {}
    if predicted:
        p, t, f = (np.concatenate(x) for x in (predicted, truth, share))
        checked = {"predicted": agreement(p, t), "share": agreement(f, t)}
    per_query = {n: {k: np.asarray(v) for k, v in d.items()} for n, d in out.items()}
    return per_query, example, checked


def first_stage(
    world: Any, pipeline: Any, queries: list[tuple[str, int, int, int]]
) -> dict[str, float]:
    """The retrieval order's own off-topic share of the top 3 and NDCG@10."""
    from paretorec.simulate.sessions import leaf_relevance

    off, ndcg = [], []
    for _, leaf, _, _, rows, grades in retrieved(world, pipeline, queries):
        closeness = leaf_relevance(world, np.array([leaf]), rows[:TOP])
        off.append(float((closeness < world.config.behaviour.relevance_mid).mean()))
        ndcg.append(float(list_ndcg(grades, np.arange(min(K, rows.size))[None, :])[0]))
    return {"off_topic_top3": float(np.mean(off)), "ndcg": float(np.mean(ndcg))}


def paired_interval(diff: np.ndarray, *, seed: int = 0, n: int = 2000) -> list[float]:
    rng = np.random.default_rng(seed)
    boot = diff[rng.integers(0, diff.size, (n, diff.size))].mean(axis=1)
    return [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))]


# ----------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="small budget, to try the script")
    parser.add_argument("--sessions", type=int, default=4000, help="evaluation sessions")
    parser.add_argument(
        "--render", action="store_true", help="rewrite relevance.md from relevance.json"
    )
    args = parser.parse_args()
    if args.render:
        rendered = markdown(json.loads((RESULTS / "relevance.json").read_text()))
        (RESULTS / "relevance.md").write_text(rendered)
        print(rendered)
        return
    torch.set_num_threads(1)
    start = time.perf_counter()
    world, pipeline, queries = demo_service(args.quick)
    print(f"demo shop: {len(queries)} queries, index ready", flush=True)
    results: dict[str, Any] = {
        "seeds": args.seeds,
        "queries": len(queries),
        "sessions": args.sessions,
        "first_stage": first_stage(world, pipeline, queries),
        "runs": {},
    }
    shop_diffs: dict[str, list[np.ndarray]] = {"off_topic": [], "ndcg": []}
    sim_diffs: dict[str, list[np.ndarray]] = {"off_topic": [], "ndcg": []}
    for seed in args.seeds:
        per_seed: dict[str, Any] = {}
        shop_default: dict[str, dict[str, np.ndarray]] = {}
        sim_default: dict[str, dict[str, np.ndarray]] = {}
        for label, names in (("today", TODAY), ("ours", OURS)):
            t0 = time.perf_counter()
            run = train(names, seed, args.quick)
            trained_s = time.perf_counter() - t0
            entry: dict[str, Any] = {"train_s": trained_s, "simulator": {}, "demo_shop": {}}
            for name, w in weightings(names).items():
                values = in_simulator(run, w, args.sessions)
                entry["simulator"][name] = {"weights": w.tolist(), **summary(values)}
                if name.startswith("default"):
                    sim_default[label] = values
                    if values["predicted"] is not None:
                        entry["relevance_check_simulator"] = agreement(
                            values["predicted"], values["truth"]
                        )
            if label == "ours":
                entry["sweep"] = {
                    f"{r:g}": summary(in_simulator(run, weights_of(names, r), args.sessions))
                    for r in SWEEP
                }
                swept, _, _ = on_demo_shop(
                    world, pipeline, queries, run, {f"{r:g}": weights_of(names, r) for r in SWEEP}
                )
                entry["demo_shop_sweep"] = {
                    key: {m: float(v.mean()) for m, v in values.items()}
                    for key, values in swept.items()
                }
            shop, example, checked = on_demo_shop(world, pipeline, queries, run, weightings(names))
            if checked:
                entry["relevance_check"] = {"demo_shop": checked}
            for name, values in shop.items():
                entry["demo_shop"][name] = {
                    "off_topic_top3": float(values["off_topic"].mean()),
                    "ndcg": float(values["ndcg"].mean()),
                    "example": example.get(name, []),
                }
            shop_default[label] = shop["default (uniform)"]
            per_seed[label] = entry
            print(seed, label, json.dumps(entry)[:600], flush=True)
        for key in ("off_topic", "ndcg"):
            shop_diffs[key].append(shop_default["ours"][key] - shop_default["today"][key])
            ours, today = sim_default["ours"], sim_default["today"]
            field = "off_topic" if key == "off_topic" else "ndcg"
            mask = ours["search"]
            sim_diffs[key].append(ours[field][mask] - today[field][mask])
        results["runs"][str(seed)] = per_seed
    # pairs only within a seed (each seed is its own world); pooled: all (seed, unit) pairs
    results["paired"] = {
        where: {
            key: {
                "per_seed": {
                    str(seed): {
                        "mean": float(diff.mean()),
                        "ci95": paired_interval(diff),
                        "units": int(diff.size),
                    }
                    for seed, diff in zip(args.seeds, d[key], strict=True)
                },
                "pooled": {
                    "mean": float(np.concatenate(d[key]).mean()),
                    "ci95": paired_interval(np.concatenate(d[key])),
                    "units": int(np.concatenate(d[key]).size),
                },
            }
            for key in ("off_topic", "ndcg")
        }
        for where, d in (("demo_shop", shop_diffs), ("simulator_search", sim_diffs))
    }
    results["wall_s"] = time.perf_counter() - start
    results["quick"] = args.quick
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "relevance.json").write_text(json.dumps(results, indent=1))
    (RESULTS / "relevance.md").write_text(markdown(results))
    print((RESULTS / "relevance.md").read_text())


def seed_differences(r: dict[str, Any], where: str, key: str, seeds: list[str]) -> list[float]:
    """OURS - TODAY's mean over the units of each seed, one value per seed."""
    per_seed = r["paired"][where][key]["per_seed"]
    return [float(per_seed[s]["mean"]) for s in seeds]


def over_seeds(differences: list[float]) -> tuple[str, bool]:
    """The per-seed differences' mean with its 95% t interval over the seeds (3 decimals,
    as the table's), and whether it excludes 0 (from the unrounded bounds)."""
    return t_interval_verdict(differences, digits=3)


def over_seeds_verdict(differences: list[float]) -> str:
    """The generated verdict on OURS − TODAY over the seeds: its 95% t interval and whether
    it excludes 0, from the numbers (empty for one seed)."""
    if len(differences) < 2:
        return ""
    text, significant = over_seeds(differences)
    return f"OURS − TODAY over the {len(differences)} seeds, 95% t interval: {text}, " + (
        "significant at 95%" if significant else "which holds 0: not significant at 95%"
    )


def reading(r: dict[str, Any], seeds: list[str]) -> list[str]:
    """What the tables say, generated from this run's numbers."""
    runs = r["runs"]

    def mean(label: str, part: str, weighting: str, key: str) -> float:
        return float(np.mean([runs[s][label][part][weighting][key] for s in seeds]))

    def at_sweep(v: float, key: str) -> float:
        return float(np.mean([runs[s]["ours"]["sweep"][f"{v:g}"][key] for s in seeds]))

    sweep = [at_sweep(v, "ndcg_search") for v in SWEEP]
    rising = all(b > a for a, b in itertools.pairwise(sweep))
    d, md = "default (uniform)", "mostly diversity"
    shop = r["paired"]["demo_shop"]["off_topic"]
    shown = runs[seeds[0]]["ours"]["demo_shop"][md]["example"]
    at = [n + 1 for n, title in enumerate(shown) if "laptop" in title.lower()]
    laptop = (
        f', and a laptop still comes #{at[0]} for "{EXAMPLE}" (below)'
        if at
        else f'; no laptop in the top 5 for "{EXAMPLE}" (below)'
    )
    pooled = shop["pooled"]
    significant = pooled["ci95"][1] < 0
    per_seed = [runs[s] for s in seeds]
    shop_today = [x["today"]["demo_shop"][d]["off_topic_top3"] for x in per_seed]
    shop_ours = [x["ours"]["demo_shop"][d]["off_topic_top3"] for x in per_seed]
    lower_in = sum(o < t for o, t in zip(shop_ours, shop_today, strict=True))
    holds = lower_in == len(seeds)
    shop_differences = seed_differences(r, "demo_shop", "off_topic", seeds)
    shop_verdict = over_seeds_verdict(shop_differences)
    # "repairs" only when OURS lowers the off-topic share significantly over the seeds
    repairs = len(seeds) >= 2 and t_interval(shop_differences)[2] < 0
    sim_verdict = over_seeds_verdict(seed_differences(r, "simulator_search", "off_topic", seeds))
    ours_ndcg = [x["ours"]["demo_shop"][d]["ndcg"] for x in per_seed]
    first = r["first_stage"]
    sim_check = [x["ours"].get("relevance_check_simulator") for x in per_seed]
    shop_check = [x["ours"].get("relevance_check", {}).get("demo_shop") for x in per_seed]
    checks = []
    if all(sim_check) and all(shop_check):
        checks = [
            f"- The simulator's figures are an upper bound: there the predicted relevance is "
            f"nearly the truth (correlation {np.mean([c['corr'] for c in sim_check]):.2f} with "
            f"grade / {MAX_GRADE:g} in search sessions), because its "
            "`leaf_match` feature says whether the item is in the leaf the query names, which is "
            "the intent's leaf. On the demo shop the policy reads the first stage's share "
            f"instead, and its predicted relevance (what the service reports, explains and "
            f"floors) correlates {np.mean([c['predicted']['corr'] for c in shop_check]):.2f} "
            f"with grade / {MAX_GRADE:g} over the retrieved candidates (mean absolute error "
            f"{np.mean([c['predicted']['mae'] for c in shop_check]):.2f}; the share itself: "
            f"{np.mean([c['share']['corr'] for c in shop_check]):.2f} and "
            f"{np.mean([c['share']['mae'] for c in shop_check]):.2f}): an ordering of the "
            "candidates, not a calibrated grade.",
        ]
    return [
        "Reading (generated from this run's numbers):",
        "",
        *checks,
        f"- On the demo shop the retrieval order alone is nearly on topic (off-topic "
        f"{first['off_topic_top3']:.3f}, NDCG@10 {first['ndcg']:.3f}): TODAY's policy "
        f"{'pushed off-topic items up' if np.mean(shop_today) > first['off_topic_top3'] else 'kept it'} "
        f"(to {np.mean(shop_today):.3f} at the default weights; {min(shop_today):.3f} to "
        f"{max(shop_today):.3f} across seeds) and the relevance objective "
        f"{'repairs that' if repairs else 'lowers it' if np.mean(shop_ours) < np.mean(shop_today) else 'does not lower it'} (OURS {np.mean(shop_ours):.3f}), "
        f"{'lower than TODAY on every seed' if holds else 'but not lower on every seed'}"
        + (f" ({lower_in}/{len(seeds)}); {shop_verdict}" if shop_verdict else "")
        + "; OURS' "
        f"NDCG@10 {np.mean(ours_ndcg):.3f} "
        f"{'does not exceed' if round(float(np.mean(ours_ndcg)), 3) <= round(first['ndcg'], 3) else 'exceeds'} retrieval's.",
        f"- Raising w_relevance raises the lists' true NDCG@10 in search sessions "
        f"{'at every step' if rising else 'but not at every step'} of the sweep "
        f"({sweep[0]:.3f} at 0 to {sweep[-1]:.3f} at 1); what it costs: diversity "
        f"{at_sweep(0.0, 'diversity'):.3f} to {at_sweep(1.0, 'diversity'):.3f}, clicks per list "
        f"{at_sweep(0.0, 'clicks'):.3f} to {at_sweep(1.0, 'clicks'):.3f} (highest "
        f"{max(at_sweep(v, 'clicks') for v in SWEEP):.3f}).",
        f"- At the default weights the off-topic share of the top 3 falls from "
        f"{mean('today', 'simulator', d, 'off_topic_top3'):.3f} to "
        f"{mean('ours', 'simulator', d, 'off_topic_top3'):.3f} in the simulator's searches"
        + (f" ({sim_verdict})" if sim_verdict else "")
        + f" and from {mean('today', 'demo_shop', d, 'off_topic_top3'):.3f} to "
        f"{mean('ours', 'demo_shop', d, 'off_topic_top3'):.3f} on the demo shop"
        + (
            f" ({shop_verdict}"
            + (
                "; the pooled paired interval excludes 0 but holds each seed's policies fixed"
                if significant
                else ""
            )
            + ")"
            if shop_verdict
            else " (the pooled paired interval excludes 0)"
            if significant
            else ""
        )
        + "; OURS gets "
        f"{mean('ours', 'simulator', d, 'clicks'):.3f} clicks per list (TODAY "
        f"{mean('today', 'simulator', d, 'clicks'):.3f}) and diversity "
        f"{mean('ours', 'simulator', d, 'diversity'):.3f} (TODAY "
        f"{mean('today', 'simulator', d, 'diversity'):.3f}): at the default weights OURS "
        "gives each of its four objectives 1/4, TODAY each of its three 1/3.",
        f"- Relevance is a trade-off, not a guarantee: at 'mostly diversity' (relevance 0.1) "
        f"the demo shop's off-topic share is {mean('ours', 'demo_shop', md, 'off_topic_top3'):.3f} "
        f"(TODAY {mean('today', 'demo_shop', md, 'off_topic_top3'):.3f}){laptop}; the relevance "
        "floor (`relevance_floor`, BENCHMARKS.md 'floor') is what no weight can trade away.",
    ]


def _ms(values: list[float], digits: int = 3) -> str:
    a = np.asarray(values, dtype=np.float64)
    sd = a.std(ddof=1) if a.size > 1 else 0.0
    return f"{a.mean():.{digits}f} ± {sd:.{digits}f}"


def markdown(r: dict[str, Any]) -> str:
    seeds = [str(s) for s in r["seeds"]]
    runs = r["runs"]

    def across(label: str, part: str, weighting: str, key: str) -> list[float]:
        return [runs[s][label][part][weighting][key] for s in seeds]

    lines = [
        "## Relevance as an objective of the served policy (simulated shops)",
        "",
        f"`benchmarks/bench_relevance.py`{' --quick' if r['quick'] else ''}, "
        f"{platform.machine()}, torch threads 1, wall {r['wall_s']:.0f} s, seeds "
        f"{', '.join(seeds)} (mean ± sd over seeds). Per seed, two PPO policies trained as "
        "`make demo` trains its policy (the demo's simulated shop and budget, same seed, world "
        "and logs): TODAY weighs clicks, revenue, diversity; OURS adds relevance (reward: the "
        "list's NDCG@10 against the shopper's true graded relevance; input: relevance predicted "
        "from the match features). Greedy top 10 on fresh sessions the policies never saw, the "
        "same for every policy and weighting. Off-topic: an item outside the query's mid-level "
        "category (a laptop for headphones). NDCG@10 counts search sessions only (browsing "
        "has no query; the relevance reward is 0 there).",
        "",
        f"### In the simulated shop ({r['sessions']:,} sessions; exact expected feedback)",
        "",
        "The policies' own 2,000-item simulated world per seed (not the demo shop). An upper "
        "bound: here the predicted relevance is nearly the truth (see the reading).",
        "",
        "OURS as w_relevance grows (the other three weights equal):",
        "",
        "| w_relevance | NDCG@10 (search) | off-topic in top 3 (search) | "
        "clicks / list | revenue / list | diversity |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for key in (f"{v:g}" for v in SWEEP):
        rows = [runs[s]["ours"]["sweep"][key] for s in seeds]
        lines.append(
            f"| {key} | "
            + " | ".join(_ms([x[m] for x in rows], 2 if m == "revenue" else 3) for m in METRICS)
            + " |"
        )
    lines += [
        "",
        "TODAY vs OURS at two weightings, which differ because OURS has a fourth objective: "
        "default = uniform, TODAY 1/3 each of clicks / revenue / diversity, OURS 1/4 each of "
        "clicks / revenue / diversity / relevance; 'mostly diversity' = TODAY 0.1 / 0.1 / 0.8, "
        "OURS 0.1 / 0.1 / 0.7 / 0.1 (relevance 0.1 taken from diversity):",
        "",
        "| weighting | policy | NDCG@10 (search) | off-topic in top 3 (search) | "
        "clicks / list | revenue / list | diversity |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for weighting in ("default (uniform)", "mostly diversity"):
        for label in ("today", "ours"):
            lines.append(
                f"| {weighting} | {label.upper()} | "
                + " | ".join(
                    _ms(across(label, "simulator", weighting, m), 2 if m == "revenue" else 3)
                    for m in METRICS
                )
                + " |"
            )
    first = r["first_stage"]
    lines += [
        "",
        f"### On the demo shop (simulated) through the service's path ({r['queries']} search "
        "queries)",
        "",
        "`make demo`'s 5,000-item catalog, its hybrid index (BM25 + MiniLM, fusion 0.7), "
        "each policy served by `ServedPolicy` on the request features (the first stage's "
        "score as the match), sampled shoppers' queries; truth: the simulator's grades of the "
        "retrieved candidates.",
        "",
        "| weighting | policy | off-topic in top 3 | NDCG@10 |",
        "|---|---|---:|---:|",
        f"| — | first stage (retrieval order) | {first['off_topic_top3']:.3f} | "
        f"{first['ndcg']:.3f} |",
    ]
    for weighting in ("default (uniform)", "mostly diversity"):
        for label in ("today", "ours"):
            lines.append(
                f"| {weighting} | {label.upper()} | "
                f"{_ms(across(label, 'demo_shop', weighting, 'off_topic_top3'))} | "
                f"{_ms(across(label, 'demo_shop', weighting, 'ndcg'))} |"
            )
    lines += [
        "",
        "OURS on the demo shop as w_relevance grows (the other three weights equal):",
        "",
        "| w_relevance | off-topic in top 3 | NDCG@10 |",
        "|---:|---:|---:|",
    ]
    for key in (f"{v:g}" for v in SWEEP):
        rows = [runs[s]["ours"]["demo_shop_sweep"][key] for s in seeds]
        lines.append(
            f"| {key} | {_ms([x['off_topic'] for x in rows])} | {_ms([x['ndcg'] for x in rows])} |"
        )
    lines += [
        "",
        "The demo shop (simulated) per seed at the default weights (the policies differ by seed "
        "far more "
        "than the queries move them, so the seeds are the spread to read):",
        "",
        "| seed | TODAY off-topic | OURS off-topic | TODAY NDCG@10 | OURS NDCG@10 |",
        "|---:|---:|---:|---:|---:|",
    ]
    d = "default (uniform)"
    for s in seeds:
        t, o = runs[s]["today"]["demo_shop"][d], runs[s]["ours"]["demo_shop"][d]
        lines.append(
            f"| {s} | {t['off_topic_top3']:.3f} | {o['off_topic_top3']:.3f} | "
            f"{t['ndcg']:.3f} | {o['ndcg']:.3f} |"
        )
    paired = r["paired"]
    lines += [
        "",
        "OURS − TODAY at the default weights, 95% paired intervals. Rows by seed: a bootstrap "
        "within that seed (pairs are the same query, or the same search session of that seed's "
        "world), over its units only; pooled: a bootstrap over all (seed, unit) pairs, which "
        "holds each seed's trained policies fixed too; over seeds: the Student t interval of "
        f"the {len(seeds)} per-seed mean differences, the one that counts training-seed "
        "variance (read it for whether OURS beats TODAY):",
        "",
        f"| where | seed | off-topic in top 3 | {SIG} | NDCG@10 | {SIG} | units |",
        "|---|---|---:|---|---:|---|---:|",
    ]

    def cell(x: dict[str, Any]) -> str:
        lower, upper = x["ci95"]
        sig = "yes" if lower > 0 or upper < 0 else "no"
        return f"{x['mean']:+.3f} [{lower:+.3f}, {upper:+.3f}] | {sig}"

    for where, title in (("demo_shop", "demo shop (queries)"), ("simulator_search", "simulator (search sessions)")):  # fmt: skip
        p = paired[where]
        for s in [*seeds, "pooled"]:
            off = p["off_topic"]["pooled"] if s == "pooled" else p["off_topic"]["per_seed"][s]
            nd = p["ndcg"]["pooled"] if s == "pooled" else p["ndcg"]["per_seed"][s]
            lines.append(f"| {title} | {s} | {cell(off)} | {cell(nd)} | {off['units']:,} |")
        if len(seeds) > 1:
            cells = [
                over_seeds(seed_differences(r, where, k, seeds)) for k in ("off_topic", "ndcg")
            ]
            lines.append(
                f"| {title} | over seeds (t) | "
                + " | ".join(f"{text} | {yes_no(sig)}" for text, sig in cells)
                + f" | {len(seeds)} seeds |"
            )
    lines += ["", "*sig. at 95%*: the paired 95% interval to its left excludes 0."]
    lines += ["", *reading(r, seeds)]
    first_seed = seeds[0]
    lines += ["", f'The issue\'s query, "{EXAMPLE}", top 5 (seed {first_seed}):', ""]
    for weighting in ("default (uniform)", "mostly diversity"):
        for label in ("today", "ours"):
            shown = runs[first_seed][label]["demo_shop"][weighting]["example"]
            lines.append(f"- {weighting}, {label.upper()}: " + "; ".join(shown))
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
