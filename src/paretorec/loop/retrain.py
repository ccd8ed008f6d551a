"""`retrain`: learn a candidate policy from the log since the last version, judge it
against the promoted one off-policy on the most recent held-back rounds, and promote it
only when the gate (`paretorec.loop.gate`) approves; either way it is registered, with
the decision and its figures in its manifest and in a report (markdown and JSON).

The window is the log after `since` (by default the promoted loop policy's last trained
event): its earliest rounds train the candidate, its latest `holdout` share judges. The
promoted policy is judged as served, Plackett-Luce over its scores / temperature, with its
own stored features; where no loop policy is promoted yet, the bar is the logging
policy's own value on the held-back rounds (its on-policy mean).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge

from paretorec.evaluate.ope import DR, SNIPS, CrossFittedRewardModel
from paretorec.evaluate.ope.base import RoundTerms
from paretorec.loop.features import FloatArray, IntArray
from paretorec.loop.gate import WEIGHTED, Decision, GateRule, compare, decide
from paretorec.loop.policy import (
    LOOP_MODE,
    OBJECTIVES,
    LoopLog,
    LoopPolicy,
    read_log,
    train_candidate,
)
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.types import Dataset

__all__ = [
    "DEFAULT_WEIGHTS",
    "RetrainConfig",
    "RetrainResult",
    "judge",
    "judge_distributions",
    "register_candidate",
    "retrain",
    "write_report",
]

DEFAULT_WEIGHTS: Mapping[str, float] = {"clicks": 0.5, "purchases": 0.3, "revenue": 0.2}
LOGGED = "the logging policy"


@dataclass(frozen=True)
class RetrainConfig:
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    holdout: float = 0.3  # the latest share of the window's rounds, held back to judge
    epochs: int = 20
    temperature: float = 1.0  # the candidate is served as PL(scores / temperature)
    gate: GateRule = field(default_factory=GateRule)
    seed: int = 0
    shuffle_rewards: bool = False

    def __post_init__(self) -> None:
        if set(self.weights) != set(OBJECTIVES) or min(self.weights.values()) < 0:
            raise ValueError(f"weights must give each of {', '.join(OBJECTIVES)} a weight >= 0")
        total = sum(self.weights.values())
        if total <= 0:
            raise ValueError("the weights must not all be 0")
        object.__setattr__(self, "weights", {k: self.weights[k] / total for k in OBJECTIVES})
        if not 0 < self.holdout < 1:
            raise ValueError(f"holdout must lie in (0, 1), got {self.holdout}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


@dataclass(frozen=True)
class RetrainResult:
    version: str
    promoted: bool
    baseline: str  # the version judged against, or LOGGED
    decision: Decision
    since: str | None
    until: str
    fit_rounds: int
    held_rounds: int

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "promoted": self.promoted,
            "baseline": self.baseline,
            "since": self.since,
            "until": self.until,
            "fit_rounds": self.fit_rounds,
            "held_rounds": self.held_rounds,
            "decision": self.decision.to_json(),
        }


def _reward_model(reward: FloatArray) -> Any:
    return LogisticRegression(max_iter=1000) if set(np.unique(reward)) <= {0.0, 1.0} else Ridge()


def _q_hat(
    context: FloatArray,
    items: FloatArray,
    log: LoopLog,
    rows: IntArray,
    reward: FloatArray,
    seed: int,
) -> FloatArray:
    """Cross-fitted q(x, a, k) of one reward on the rounds `rows` (a constant reward: itself)."""
    shape = (rows.size, len(log.item_ids), log.len_list)
    if reward.min() == reward.max():
        return np.full(shape, float(reward[0]))
    model = CrossFittedRewardModel(base_model=_reward_model(reward), n_folds=3, seed=seed)
    return model.fit_predict(
        context=context,
        action=log.action[rows],
        reward=reward,
        position=log.position[rows],
        n_actions=len(log.item_ids),
        len_list=log.len_list,
        action_context=items,
    ).estimated_rewards


def _terms(
    dist: FloatArray | None,
    log: LoopLog,
    rows: IntArray,
    rewards: Mapping[str, FloatArray],
    q: Mapping[str, FloatArray],
) -> dict[str, dict[str, RoundTerms]]:
    """{estimator: {objective: round terms}}; `dist` None: the logging policy on-policy."""
    out: dict[str, dict[str, RoundTerms]] = {"SNIPS": {}, "DR": {}}
    for name, reward in rewards.items():
        if dist is None:
            out["SNIPS"][name] = out["DR"][name] = RoundTerms(base=reward)
            continue
        common = {
            "action_dist": dist,
            "reward": reward,
            "action": log.action[rows],
            "pscore": log.pscore[rows],
            "position": log.position[rows],
        }
        out["SNIPS"][name] = SNIPS().round_terms(SNIPS().check(**common))
        dr = DR()
        out["DR"][name] = dr.round_terms(dr.check(**common, estimated_rewards_by_reg_model=q[name]))
    return out


def judge(
    dataset: Dataset,
    log: LoopLog,
    rows: IntArray,
    candidate: LoopPolicy,
    promoted: LoopPolicy | None,
    config: RetrainConfig,
) -> Decision:
    """The gate's decision on the held-back rounds `rows`: SNIPS and DR per objective
    and for the weighted objective, each difference with its paired bootstrap interval."""
    users = [log.user_ids[i] for i in rows]
    inputs = candidate.inputs(dataset, users)
    dist = candidate.action_dist(candidate.scores(inputs), log.len_list)
    held = None
    if promoted is not None:
        held = promoted.action_dist(promoted.scores(promoted.inputs(dataset, users)), log.len_list)
    return judge_distributions(
        log, rows, dist, held, config, context=inputs.context, items=inputs.item_features[0]
    )


def judge_distributions(
    log: LoopLog,
    rows: IntArray,
    candidate: FloatArray,
    promoted: FloatArray | None,
    config: RetrainConfig,
    *,
    context: FloatArray,
    items: FloatArray,
) -> Decision:
    """`judge` for any two policies given as their action distributions on `rows`, (n,
    n_items, len_list) (None: the logging policy); `context` and `items` are the reward
    models' features of the rounds and of the catalog's items."""
    weights = config.weights
    rewards = {k: log.rewards[k][rows] for k in OBJECTIVES}
    rewards[WEIGHTED] = log.weighted(weights, rows)
    q = {k: _q_hat(context, items, log, rows, rewards[k], config.seed) for k in OBJECTIVES}
    q[WEIGHTED] = sum((weights[k] * q[k] for k in OBJECTIVES), np.zeros_like(q["clicks"]))
    mine = _terms(candidate, log, rows, rewards, q)
    theirs = _terms(promoted, log, rows, rewards, q)
    comparisons = [
        c
        for estimator in mine
        for c in compare(mine[estimator], theirs[estimator], estimator=estimator, rule=config.gate)
    ]
    return decide(comparisons, config.gate)


def _promoted_loop_policy(registry: ModelRegistry) -> tuple[str, LoopPolicy, str | None] | None:
    """The promoted policy version, loaded, and the last event it was trained on; None
    where no policy is promoted. A promoted policy that the loop did not train is refused:
    the loop would judge and replace a policy it cannot read."""
    version = registry.promoted(ModelKind.POLICY)
    if version is None:
        return None
    folder, manifest = registry.load(ModelKind.POLICY, version)
    if manifest.config.get("mode") != LOOP_MODE:
        raise ValueError(
            f"the promoted policy {version} in {registry.root} was not trained by the loop; "
            "give `retrain` its own --models folder"
        )
    until = manifest.config.get("trained_until")
    return version, LoopPolicy.load(folder), str(until) if until else None


def retrain(
    dataset: Dataset,
    registry: ModelRegistry,
    config: RetrainConfig,
    *,
    since: datetime | None = None,
    data: Path | None = None,
) -> RetrainResult:
    """Train, judge, register and (if the gate approves) promote; see the module docstring."""
    current = _promoted_loop_policy(registry)
    if since is None and current is not None and current[2]:
        since = datetime.fromisoformat(current[2])
    log = read_log(dataset, since)
    cut = round(log.n_rounds * (1 - config.holdout))
    if cut < 100 or log.n_rounds - cut < 100:
        raise ValueError(
            f"{log.n_rounds} rounds since {since.isoformat() if since else 'the start'}: "
            "too few to train on and to judge (at least 100 each)"
        )
    fit, held = np.arange(cut), np.arange(cut, log.n_rounds)
    candidate = train_candidate(
        dataset, log, fit, weights=config.weights, temperature=config.temperature,
        epochs=config.epochs, seed=config.seed, shuffle_rewards=config.shuffle_rewards,
        previous=current[1] if current is not None and not config.shuffle_rewards else None,
    )  # fmt: skip
    decision = judge(dataset, log, held, candidate, current[1] if current else None, config)
    return register_candidate(
        registry,
        ModelKind.POLICY,
        candidate.save,
        mode=LOOP_MODE,
        log=log,
        since=since,
        config=config,
        decision=decision,
        baseline=current[0] if current else LOGGED,
        fit_rounds=int(fit.size),
        held_rounds=int(held.size),
        data=data,
    )


def register_candidate(
    registry: ModelRegistry,
    kind: ModelKind,
    save: Callable[[Path], None],
    *,
    mode: str,
    log: LoopLog,
    since: datetime | None,
    config: RetrainConfig,
    decision: Decision,
    baseline: str,
    fit_rounds: int,
    held_rounds: int,
    data: Path | None,
    extra: Mapping[str, Any] | None = None,
) -> RetrainResult:
    """Register a judged candidate (`save` writes its files into the staged folder) with the
    decision in its manifest and the gate's comparisons as metrics, and promote it if the
    gate approves; shared by the policy's and the ranker's retraining. `extra` goes into the
    manifest after `since`."""
    manifest_config = {
        "mode": mode,
        "trained_until": log.until,
        "since": since.isoformat() if since else None,
        **(extra or {}),
        "weights": dict(config.weights),
        "temperature": config.temperature,
        "epochs": config.epochs,
        "seed": config.seed,
        "shuffle_rewards": config.shuffle_rewards,
        "fit_rounds": fit_rounds,
        "held_rounds": held_rounds,
        "baseline": baseline,
        "decision": decision.to_json(),
    }
    with registry.stage(kind, data=data, config=manifest_config) as staged:
        save(staged.folder)
        for c in decision.comparisons:
            staged.metrics[f"{c.estimator.lower()}_{c.objective}"] = c.candidate
            staged.metrics[f"{c.estimator.lower()}_{c.objective}_difference"] = c.difference
    assert staged.manifest is not None
    version = staged.manifest.version
    if decision.promote:
        registry.promote(kind, version)
    return RetrainResult(
        version=version,
        promoted=decision.promote,
        baseline=baseline,
        decision=decision,
        since=since.isoformat() if since else None,
        until=log.until,
        fit_rounds=fit_rounds,
        held_rounds=held_rounds,
    )


def write_report(result: RetrainResult, folder: Path, *, kind: str = "policy") -> tuple[Path, Path]:
    """`retrain.md` and `retrain.json` in `folder` (`kind`: what was retrained)."""
    folder.mkdir(parents=True, exist_ok=True)
    alpha = result.decision.alpha
    md, js = folder / "retrain.md", folder / "retrain.json"
    js.write_text(json.dumps(result.to_json(), indent=2))
    verdict = "promoted" if result.promoted else "registered, not promoted"
    lines = [
        f"# retrain: {kind} {result.version} {verdict}",
        "",
        f"- window: events after {result.since or 'the start'} up to {result.until or '?'}",
        f"- rounds: {result.fit_rounds:,} to train, the latest {result.held_rounds:,} held back to judge",
        f"- judged against: {result.baseline}",
        f"- decision: {result.decision.reason}",
        "",
        f"| objective | estimator | candidate | promoted | difference | {1 - alpha:.0%} interval |",
        "|---|---|---:|---:|---:|---|",
    ]
    lines += [
        f"| {c.objective} | {c.estimator} | {c.candidate:.5f} | {c.promoted:.5f} | "
        f"{c.difference:+.5f} | [{c.lower:+.5f}, {c.upper:+.5f}] |"
        for c in result.decision.comparisons
    ]
    md.write_text("\n".join(lines) + "\n")
    return md, js
