"""What would another policy earn, judged from the logs? An off-policy evaluation report.

`analyse_ope` is pure: a dataset whose events hold impressions with `position` and
`propensity` goes in, a typed `OpeAnalysis` comes out. The log's rounds (impressions,
see `paretorec.evaluate.ope.adapter`) are cut in time into two folds at list
boundaries: the target policy is fitted on the first (`fit_fraction` of the rounds, the
earliest lists), and every estimate is computed on the second only, so the target never
sees a round it is judged on. The reward model of DM and the DR family is cross-fitted
inside the second fold. Beside the estimates stands what the logs themselves earned on
that fold (the logging policy's on-policy value), with a bootstrap interval of the same
kind: rounds resampled with replacement, the same seed.

The target policies are context-free (one distribution over the logged items per
position, the same for every round), built from each item's smoothed reward rate in the
first fold,

    rate_a = (rewards_a + 1) / (impressions_a + 1 / p),   p = the first fold's reward rate,

an "add-one" smoothing: each item gets one pseudo-reward in the 1 / p pseudo-impressions
an average item needs to earn one, i.e. a Beta prior with mean p and 1 / p pseudo-counts.
An item rarely shown keeps a rate near the average instead of 0 or 1.

`write_ope_report` puts the analysis into a folder: `ope.md`, `ope.json` and `ope.png`
(each estimator's estimate with its interval beside the logged value and its band).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.figure import Figure

from paretorec.evaluate.ope import (
    DM,
    DR,
    IPS,
    SNDR,
    SNIPS,
    CrossFittedRewardModel,
    LoggedFeedback,
    OffPolicyEstimator,
    PolicyValueInterval,
    SwitchDR,
    feedback_from_events,
)
from paretorec.evaluate.ope.base import FloatArray, IntArray, RoundTerms, bootstrap_interval
from paretorec.types import Dataset, Events, EventType

BoolArray = npt.NDArray[np.bool_]

# Switch-DR keeps the importance-weighted correction where the weight is at most this and
# uses the reward model alone above it (obp's default is 1, which on a log spread over
# many items turns Switch-DR into DM for nearly every target).
DEFAULT_SWITCH_TAU = 10.0
# The report warns when the weights' effective rounds are below this share of the
# evaluation rounds, or hold fewer rewards than this at the logged rate.
LOW_EFFECTIVE_SHARE = 0.01
FEW_REWARDS = 10.0


class TargetPolicy(StrEnum):
    """A context-free policy to evaluate, fitted on the first fold of the log."""

    UNIFORM = "uniform"  # every logged item equally likely at every position
    GREEDY_CTR = "greedy-ctr"  # position k: the item with the k-th best smoothed rate
    SOFTMAX_CTR = "softmax-ctr"  # softmax(z / temperature), z the standardized rates


@dataclass(frozen=True)
class WeightSummary:
    """The importance weights w_i = pi_e(a_i at k_i) / pscore_i on the evaluation fold.

    `effective_rounds` is Kish's effective sample size (sum w)^2 / sum w^2: how many
    rounds the weighting estimators effectively rest on. `above_tau` is the share of
    rounds where Switch-DR uses the reward model alone; `clipped` the share whose weight
    clipped IPS caps (0 without `clip`).
    """

    mean: float
    max: float
    effective_rounds: float
    above_tau: float
    clipped: float


@dataclass(frozen=True)
class OpeAnalysis:
    """The target's estimated value by each estimator, beside what the logs earned.

    `table` has one row per estimator: estimator, estimate, lower, upper, standard_error
    and ratio_to_logged (estimate / the logged value; NaN when the logs earned nothing).
    `rates` has one row per logged item: item_id, fit_impressions, fit_rewards, rate
    (smoothed, from the first fold) and target_probability (the target's probability of
    the item at the first position). Values are mean rewards per impression (round) at
    the logged positions.
    """

    dataset: str
    target: TargetPolicy
    description: str
    reward_event: EventType
    n_rounds_fit: int
    n_rounds_eval: int
    n_actions: int
    len_list: int
    logged: PolicyValueInterval
    table: pl.DataFrame
    rates: pl.DataFrame
    weights: WeightSummary
    reward_model_mean: float  # mean q_hat at the logged item and position, evaluation fold
    temperature: float
    fit_fraction: float
    alpha: float
    n_bootstrap: int
    seed: int
    switch_tau: float
    clip: float | None

    def estimate(self, estimator: str) -> PolicyValueInterval:
        """One estimator's row (by its name in `table`) as an interval."""
        rows = self.table.filter(pl.col("estimator") == estimator)
        if rows.height == 0:
            names = ", ".join(self.table["estimator"].to_list())
            raise KeyError(f"no estimator {estimator!r} in the analysis (have: {names})")
        row = rows.row(0, named=True)
        return PolicyValueInterval(
            mean=row["estimate"],
            lower=row["lower"],
            upper=row["upper"],
            standard_error=row["standard_error"],
            alpha=self.alpha,
            n_bootstrap=self.n_bootstrap,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "target": self.target.value,
            "description": self.description,
            "reward_event": self.reward_event.value,
            "n_rounds_fit": self.n_rounds_fit,
            "n_rounds_eval": self.n_rounds_eval,
            "n_actions": self.n_actions,
            "len_list": self.len_list,
            "logged": _interval_dict(self.logged),
            "estimates": [
                {k: _json_value(v) for k, v in row.items()}
                for row in self.table.iter_rows(named=True)
            ],
            "weights": {
                "mean": _json_value(self.weights.mean),
                "max": _json_value(self.weights.max),
                "effective_rounds": _json_value(self.weights.effective_rounds),
                "above_tau": _json_value(self.weights.above_tau),
                "clipped": _json_value(self.weights.clipped),
            },
            "reward_model_mean": _json_value(self.reward_model_mean),
            "settings": {
                "temperature": self.temperature,
                "fit_fraction": self.fit_fraction,
                "alpha": self.alpha,
                "n_bootstrap": self.n_bootstrap,
                "seed": self.seed,
                "switch_tau": _json_value(self.switch_tau),
                "clip": self.clip,
            },
            "rates": [
                {k: _json_value(v) for k, v in row.items()}
                for row in self.rates.iter_rows(named=True)
            ],
        }


