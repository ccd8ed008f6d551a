"""Off-policy estimators side by side with Open Bandit Pipeline (obp 0.4.1) on the real
Open Bandit Dataset, identical inputs to both.

1. Bernoulli TS's value from the uniform random policy's logs (ALL campaign), and the
   random policy's value from the Bernoulli TS logs. BTS's action distribution is
   obp's own (`BernoulliTS(n_actions=80, len_list=3, is_zozotown_prior=True,
   campaign="all", random_state=12345).compute_batch_action_dist(n_sim=100000,
   n_rounds=10000)`), computed once in obp's environment and fed to both libraries; the
   random policy's is exactly 1/80. The DM / DR family gets the same estimated rewards
   in both, fitted once by paretorec's cross-fitted reward model (logistic regression on
   the one-hot user features, the item's one-hot and the position's), so the comparison
   is about the estimators. Each estimator's value from both, their difference, the
   logs' own on-policy CTR next to them, and the time each library takes.
2. The slate estimators (standard, independent-item and reward-interaction IPS) on
   obp's synthetic slate data (`SyntheticSlateBanditDataset`, 10 items, lists of 3,
   cascade clicks), with the evaluation policy's propensities from obp's
   `obtain_pscore_given_evaluation_policy_logit`.

obp 0.4.1 does not install with this project's numpy 2: it runs in its own virtual
environment (created by this script on first use, after ../shared/PEERS.md, a few
minutes) as a subprocess that reads an .npz written here and writes JSON back. The log
data come from paretorec's OBD reader (`load_obd`), which reads the same CSVs from the
same obp wheel.

    .venv/bin/python benchmarks/bench_ope_obp.py [--peer-env /tmp/peer-obp]

Writes benchmarks/results/ope_obp.md and ope_obp.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from paretorec.data.datasets.obd import ObdCampaign, ObdPolicy, load_obd
from paretorec.evaluate.ope import (
    DM,
    DR,
    IIPS,
    IPS,
    RIPS,
    SIPS,
    SNDR,
    SNIPS,
    CrossFittedRewardModel,
    OffPolicyEstimator,
    SwitchDR,
    cascade_pscore,
    feedback_from_events,
)

RESULTS = Path(__file__).resolve().parent / "results"
N_ACTIONS, LEN_LIST = 80, 3
SEED = 12345
TAU = 5.0  # Switch-DR's threshold on the importance weight
LAMBDA = 10.0  # the cap of clipped IPW
N_BOOTSTRAP = 1000
REPEATS = 20
SLATE_ROUNDS = 5000
PEER_PACKAGES = (
    ["torch==2.13.0"],
    ["obp==0.4.1"],
    ["--force-reinstall", "--no-deps", "numpy==1.26.4", "pandas==1.5.3"],
    ["scikit-learn<1.3"],
    ["pytz"],  # pandas 1.5.3 needs it; the --no-deps reinstall above skips it
)

# Our estimators, by the names of the rows; obp's counterparts are in PEER_SCRIPT.
ESTIMATORS: dict[str, OffPolicyEstimator] = {
    "IPW": IPS(),
    "SNIPW": SNIPS(),
    "DM": DM(),
    "DR": DR(),
    "SNDR": SNDR(),
    f"Switch-DR (tau={TAU:g})": SwitchDR(tau=TAU),
    f"IPW clipped (lambda={LAMBDA:g})": IPS(lambda_=LAMBDA),
}

PEER_SCRIPT = r'''
"""Runs in obp 0.4.1's environment: `bts OUT.npz N`, `estimate IN.npz OUT.json`,
`slate OUT.npz N`."""
import json, statistics, sys, time
import numpy as np

def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter(); out = fn(); times.append(time.perf_counter() - start)
    return out, statistics.median(times)

def bts(out, n_rounds):
    from obp.policy import BernoulliTS
    start = time.perf_counter()
    policy = BernoulliTS(n_actions=80, len_list=3, is_zozotown_prior=True, campaign="all",
                         random_state=12345)
    dist = policy.compute_batch_action_dist(n_sim=100000, n_rounds=n_rounds)
    np.savez(out, action_dist=dist, seconds=time.perf_counter() - start)

def estimate(inp, out):
    import obp
    from obp.ope import (InverseProbabilityWeighting as IPW, SelfNormalizedInverseProbabilityWeighting
        as SNIPW, DirectMethod, DoublyRobust, SelfNormalizedDoublyRobust, SwitchDoublyRobust)
    data = np.load(inp)
    tau, lam, repeats, n_boot = (float(data["tau"]), float(data["lambda_"]), int(data["repeats"]),
                                 int(data["n_bootstrap"]))
    results = {"obp_version": obp.__version__, "numpy": np.__version__, "cases": {}}
    for case in [str(c) for c in data["cases"]]:
        g = {k: data[f"{case}/{k}"] for k in ("reward", "action", "position", "pscore",
                                             "action_dist", "q_hat")}
        pi_e = g["action_dist"][np.arange(g["action"].shape[0]), g["action"], g["position"]]
        # obp 0.4.1 has no weight clipping: a pscore raised to pi_e / lambda where the
        # weight would exceed lambda gives min(w, lambda) exactly
        clipped_pscore = np.maximum(g["pscore"], pi_e / lam)
        logged = dict(reward=g["reward"], action=g["action"], position=g["position"],
                      action_dist=g["action_dist"])
        calls = {
            "IPW": (IPW(), dict(logged, pscore=g["pscore"])),
            "SNIPW": (SNIPW(), dict(logged, pscore=g["pscore"])),
            "DM": (DirectMethod(), dict(action_dist=g["action_dist"], position=g["position"],
                                        estimated_rewards_by_reg_model=g["q_hat"])),
            "DR": (DoublyRobust(), dict(logged, pscore=g["pscore"],
                                        estimated_rewards_by_reg_model=g["q_hat"])),
            "SNDR": (SelfNormalizedDoublyRobust(), dict(logged, pscore=g["pscore"],
                                                        estimated_rewards_by_reg_model=g["q_hat"])),
            "Switch-DR": (SwitchDoublyRobust(tau=tau), dict(logged, pscore=g["pscore"],
                                                            estimated_rewards_by_reg_model=g["q_hat"])),
            "IPW clipped": (IPW(), dict(logged, pscore=clipped_pscore)),
        }
        rows = {}
        for name, (est, kw) in calls.items():
            value, seconds = timed(lambda: est.estimate_policy_value(**kw), repeats)
            start = time.perf_counter()
            ci = est.estimate_interval(**kw, alpha=0.05, n_bootstrap_samples=n_boot,
                                       random_state=12345)
            rows[name] = {"value": float(value), "seconds": seconds,
                          "interval_seconds": time.perf_counter() - start,
                          "interval": [float(v) for v in ci.values()]}
        results["cases"][case] = rows
    with open(out, "w") as f:
        json.dump(results, f)

def slate(out, n_rounds):
    from obp.dataset import (SyntheticSlateBanditDataset, logistic_reward_function,
                             linear_behavior_policy_logit)
    from obp.ope import SlateStandardIPS, SlateIndependentIPS, SlateRewardInteractionIPS
    ds = SyntheticSlateBanditDataset(n_unique_action=10, dim_context=5, len_list=3,
        base_reward_function=logistic_reward_function,
        behavior_policy_function=linear_behavior_policy_logit, reward_type="binary",
        reward_structure="cascade_additive", click_model="cascade", random_state=12345)
    fb = ds.obtain_batch_bandit_feedback(n_rounds=n_rounds, return_pscore_item_position=True)
    logit = np.random.default_rng(12345).normal(size=(n_rounds, 10))
    e_pscore, e_item_position, e_cascade = ds.obtain_pscore_given_evaluation_policy_logit(
        action=fb["action"], evaluation_policy_logit_=logit, return_pscore_item_position=True)
    base = dict(slate_id=fb["slate_id"], reward=fb["reward"], position=fb["position"])
    calls = {
        "SIPS": (SlateStandardIPS(len_list=3), dict(base, pscore=fb["pscore"],
                                                   evaluation_policy_pscore=e_pscore)),
        "IIPS": (SlateIndependentIPS(len_list=3), dict(base,
            pscore_item_position=fb["pscore_item_position"],
            evaluation_policy_pscore_item_position=e_item_position)),
        "RIPS": (SlateRewardInteractionIPS(len_list=3), dict(base,
            pscore_cascade=fb["pscore_cascade"], evaluation_policy_pscore_cascade=e_cascade)),
    }
    values, seconds = {}, {}
    for name, (est, kw) in calls.items():
        values[name], seconds[name] = timed(lambda: est.estimate_policy_value(**kw), 5)
    np.savez(out, slate_id=fb["slate_id"], reward=fb["reward"], position=fb["position"],
             pscore=fb["pscore"], pscore_item_position=fb["pscore_item_position"],
             pscore_cascade=fb["pscore_cascade"], e_pscore=e_pscore,
             e_pscore_item_position=e_item_position, e_pscore_cascade=e_cascade,
             names=np.array(list(values)), values=np.array(list(values.values())),
             seconds=np.array(list(seconds.values())),
             on_policy=ds.calc_on_policy_policy_value(fb["reward"], fb["slate_id"]))

if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "bts":
        bts(sys.argv[2], int(sys.argv[3]))
    elif mode == "estimate":
        estimate(sys.argv[2], sys.argv[3])
    else:
        slate(sys.argv[2], int(sys.argv[3]))
'''


def ensure_peer_env(env: Path) -> Path:
    """The peer environment's python, created after PEERS.md when it is missing."""
    python = env / "bin" / "python"
    check = [str(python), "-c", "import obp, pandas, sklearn; assert obp.__version__ == '0.4.1'"]
    if python.is_file() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating obp's environment in {env} (a few minutes)", flush=True)
    base = shutil.which("python3") or sys.executable
    subprocess.run([base, "-m", "venv", str(env)], check=True)
    for packages in PEER_PACKAGES:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *packages], check=True)
    subprocess.run(check, check=True)
    return python


