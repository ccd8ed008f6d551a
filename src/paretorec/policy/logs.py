"""Policy inputs from a logged dataset in the data contract (such as the Open Bandit
Dataset), and judging a learned policy on held-out logs with off-policy estimators.

Every logged impression is a round whose candidates are the whole catalog (OBD's 80
items; catalogs above `MAX_CANDIDATES` are refused, they need retrieval first). Context:
the users table's feature columns (numbers as they are, text one-hot), except the
per-item affinity columns `user-item_affinity_<item_id>`, which become a candidate
feature (the user's affinity to that candidate) beside the items table's numeric columns
(standardized). The one prediction column, "click", is each item's click rate on the
training fold, smoothed toward the overall rate (`prior_strength` pseudo-impressions), so
the evaluation fold never informs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from paretorec.evaluate.ope import (
    DR,
    SNIPS,
    CrossFittedRewardModel,
    LoggedFeedback,
    PolicyValueInterval,
    feedback_from_events,
)
from paretorec.policy.inputs import FloatArray, IntArray, PolicyInput
from paretorec.policy.network import PreferencePolicy
from paretorec.policy.offpolicy import LoggedRounds
from paretorec.simulate import plackett_luce_marginals
from paretorec.types import Dataset

MAX_CANDIDATES = 1000
AFFINITY_PREFIX = "user-item_affinity_"
CLICK = "click"
OBJECTIVE = "clicks"


@dataclass(frozen=True)
class LoggedData:
    """A log as the policy reads it: the estimators' arrays, the candidates' static
    features (c, d), the per-round affinities (n, c) or None, and the context (n, d)."""

    feedback: LoggedFeedback
    context: FloatArray
    item_static: FloatArray
    affinity: FloatArray | None

    @property
    def n_rounds(self) -> int:
        return self.feedback.n_rounds

    @property
    def n_candidates(self) -> int:
        return int(self.item_static.shape[0])


def read_logged_data(dataset: Dataset) -> LoggedData:
    """The rounds of `dataset` (see the module's notes); raises ValueError when it has no
    events with positions and propensities, no users table, or too many items."""
    if dataset.events is None or dataset.users is None:
        raise ValueError(f"{dataset.name}: off-policy learning needs events and users tables")
    items = dataset.items.frame
    if items.height > MAX_CANDIDATES:
        raise ValueError(
            f"{dataset.name}: {items.height} items; learning from logs here ranks the whole "
            f"catalog, at most {MAX_CANDIDATES} items"
        )
    item_ids = items["item_id"].cast(pl.String).to_list()
    users = dataset.users.frame
    affinity_cols = [f"{AFFINITY_PREFIX}{i}" for i in item_ids]
    has_affinity = all(c in users.columns for c in affinity_cols)
    context_cols = [
        c for c in users.columns if c != "user_id" and not c.startswith(AFFINITY_PREFIX)
    ]
    feedback = feedback_from_events(
        dataset.events, action_ids=item_ids, users=dataset.users, context_columns=context_cols
    )
    context = feedback.context if feedback.context is not None else np.zeros((feedback.n_rounds, 0))
    numeric = [
        c
        for c in items.columns
        if c not in ("item_id",) and (items.schema[c].is_numeric() or items.schema[c] == pl.Boolean)
    ]
    static = np.zeros((items.height, 0))
    if numeric:
        raw = items.select(pl.col(numeric).cast(pl.Float64).fill_null(0.0)).to_numpy()
        static = (raw - raw.mean(axis=0)) / np.maximum(raw.std(axis=0), 1e-9)
    affinity = None
    if has_affinity:
        table = users.select("user_id", *affinity_cols)
        rows = pl.DataFrame({"user_id": list(feedback.user_ids)}).join(
            table, on="user_id", how="left", maintain_order="left"
        )
        aff = rows.select(pl.col(affinity_cols).cast(pl.Float64).fill_null(0.0)).to_numpy()
        affinity = (aff - aff.mean()) / max(float(aff.std()), 1e-9)
    return LoggedData(feedback=feedback, context=context, item_static=static, affinity=affinity)


def smoothed_click_rates(
    data: LoggedData, rows: IntArray, *, prior_strength: float = 50.0
) -> FloatArray:
    """Each candidate's click rate on `rows`, smoothed toward the overall rate: (c,)."""
    fb = data.feedback
    c = data.n_candidates
    shown = np.bincount(fb.action[rows], minlength=c).astype(np.float64)
    clicks = np.bincount(fb.action[rows], weights=fb.reward[rows], minlength=c)
    overall = float(fb.reward[rows].mean()) if rows.size else 0.0
    out: FloatArray = (clicks + prior_strength * overall) / (shown + prior_strength)
    return out


def rounds(data: LoggedData, rows: IntArray, click_rates: FloatArray) -> LoggedRounds:
    """The logged rounds at `rows`, with the click-rate prediction column."""
    n, c = rows.size, data.n_candidates
    parts = [np.broadcast_to(data.item_static[None], (n, c, data.item_static.shape[1]))]
    if data.affinity is not None:
        parts.append(data.affinity[rows][:, :, None])
    features = (
        np.concatenate(parts, axis=2)
        if parts[0].shape[2] or len(parts) > 1
        else np.zeros((n, c, 0))
    )
    fb = data.feedback
    inputs = PolicyInput(
        context=data.context[rows],
        item_features=features,
        predictions={CLICK: np.broadcast_to(click_rates[None], (n, c))},
    )
    return LoggedRounds(
        inputs=inputs,
        action=fb.action[rows],
        position=fb.position[rows],
        pscore=fb.pscore[rows],
        rewards={OBJECTIVE: fb.reward[rows]},
    )


def split_in_time(n_rounds: int, fit_fraction: float = 0.5) -> tuple[IntArray, IntArray]:
    """The first `fit_fraction` of the rounds (in log order) and the rest."""
    if not 0 < fit_fraction < 1:
        raise ValueError(f"fit_fraction must lie in (0, 1), got {fit_fraction}")
    cut = round(n_rounds * fit_fraction)
    if cut < 1 or cut >= n_rounds:
        raise ValueError(f"{n_rounds} rounds cannot be split at {fit_fraction}")
    return np.arange(cut), np.arange(cut, n_rounds)


def action_distribution(
    policy: PreferencePolicy, logged: LoggedRounds, len_list: int, *, greedy: bool
) -> FloatArray:
    """pi_e(item at position k | round), (n, c, len_list): the Plackett-Luce marginals of
    the policy's scores, or the greedy list's one-hot rows."""
    import torch

    w = np.ones((logged.n_rounds, policy.config.n_objectives)) / policy.config.n_objectives
    with torch.no_grad():
        scores = policy.first_scores(policy.batch(logged.inputs, w)).double().numpy()
    n, c = scores.shape
    if greedy:
        top = np.argsort(-scores, axis=1, kind="stable")[:, :len_list]
        dist = np.zeros((n, c, len_list))
        for k in range(len_list):
            dist[np.arange(n), top[:, k], k] = 1.0
        return dist
    items = np.tile(np.arange(c), (n, 1))
    marg = plackett_luce_marginals(scores, items, len_list)
    out: FloatArray = marg / marg.sum(axis=1, keepdims=True)
    return out


@dataclass(frozen=True)
class OffPolicyEstimate:
    """A policy's estimated click rate per impression on held-out rounds."""

    snips: PolicyValueInterval
    dr: PolicyValueInterval


def estimate_ctr(
    data: LoggedData,
    rows: IntArray,
    action_dist: FloatArray,
    *,
    alpha: float = 0.05,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> OffPolicyEstimate:
    """SNIPS and DR (cross-fitted logistic reward model) with bootstrap intervals of the
    evaluation policy `action_dist` on the logged rounds `rows`."""
    fb = data.feedback
    len_list = action_dist.shape[2]
    common = {
        "action_dist": action_dist,
        "reward": fb.reward[rows],
        "action": fb.action[rows],
        "pscore": fb.pscore[rows],
        "position": fb.position[rows],
    }
    q = (
        CrossFittedRewardModel(seed=seed)
        .fit_predict(
            context=data.context[rows],
            action=fb.action[rows],
            reward=fb.reward[rows],
            position=fb.position[rows],
            n_actions=data.n_candidates,
            len_list=len_list,
        )
        .estimated_rewards
    )
    return OffPolicyEstimate(
        snips=SNIPS().estimate_interval(**common, alpha=alpha, n_bootstrap=n_bootstrap, seed=seed),
        dr=DR().estimate_interval(
            **common,
            estimated_rewards_by_reg_model=q,
            alpha=alpha,
            n_bootstrap=n_bootstrap,
            seed=seed,
        ),
    )