def _json_value(value: object) -> object:
    """NaN and infinity have no JSON spelling: they become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _interval_dict(interval: PolicyValueInterval) -> dict[str, object]:
    return {
        "mean": _json_value(interval.mean),
        "lower": _json_value(interval.lower),
        "upper": _json_value(interval.upper),
        "standard_error": _json_value(interval.standard_error),
    }


# ----------------------------------------------------------------------------- analysis


def analyse_ope(
    dataset: Dataset,
    *,
    target: TargetPolicy,
    reward_event: EventType = EventType.CLICK,
    temperature: float = 1.0,
    fit_fraction: float = 0.5,
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    switch_tau: float = DEFAULT_SWITCH_TAU,
    clip: float | None = None,
    context_columns: Sequence[str] = (),
    reward_model: CrossFittedRewardModel | None = None,
) -> OpeAnalysis:
    """Estimate what `target` would earn per impression, from `dataset`'s logged events.

    The rounds are the impressions, ordered in time by list (the list's earliest
    `timestamp` where every impression has one, else the events' order); the earliest
    lists holding `fit_fraction` of the rounds fit the target, the rest evaluate it.
    Runs IPS, SNIPS, DM, DR, SNDR and Switch-DR (`switch_tau`), and IPS with weights
    clipped at `clip` when it is given, each with a percentile-bootstrap interval
    (`n_bootstrap` replicates, level 1 - `alpha`, drawn from `seed`). The reward model
    (default: `CrossFittedRewardModel(seed=seed)`, logistic regression on the item, the
    position and the users' `context_columns`) is cross-fitted on the evaluation fold,
    its folds grouped by list. Raises ValueError on input it cannot evaluate.
    """
    target = _check_target(target)
    reward_event = _check_reward_event(reward_event)
    temperature = _check_positive(temperature, "temperature")
    if isinstance(fit_fraction, bool) or not isinstance(fit_fraction, float | int):
        raise ValueError(f"fit_fraction must be a number in (0, 1), got {fit_fraction!r}")
    if not 0 < fit_fraction < 1:
        raise ValueError(
            f"fit_fraction must be in (0, 1) (both folds non-empty), got {fit_fraction}"
        )
    if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be a positive integer, got {n_bootstrap!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    switch_tau = _check_positive(switch_tau, "switch_tau", allow_zero=True, allow_inf=True)
    if clip is not None:
        clip = _check_positive(clip, "clip")

    events = _check_events(dataset)
    action_ids = _logged_items(dataset, events)
    feedback = feedback_from_events(
        events,
        action_ids=action_ids,
        reward_event=reward_event,
        users=dataset.users,
        context_columns=context_columns,
    )
    fit = _fit_fold(events, feedback, float(fit_fraction))
    ev = ~fit
    n_actions, len_list = feedback.n_actions, feedback.len_list

    fit_action = feedback.action[fit]
    impressions = np.bincount(fit_action, minlength=n_actions).astype(np.int64)
    rewards = np.bincount(fit_action, weights=feedback.reward[fit], minlength=n_actions)
    if target is not TargetPolicy.UNIFORM and rewards.sum() <= 0:
        raise ValueError(
            f"the target {target.value} ranks items by their {reward_event.value} rate, but the "
            f"first fold ({int(fit.sum())} rounds) has no {reward_event.value} events; "
            "use more rounds, a larger fit_fraction or another reward_event"
        )
    rate = smoothed_rates(impressions, rewards)
    policy = target_distribution(target, rate, len_list, temperature=temperature)

    action, position = feedback.action[ev], feedback.position[ev]
    reward, pscore = feedback.reward[ev], feedback.pscore[ev]
    n_eval = int(ev.sum())
    action_dist = np.broadcast_to(policy, (n_eval, n_actions, len_list))
    model = reward_model if reward_model is not None else CrossFittedRewardModel(seed=seed)
    q = model.fit_predict(
        action=action,
        reward=reward,
        n_actions=n_actions,
        context=None if feedback.context is None else feedback.context[ev],
        position=position,
        len_list=len_list,
        groups=feedback.slate_id[ev],
    ).estimated_rewards

    logged = bootstrap_interval(
        RoundTerms(base=reward), alpha=float(alpha), n_bootstrap=n_bootstrap, seed=seed
    )
    rows = []
    for name, estimator in _estimators(switch_tau, clip):
        interval = estimator.estimate_interval(
            action_dist=action_dist,
            reward=reward,
            action=action,
            pscore=pscore,
            position=position,
            estimated_rewards_by_reg_model=q,
            alpha=float(alpha),
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
        rows.append(
            {
                "estimator": name,
                "estimate": interval.mean,
                "lower": interval.lower,
                "upper": interval.upper,
                "standard_error": interval.standard_error,
                "ratio_to_logged": interval.mean / logged.mean if logged.mean else math.nan,
            }
        )
    table = pl.DataFrame(
        rows,
        schema={
            "estimator": pl.String,
            "estimate": pl.Float64,
            "lower": pl.Float64,
            "upper": pl.Float64,
            "standard_error": pl.Float64,
            "ratio_to_logged": pl.Float64,
        },
    )

    w = policy[action, position] / pscore
    square = float((w**2).sum())
    weights = WeightSummary(
        mean=float(w.mean()),
        max=float(w.max()),
        effective_rounds=float(w.sum()) ** 2 / square if square > 0 else 0.0,
        above_tau=float((w > switch_tau).mean()),
        clipped=float((w > clip).mean()) if clip is not None else 0.0,
    )
    rates = pl.DataFrame(
        {
            "item_id": list(feedback.action_ids),
            "fit_impressions": impressions,
            "fit_rewards": rewards,
            "rate": rate,
            "target_probability": policy[:, 0],
        }
    )
    return OpeAnalysis(
        dataset=dataset.name,
        target=target,
        description=describe_target(
            target, n_actions=n_actions, temperature=temperature, n_rounds_fit=int(fit.sum())
        ),
        reward_event=reward_event,
        n_rounds_fit=int(fit.sum()),
        n_rounds_eval=n_eval,
        n_actions=n_actions,
        len_list=len_list,
        logged=logged,
        table=table,
        rates=rates,
        weights=weights,
        reward_model_mean=float(q[np.arange(n_eval), action, position].mean()),
        temperature=temperature,
        fit_fraction=float(fit_fraction),
        alpha=float(alpha),
        n_bootstrap=n_bootstrap,
        seed=seed,
        switch_tau=switch_tau,
        clip=clip,
    )


def smoothed_rates(impressions: npt.ArrayLike, rewards: npt.ArrayLike) -> FloatArray:
    """(rewards + 1) / (impressions + 1 / p) per item, p = sum(rewards) / sum(impressions):
    one pseudo-reward in the impressions an average item needs to earn one (a Beta prior
    with the pooled rate as its mean). All zeros when nothing was rewarded."""
    n = np.asarray(impressions, dtype=np.float64)
    r = np.asarray(rewards, dtype=np.float64)
    total_n, total_r = float(n.sum()), float(r.sum())
    if total_r <= 0 or total_n <= 0:
        return np.zeros(n.shape[0])
    out: FloatArray = (r + 1.0) / (n + total_n / total_r)
    return out


def target_distribution(
    target: TargetPolicy, rate: npt.ArrayLike, len_list: int, *, temperature: float = 1.0
) -> FloatArray:
    """The target's (n_actions, len_list) probabilities, each column summing to 1.

    Greedy breaks ties by the items' order; when there are fewer items than positions,
    the ranking starts again from the top.
    """
    rates = np.asarray(rate, dtype=np.float64)
    n_actions = rates.shape[0]
    if n_actions == 0:
        raise ValueError("there are no items to choose from")
    if target is TargetPolicy.UNIFORM:
        return np.full((n_actions, len_list), 1.0 / n_actions)
    if target is TargetPolicy.GREEDY_CTR:
        ranking = np.argsort(-rates, kind="stable")
        out = np.zeros((n_actions, len_list))
        out[ranking[np.arange(len_list) % n_actions], np.arange(len_list)] = 1.0
        return out
    # Standardized rates, so one temperature means the same on any data: at 1 the item one
    # standard deviation above the mean is e times as likely as an average one.
    spread = rates.std()
    logits = (rates - rates.mean()) / (spread if spread > 0 else 1.0) / temperature
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return np.repeat(p[:, None], len_list, axis=1)


def describe_target(
    target: TargetPolicy, *, n_actions: int, temperature: float, n_rounds_fit: int
) -> str:
    """One sentence on what the target policy does."""
    fitted = f"smoothed reward rate in the first {n_rounds_fit:,} rounds"
    if target is TargetPolicy.UNIFORM:
        return f"uniform: each of the {n_actions} logged items equally likely at every position"
    if target is TargetPolicy.GREEDY_CTR:
        return f"greedy-ctr: at position k, the item with the k-th best {fitted}"
    return (
        f"softmax-ctr: items drawn in proportion to exp(z / {temperature:g}), z the standardized rate, the same at "
        f"every position, rate = each item's {fitted}"
    )


def _check_target(target: TargetPolicy | str) -> TargetPolicy:
    try:
        return TargetPolicy(target)
    except ValueError:
        names = ", ".join(t.value for t in TargetPolicy)
        raise ValueError(f"unknown target policy {target!r} (expected one of: {names})") from None


def _check_reward_event(event: EventType | str) -> EventType:
    try:
        out = EventType(event)
    except ValueError:
        raise ValueError(f"unknown reward_event {event!r}") from None
    if out is EventType.IMPRESSION:
        raise ValueError("the reward_event must be click, cart or purchase, not impression")
    return out


def _check_positive(
    value: float, name: str, *, allow_zero: bool = False, allow_inf: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, float | int):
        raise ValueError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if (
        math.isnan(out)
        or (out == math.inf and not allow_inf)
        or out < 0
        or (out == 0 and not allow_zero)
    ):
        bound = "at least 0" if allow_zero else "positive"
        finite = "" if allow_inf else " and finite"
        raise ValueError(f"{name} must be {bound}{finite}, got {value}")
    return out


def _check_events(dataset: Dataset) -> Events:
    if dataset.events is None:
        raise ValueError(
            f"dataset {dataset.name!r} has no events table: off-policy evaluation needs logged "
            "impressions with position and propensity"
        )
    frame = dataset.events.frame
    for column in ("position", "propensity"):
        if column not in frame.columns:
            raise ValueError(
                f"the events of {dataset.name!r} have no {column!r} column: off-policy "
                "evaluation needs the logging policy's position and propensity of each impression"
            )
    n_impressions = frame.select(
        (pl.col("event").str.to_lowercase() == EventType.IMPRESSION.value).sum()
    ).item()
    if not n_impressions:
        raise ValueError(
            f"the events of {dataset.name!r} hold no impressions: there are no rounds to evaluate"
        )
    return dataset.events


def _impressions(events: Events) -> pl.DataFrame:
    """The impression rows, in the events' order (the rounds of `feedback_from_events`)."""
    frame = events.frame
    return frame.filter(pl.col("event").str.to_lowercase() == EventType.IMPRESSION.value)


def _logged_items(dataset: Dataset, events: Events) -> list[str]:
    """The items shown at least once, in the catalog's order (others after, sorted)."""
    shown = set(_impressions(events)["item_id"].cast(pl.String).to_list())
    catalog = [str(i) for i in dataset.items.item_ids.to_list()]
    in_catalog = [i for i in catalog if i in shown]
    return in_catalog + sorted(shown - set(in_catalog))


def _fit_fold(events: Events, feedback: LoggedFeedback, fit_fraction: float) -> BoolArray:
    """True for the rounds of the first fold: the earliest lists, while fewer than
    `fit_fraction` of the rounds come before them."""
    slate = feedback.slate_id
    n_slates = int(slate.max()) + 1
    order: IntArray = np.arange(n_slates, dtype=np.int64)  # first appearance
    imps = _impressions(events)
    if "timestamp" in imps.columns and imps["timestamp"].null_count() == 0:
        times = (
            pl.DataFrame({"slate": slate, "time": imps["timestamp"]})
            .group_by("slate")
            .agg(pl.col("time").min())
            .sort(["time", "slate"])
        )
        order = times["slate"].to_numpy().astype(np.int64)
    sizes = np.bincount(slate, minlength=n_slates)[order]
    before = np.cumsum(sizes) - sizes
    fit_slate = np.zeros(n_slates, dtype=np.bool_)
    fit_slate[order] = before < fit_fraction * feedback.n_rounds
    fit: BoolArray = fit_slate[slate]
    if fit.all() or not fit.any():
        empty = "second" if fit.all() else "first"
        raise ValueError(
            f"fit_fraction {fit_fraction:g} leaves the {empty} fold empty: the log has "
            f"{feedback.n_rounds} round(s) in {n_slates} list(s), and lists are not split"
        )
    return fit


def _estimators(switch_tau: float, clip: float | None) -> list[tuple[str, OffPolicyEstimator]]:
    out: list[tuple[str, OffPolicyEstimator]] = [
        ("IPS", IPS()),
        ("SNIPS", SNIPS()),
        ("DM", DM()),
        ("DR", DR()),
        ("SNDR", SNDR()),
        ("Switch-DR", SwitchDR(tau=switch_tau)),
    ]
    if clip is not None:
        out.append(("clipped IPS", IPS(lambda_=clip)))
    return out


# ------------------------------------------------------------------------------- report


def _explanations(analysis: OpeAnalysis) -> dict[str, str]:
    w = analysis.weights
    clip = analysis.clip if analysis.clip is not None else math.inf
    return {
        "IPS": "inverse propensity scoring: each logged reward times the target's over the "
        "logger's probability of that item there. Unbiased when the propensities are right "
        "and the logger could show everything the target shows; its variance grows with the "
        "weights.",
        "SNIPS": "IPS divided by the mean weight: slightly biased, much steadier when a few "
        "weights are large; the safer of the two weighting estimators.",
        "DM": "direct method: the reward model's prediction averaged over the target's "
        "choices. No weights, so a narrow interval, but biased as the model is, and its "
        "interval only resamples rounds: it ignores the model's own error.",
        "DR": "doubly robust: DM plus IPS on the model's residuals. Unbiased when either the "
        "propensities or the reward model are right, and less variable than IPS when the "
        "model is reasonable.",
        "SNDR": "DR with the residual correction self-normalized as in SNIPS: steadier than DR "
        "when weights are large.",
        "Switch-DR": f"DR on the rounds whose weight is at most {analysis.switch_tau:g}, DM "
        f"alone above it ({w.above_tau:.1%} of the evaluation rounds here).",
        "clipped IPS": f"IPS with every weight capped at {clip:g} ({w.clipped:.1%} of "
        "the rounds capped): less variance, biased downwards.",
    }


def _advice(analysis: OpeAnalysis) -> list[str]:
    w = analysis.weights
    n = analysis.n_rounds_eval
    lines = [
        "Which to trust: DR or SNDR when the reward model is reasonable (its mean prediction "
        f"at the logged items, {analysis.reward_model_mean:.4g}, should be near the logged "
        f"value, {analysis.logged.mean:.4g}); SNIPS when it is not; DM only as a rough guide. "
        "Estimators that agree, with intervals that overlap, are the best sign."
    ]
    share = w.effective_rounds / n if n else 0.0
    expected = w.effective_rounds * analysis.logged.mean
    if share < LOW_EFFECTIVE_SHARE or expected < FEW_REWARDS:
        lines.append(
            f"Caution: the weights rest on about {w.effective_rounds:,.0f} effective rounds of "
            f"{n:,} ({share:.2%}), in which about {expected:.3g} "
            f"{analysis.reward_event.value}s are to be expected at the logged rate: the target "
            "seldom does what the logger did, and the weighting estimators (IPS, SNIPS, DR, "
            "SNDR) rest on too little here. Prefer a longer log or a softer target."
        )
    if abs(w.mean - 1.0) > 0.1:
        lines.append(
            f"Caution: the weights average {w.mean:.3g}, far from 1: the logger may not cover "
            "what the target shows, or the propensities may be off; IPS and DR then drift, "
            "SNIPS and SNDR less so."
        )
    return lines


def _fmt(value: float) -> str:
    return "—" if not math.isfinite(value) else f"{value:.4g}"


def _markdown_table(analysis: OpeAnalysis) -> list[str]:
    level = f"{1 - analysis.alpha:.0%}"
    lines = [
        f"| estimator | estimate | {level} interval | standard error | ratio to logged |",
        "|---|---|---|---|---|",
    ]
    logged = analysis.logged
    lines.append(
        f"| logged (on-policy) | {_fmt(logged.mean)} | [{_fmt(logged.lower)}, "
        f"{_fmt(logged.upper)}] | {_fmt(logged.standard_error)} | 1 |"
    )
    for row in analysis.table.iter_rows(named=True):
        lines.append(
            f"| {row['estimator']} | {_fmt(row['estimate'])} | [{_fmt(row['lower'])}, "
            f"{_fmt(row['upper'])}] | {_fmt(row['standard_error'])} | "
            f"{_fmt(row['ratio_to_logged'])} |"
        )
    return lines


def _figure(analysis: OpeAnalysis) -> Figure:
    table = analysis.table
    names = table["estimator"].to_list()
    estimate = table["estimate"].to_numpy()
    lower = np.minimum(table["lower"].to_numpy(), estimate)
    upper = np.maximum(table["upper"].to_numpy(), estimate)
    y = np.arange(len(names))[::-1]
    fig = Figure(figsize=(7.5, 0.5 * len(names) + 2.0), layout="constrained")
    ax = fig.subplots()
    logged = analysis.logged
    ax.axvspan(
        logged.lower,
        logged.upper,
        color="tab:gray",
        alpha=0.2,
        lw=0,
        label=f"logged {1 - analysis.alpha:.0%} interval",
    )
    ax.axvline(
        logged.mean, color="tab:gray", lw=1.5, ls="--", label=f"logged value {logged.mean:.4g}"
    )
    ax.errorbar(
        estimate,
        y,
        xerr=np.vstack([estimate - lower, upper - estimate]),
        fmt="o",
        color="tab:blue",
        ecolor="tab:blue",
        capsize=4,
        label=f"estimate, {1 - analysis.alpha:.0%} interval",
    )
    ax.set_yticks(y, names, fontsize=11)
    ax.set_ylim(-0.7, len(names) - 0.3)
    ax.set_xlabel(f"{analysis.reward_event.value}s per impression")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    ax.set_title(
        f"{analysis.target.value} on {analysis.dataset}: {analysis.n_rounds_eval:,} rounds "
        "evaluated",
        fontsize=11,
    )
    return fig


def write_ope_report(analysis: OpeAnalysis, folder: Path) -> list[Path]:
    """Write `ope.md`, `ope.json` and `ope.png` into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / "ope.png"
    _figure(analysis).savefig(png, dpi=110)

    explain = _explanations(analysis)
    w = analysis.weights
    top = analysis.rates.sort(["target_probability", "rate"], descending=True).head(10)
    page = [
        f"# Off-policy evaluation: {analysis.target.value} on {analysis.dataset}",
        "",
        f"Target: {analysis.description}.",
        "",
        f"- reward: {analysis.reward_event.value}s per impression (round), at the logged positions",
        f"- rounds: {analysis.n_rounds_fit:,} (earliest) fitted the target, "
        f"{analysis.n_rounds_eval:,} evaluated it; {analysis.n_actions} logged items, "
        f"{analysis.len_list} position(s)",
        f"- importance weights: mean {w.mean:.4g}, max {w.max:.4g}, "
        f"{w.effective_rounds:,.1f} effective rounds",
        f"- intervals: {1 - analysis.alpha:.0%} percentile bootstrap over rounds, "
        f"{analysis.n_bootstrap} replicates, seed {analysis.seed}; the reward model is "
        "cross-fitted on the evaluation rounds",
        "",
        *_markdown_table(analysis),
        "",
        "![estimates](ope.png)",
        "",
        "## The estimators",
        "",
        "- logged (on-policy): the mean reward the logging policy earned on the evaluation "
        "rounds; what the target is compared with.",
    ]
    page += [f"- {name}: {explain[name]}" for name in analysis.table["estimator"].to_list()]
    for paragraph in _advice(analysis):
        page += ["", paragraph]
    page += ["", "## The target's top items", ""]
    page += [
        "| item | impressions (first fold) | rewards (first fold) | smoothed rate | probability at position 1 |",
        "|---|---|---|---|---|",
    ]
    page += [
        f"| {row['item_id']} | {row['fit_impressions']} | {row['fit_rewards']:g} | "
        f"{_fmt(row['rate'])} | {_fmt(row['target_probability'])} |"
        for row in top.iter_rows(named=True)
    ]
    md = folder / "ope.md"
    md.write_text("\n".join(page) + "\n")
    js = folder / "ope.json"
    js.write_text(json.dumps(analysis.to_dict(), indent=2, allow_nan=False))
    return [md, js, png]