def run_peer(python: Path, work: Path, *args: str) -> None:
    script = work / "peer_obp.py"
    script.write_text(PEER_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(
        [str(python), str(script), *args], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"obp's subprocess failed:\n{done.stderr[-4000:]}")


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, statistics.median(times)


def obd_case(
    logs: ObdPolicy, action_dist: np.ndarray, model: CrossFittedRewardModel
) -> dict[str, Any]:
    """The arrays of one direction: logs of `logs`, evaluation policy `action_dist`."""
    data = load_obd(logs, ObdCampaign.ALL)
    assert data.events is not None and data.users is not None
    feedback = feedback_from_events(
        data.events,
        action_ids=[str(i) for i in range(N_ACTIONS)],
        users=data.users,
        context_columns=[f"user_feature_{i}" for i in range(4)],
    )
    start = time.perf_counter()
    fitted = model.fit_predict(
        context=feedback.context,
        action=feedback.action,
        reward=feedback.reward,
        position=feedback.position,
        n_actions=N_ACTIONS,
        len_list=LEN_LIST,
    )
    fit_s = time.perf_counter() - start
    return {
        "reward": feedback.reward,
        "action": feedback.action,
        "position": feedback.position,
        "pscore": feedback.pscore,
        "action_dist": action_dist,
        "q_hat": fitted.estimated_rewards,
        "reward_model_seconds": fit_s,
        "n_rounds": feedback.n_rounds,
        "n_clicks": int(feedback.reward.sum()),
        "context_features": len(feedback.context_names),
    }


def ours(case: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    kw = {k: case[k] for k in ("reward", "action", "position", "pscore", "action_dist")}
    for name, est in ESTIMATORS.items():

        def estimate(est: OffPolicyEstimator = est) -> float:
            return est.estimate_policy_value(**kw, estimated_rewards_by_reg_model=case["q_hat"])

        value, seconds = median_time(estimate, REPEATS)
        start = time.perf_counter()
        ci = est.estimate_interval(
            **kw,
            estimated_rewards_by_reg_model=case["q_hat"],
            alpha=0.05,
            n_bootstrap=N_BOOTSTRAP,
            seed=SEED,
        )
        rows[name] = {
            "value": value,
            "seconds": seconds,
            "interval_seconds": time.perf_counter() - start,
            "interval": [ci.mean, ci.lower, ci.upper],
        }
    return rows


def slate_comparison(python: Path, work: Path) -> dict[str, Any]:
    out = work / "slate.npz"
    start = time.perf_counter()
    run_peer(python, work, "slate", str(out), str(SLATE_ROUNDS))
    peer_s = time.perf_counter() - start
    d = np.load(out)
    base = {"slate_id": d["slate_id"], "reward": d["reward"], "position": d["position"]}
    # obp's pscore_cascade is the top-k probability; our helper rebuilds it from the
    # probabilities given the items above (the data contract's propensity_given_above)
    above = np.concatenate([[np.nan], d["pscore_cascade"][:-1]])
    given = np.where(d["position"] == 0, d["pscore_cascade"], d["pscore_cascade"] / above)
    rebuilt = cascade_pscore(d["slate_id"], d["position"], given)
    calls: dict[str, Callable[[], float]] = {
        "SIPS": lambda: SIPS().estimate_policy_value(
            **base, pscore=d["pscore"], evaluation_policy_pscore=d["e_pscore"]
        ),
        "IIPS": lambda: IIPS().estimate_policy_value(
            **base,
            pscore_item_position=d["pscore_item_position"],
            evaluation_policy_pscore_item_position=d["e_pscore_item_position"],
        ),
        "RIPS": lambda: RIPS().estimate_policy_value(
            **base,
            pscore_cascade=d["pscore_cascade"],
            evaluation_policy_pscore_cascade=d["e_pscore_cascade"],
        ),
    }
    rows = []
    obp_values = dict(zip([str(n) for n in d["names"]], d["values"].tolist(), strict=True))
    obp_seconds = dict(zip([str(n) for n in d["names"]], d["seconds"].tolist(), strict=True))
    for name, fn in calls.items():
        value, seconds = median_time(fn, 5)
        rows.append(
            {
                "estimator": name,
                "paretorec": value,
                "obp": obp_values[name],
                "abs_diff": abs(value - obp_values[name]),
                "paretorec_s": seconds,
                "obp_s": obp_seconds[name],
            }
        )
    return {
        "n_slates": SLATE_ROUNDS,
        "len_list": 3,
        "n_unique_action": 10,
        "behaviour_on_policy_value": float(d["on_policy"]),
        "rows": rows,
        "cascade_rebuild_max_abs_diff": float(np.abs(rebuilt - d["pscore_cascade"]).max()),
        "peer_seconds": peer_s,
    }


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def markdown(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        "## Off-policy evaluation against Open Bandit Pipeline",
        "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}; paretorec with numpy {m['numpy']}, "
        f"obp {report['obp_version']} in its own environment with numpy {report['obp_numpy']}. "
        f"Command: `{report['command']}`.",
        "",
        "Both libraries get identical arrays: the Open Bandit Dataset's ALL-campaign logs "
        "(10,000 rounds each, from paretorec's reader of the obp wheel), Bernoulli TS's "
        "action distribution from obp's own `BernoulliTS(n_actions=80, len_list=3, "
        'is_zozotown_prior=True, campaign="all", random_state=12345)'
        ".compute_batch_action_dist(n_sim=100000, n_rounds=10000)` "
        f"({report['bts_seconds']:.1f} s in obp's environment), the random policy's exact "
        "1/80, and for DM and the DR family the same estimated rewards, cross-fitted once by "
        f"paretorec ({report['reward_model']}). obp 0.4.1 has no weight clipping, so its "
        "clipped IPW is its IPW given the pscore max(pscore, pi_e / lambda), which makes "
        "every weight min(w, lambda). Times are the median of "
        f"{REPEATS} calls of `estimate_policy_value`; intervals are 95% percentile "
        f"bootstrap, {N_BOOTSTRAP} replicates in both (different generators: they agree "
        "only up to bootstrap noise).",
    ]
    for case in report["cases"]:
        lines += [
            "",
            f"### {case['title']}",
            "",
            f"On-policy CTR of the evaluation policy's own logs: **{case['on_policy_ctr']:.4f}** "
            f"({case['on_policy_clicks']} clicks in {case['on_policy_rounds']:,} rounds, "
            f"± {case['on_policy_ci']:.4f} at 95%). Logs used: {case['n_rounds']:,} rounds, "
            f"{case['n_clicks']} clicks; reward model {case['reward_model_seconds']:.1f} s.",
            "",
            "| estimator | paretorec | obp 0.4.1 | abs. difference | paretorec 95% CI "
            "| obp 95% CI | paretorec time | obp time |",
            "|---|---:|---:|---:|---|---|---:|---:|",
        ]
        for r in case["rows"]:
            lines.append(
                f"| {r['estimator']} | {r['paretorec']:.7f} | {r['obp']:.7f} | "
                f"{r['abs_diff']:.1e} | [{r['paretorec_ci'][0]:.5f}, {r['paretorec_ci'][1]:.5f}] "
                f"| [{r['obp_ci'][0]:.5f}, {r['obp_ci'][1]:.5f}] | "
                f"{fmt_time(r['paretorec_s'])} | {fmt_time(r['obp_s'])} |"
            )
        lines += [
            "",
            f"Largest difference: {case['max_abs_diff']:.1e} (all within 1e-6: "
            f"{'yes' if case['max_abs_diff'] < 1e-6 else 'NO'}). Bootstrap interval, "
            f"{N_BOOTSTRAP} replicates, all seven estimators: paretorec "
            f"{fmt_time(case['paretorec_interval_s'])}, obp {fmt_time(case['obp_interval_s'])}.",
        ]
    s = report["slate"]
    lines += [
        "",
        "### Slate estimators on obp's synthetic slate data",
        "",
        f"`SyntheticSlateBanditDataset(n_unique_action=10, len_list=3, dim_context=5, "
        f'reward_structure="cascade_additive", click_model="cascade", random_state=12345)`, '
        f"{s['n_slates']:,} slates; evaluation policy: a softmax over random logits, its "
        "propensities from obp's `obtain_pscore_given_evaluation_policy_logit`. The "
        f"behaviour policy's on-policy value is {s['behaviour_on_policy_value']:.4f} clicks "
        "per list. paretorec's `cascade_pscore`, given the propensities conditional on the "
        "items above, rebuilds obp's `pscore_cascade` to within "
        f"{s['cascade_rebuild_max_abs_diff']:.1e}.",
        "",
        "| estimator | paretorec | obp 0.4.1 | abs. difference | paretorec time | obp time |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in s["rows"]:
        lines.append(
            f"| {r['estimator']} | {r['paretorec']:.7f} | {r['obp']:.7f} | {r['abs_diff']:.1e} "
            f"| {fmt_time(r['paretorec_s'])} | {fmt_time(r['obp_s'])} |"
        )
    lines += ["", report["note"]]
    return "\n".join(lines) + "\n"


def note(report: dict[str, Any]) -> str:
    """What the tables say, from their numbers."""
    first = {r["estimator"]: r["obp"] for r in report["cases"][0]["rows"]}
    seen = {"IPW": 0.0045529, "SNIPW": 0.0047758}  # PEERS.md, obp on the same inputs
    same = all(abs(first[k] - v) < 5e-8 for k, v in seen.items())
    parts = [
        f"obp's IPW and SNIPW of Bernoulli TS from the random logs "
        f"{'reproduce' if same else 'DIFFER FROM'} the figures PEERS.md reports "
        "(0.0045529, 0.0047758)."
    ]
    for case in report["cases"]:
        inside = [
            r["estimator"]
            for r in case["rows"]
            if r["paretorec_ci"][0] <= case["on_policy_ctr"] <= r["paretorec_ci"][1]
        ]
        parts.append(
            f"{case['title']}: the logged on-policy CTR {case['on_policy_ctr']:.4f} lies inside "
            f"paretorec's 95% interval of {len(inside)} of {len(case['rows'])} estimators"
            + (
                f" (not: {', '.join(r['estimator'] for r in case['rows'] if r['estimator'] not in inside)})"
                if len(inside) < len(case["rows"])
                else ""
            )
            + "."
        )
    ipw = report["cases"][0]["rows"][0]
    parts.append(
        "DM's interval is narrow because the bootstrap resamples rounds around a fixed "
        "reward model: it leaves out the model's own error, which is DM's bias. With about "
        "40 clicks per log the weighting estimators are very uncertain (IPW's interval for "
        f"Bernoulli TS is [{ipw['paretorec_ci'][0]:.4f}, {ipw['paretorec_ci'][1]:.4f}]). obp "
        "0.4.1 has every estimator compared here except weight clipping (added in obp 0.5); "
        "its slate estimators have neither clipping nor self-normalized variants."
    )
    return " ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer-env", type=Path, default=Path("/tmp/peer-obp"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    threadpool_limits(limits=1)  # see bench_ope_simulator.py: BLAS threads fight on 2 cores

    python = ensure_peer_env(args.peer_env)
    with tempfile.TemporaryDirectory(prefix="bench-ope-obp-") as tmp:
        work = Path(tmp)
        n_rounds = 10_000
        run_peer(python, work, "bts", str(work / "bts.npz"), str(n_rounds))
        bts = np.load(work / "bts.npz")
        bts_dist = np.asarray(bts["action_dist"], dtype=np.float64)
        uniform = np.full((n_rounds, N_ACTIONS, LEN_LIST), 1.0 / N_ACTIONS)
        model = CrossFittedRewardModel(
            base_model=LogisticRegression(C=1.0, max_iter=2000), n_folds=3, seed=SEED
        )
        cases = {
            "bts_from_random": obd_case(ObdPolicy.RANDOM, bts_dist, model),
            "random_from_bts": obd_case(ObdPolicy.BTS, uniform, model),
        }
        arrays: dict[str, Any] = {
            "cases": np.array(list(cases)),
            "tau": TAU,
            "lambda_": LAMBDA,
            "repeats": REPEATS,
            "n_bootstrap": N_BOOTSTRAP,
        }
        for name, case in cases.items():
            for key in ("reward", "action", "position", "pscore", "action_dist", "q_hat"):
                arrays[f"{name}/{key}"] = case[key]
        np.savez(work / "inputs.npz", **arrays)
        start = time.perf_counter()
        run_peer(python, work, "estimate", str(work / "inputs.npz"), str(work / "obp.json"))
        print(f"obp estimates: {time.perf_counter() - start:.1f} s", flush=True)
        peer = json.loads((work / "obp.json").read_text())
        slate = slate_comparison(python, work)

    on_policy = {"bts_from_random": ObdPolicy.BTS, "random_from_bts": ObdPolicy.RANDOM}
    titles = {
        "bts_from_random": "Bernoulli TS evaluated on the random policy's logs",
        "random_from_bts": "The random policy evaluated on Bernoulli TS's logs",
    }
    report_cases = []
    for name, case in cases.items():
        mine = ours(case)
        theirs = peer["cases"][name]
        rows = []
        for (label, row), peer_row in zip(mine.items(), theirs.values(), strict=True):
            rows.append(
                {
                    "estimator": label,
                    "paretorec": row["value"],
                    "obp": peer_row["value"],
                    "abs_diff": abs(row["value"] - peer_row["value"]),
                    "paretorec_ci": row["interval"][1:],
                    "obp_ci": peer_row["interval"][1:],
                    "paretorec_s": row["seconds"],
                    "obp_s": peer_row["seconds"],
                    "paretorec_interval_s": row["interval_seconds"],
                    "obp_interval_s": peer_row["interval_seconds"],
                }
            )
        own = load_obd(on_policy[name], ObdCampaign.ALL)
        assert own.events is not None
        clicks = int((own.events.frame["event"] == "click").sum())
        imps = int((own.events.frame["event"] == "impression").sum())
        ctr = clicks / imps
        report_cases.append(
            {
                "name": name,
                "title": titles[name],
                "n_rounds": case["n_rounds"],
                "n_clicks": case["n_clicks"],
                "reward_model_seconds": case["reward_model_seconds"],
                "on_policy_ctr": ctr,
                "on_policy_clicks": clicks,
                "on_policy_rounds": imps,
                "on_policy_ci": 1.96 * math.sqrt(ctr * (1 - ctr) / imps),
                "rows": rows,
                "max_abs_diff": max(r["abs_diff"] for r in rows),
                "paretorec_interval_s": sum(r["paretorec_interval_s"] for r in rows),
                "obp_interval_s": sum(r["obp_interval_s"] for r in rows),
            }
        )
        for r in rows:
            print(f"{name:>16} {r['estimator']:>26}: {r['paretorec']:.7f} {r['obp']:.7f}")

    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        },
        "command": "python benchmarks/bench_ope_obp.py",
        "obp_version": peer["obp_version"],
        "obp_numpy": peer["numpy"],
        "bts_seconds": float(bts["seconds"]),
        "reward_model": (
            "logistic regression, C=1, on 3 seeded folds; features: the user features "
            "one-hot, the item one-hot, the position one-hot"
        ),
        "tau": TAU,
        "lambda": LAMBDA,
        "cases": report_cases,
        "slate": slate,
        "note": "",
    }
    report["note"] = note(report)
    text = markdown(report)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ope_obp.md").write_text(text)
    (args.out / "ope_obp.json").write_text(json.dumps(report, indent=2, default=float) + "\n")


if __name__ == "__main__":
    main()
