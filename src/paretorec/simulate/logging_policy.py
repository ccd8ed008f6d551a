"""Logging policies that write impressions with exact propensities.

A policy samples a ranked list from each session's candidates, Plackett-Luce style: the
item at position k is drawn from the candidates not yet placed. Each placement carries
two probabilities (the data contract's `propensity` and `propensity_given_above`, after
Open Bandit Pipeline's conventions):

- `marginal_propensities`: P(a_k at position k | context), the probability that the
  policy shows this item at this position at all (obp's `pscore_item_position`, what the
  Open Bandit Dataset ships). For the uniform policy it is 1 / n_candidates at every
  position; for the softmax policy it is exact at positions 1 and 2 and computed by
  numerical integration below (see `plackett_luce_marginals`), accurate to about 1e-8.
- `propensities_given_above`: pi(a_k | context, a_1..a_{k-1}), the draw's probability
  given the items above it; the product over positions 1..k is the probability of the
  list's top k, and over the whole list the probability of the list
  (`SampledRanking.list_propensities`). For the uniform policy it is
  1 / (n_candidates - k + 1).

At the first position the two agree.

`policy_value` gives a policy's true expected value from the simulator's exact
per-list expectations, so an off-policy estimate can be checked against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np

from paretorec.simulate._arrays import FloatArray, IntArray
from paretorec.simulate.behaviour import FEEDBACK_NAMES
from paretorec.simulate.env import Observation, RankingEnv


class LoggingPolicyKind(StrEnum):
    UNIFORM = "uniform"  # uniformly random lists, like OBD's "random" campaign
    SOFTMAX = "softmax"  # Plackett-Luce over `heuristic_scores` / temperature


@dataclass(frozen=True)
class SampledRanking:
    """Ranked lists with the policy's probabilities of each placement, shape (n, list_size)."""

    actions: IntArray  # indices into the candidates, best first
    propensities_given_above: FloatArray  # pi(a_k | context, a_1..a_{k-1}), in (0, 1]
    marginal_propensities: FloatArray  # P(a_k at position k | context), in (0, 1]

    @property
    def list_propensities(self) -> FloatArray:
        """Probability of each whole list, shape (n,): the product of
        `propensities_given_above`."""
        out: FloatArray = self.propensities_given_above.prod(axis=1)
        return out


class Policy(Protocol):
    """Anything that samples ranked lists for a batch of sessions."""

    def sample(
        self, obs: Observation, list_size: int, rng: np.random.Generator
    ) -> SampledRanking: ...


def _check_list_size(obs: Observation, list_size: int) -> None:
    if not 1 <= list_size <= obs.n_candidates:
        raise ValueError(
            f"list_size must be between 1 and the {obs.n_candidates} candidates, got {list_size}"
        )


@dataclass(frozen=True)
class UniformRandomPolicy:
    """Every ordering of `list_size` distinct candidates is equally likely."""

    def sample(self, obs: Observation, list_size: int, rng: np.random.Generator) -> SampledRanking:
        _check_list_size(obs, list_size)
        n, c = obs.n_sessions, obs.n_candidates
        actions = np.argsort(rng.random((n, c)), axis=1)[:, :list_size].astype(np.int64)
        per_slot = 1.0 / (c - np.arange(list_size, dtype=np.float64))
        return SampledRanking(
            actions=actions,
            propensities_given_above=np.tile(per_slot, (n, 1)),
            marginal_propensities=np.full((n, list_size), 1.0 / c),
        )

    def first_slot_probabilities(self, obs: Observation) -> FloatArray:
        """pi(item at position 1), shape (n, n_candidates): 1 / n_candidates."""
        return np.full(obs.candidates.shape, 1.0 / obs.n_candidates)


def heuristic_scores(obs: Observation) -> FloatArray:
    """A plausible production ranker's score from observable features only: query match,
    popularity and rating (it knows nothing of the shopper's latent tastes)."""
    f = obs.features
    out: FloatArray = (
        2.0 * f.leaf_match
        + 0.7 * f.department_match
        + 0.8 * f.brand_match
        + 0.4 * f.attribute_match
        + 0.5 * f.popularity_z
        + 0.3 * (f.rating - 4.0)
        - 1.0 * ~f.in_stock
    )
    return out


@dataclass(frozen=True)
class SoftmaxPolicy:
    """Plackett-Luce over `score(obs) / temperature`: sampled with the Gumbel top-k trick;
    the propensities given the items above are exact, computed one position at a time,
    and the marginal ones are integrated numerically (`plackett_luce_marginals`)."""

    temperature: float = 1.0
    score: Callable[[Observation], FloatArray] = heuristic_scores

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")

    def logits(self, obs: Observation) -> FloatArray:
        s = np.asarray(self.score(obs), dtype=np.float64) / self.temperature
        if s.shape != obs.candidates.shape:
            raise ValueError(f"scores must have shape {obs.candidates.shape}, got {s.shape}")
        out: FloatArray = s - s.max(axis=1, keepdims=True)
        return out

    def first_slot_probabilities(self, obs: Observation) -> FloatArray:
        """pi(item at position 1), shape (n, n_candidates): the softmax of the logits."""
        w = np.exp(self.logits(obs))
        out: FloatArray = w / w.sum(axis=1, keepdims=True)
        return out

    def sample(self, obs: Observation, list_size: int, rng: np.random.Generator) -> SampledRanking:
        _check_list_size(obs, list_size)
        logits = self.logits(obs)
        gumbel = -np.log(-np.log(rng.random(logits.shape)))
        actions = np.argsort(-(logits + gumbel), axis=1)[:, :list_size].astype(np.int64)
        # log-space softmax over the candidates not yet placed: exact even when a low
        # temperature makes all but one weight underflow
        left = logits.copy()
        rows = np.arange(logits.shape[0])
        props = np.empty(actions.shape)
        for k in range(list_size):
            top = left.max(axis=1, keepdims=True)
            log_z = top[:, 0] + np.log(np.exp(left - top).sum(axis=1))
            chosen = actions[:, k]
            props[:, k] = np.exp(left[rows, chosen] - log_z)
            left[rows, chosen] = -np.inf
        return SampledRanking(
            actions=actions,
            propensities_given_above=np.clip(props, _TINY, 1.0),
            marginal_propensities=np.clip(
                _pl_marginals(logits, actions, list_size, True), _TINY, 1.0
            ),
        )


# ----------------------------------------------------------------- Plackett-Luce marginals
#
# Plackett-Luce with weights w_j ranks the items as an exponential race: T_j ~ Exp(w_j),
# ascending. So P(i at rank k) = integral over t > 0 of w_i e^{-w_i t} times the
# probability that exactly r = k - 1 of the other items have T_j < t, a Poisson-binomial
# with p_j(t) = 1 - e^{-w_j t}. Ranks 1 and 2 have closed forms (`_top_two_ranks`); the
# others are integrated. In x = log t the integrand is analytic and smooth (each factor
# is a Gumbel-like function of x + log w_j), so the trapezoid rule on a lattice x = m * h
# converges exponentially in 1/h; its bumps narrow like 1/sqrt(r), so h shrinks with the
# deepest rank asked for. Item i's window holds all but ~1e-9 of its integrand: with
# u = x + log w_i, the tail below _U_LO holds at most e^_U_LO and the one above _U_HI
# e^{-e^_U_HI}; also, the integrand is below w_i (W t)^r t / r! (W = sum of the weights),
# which bounds the tail below a floor on x. A session's nodes are the union of its
# items' windows on the shared lattice, so one Poisson-binomial DP per node (the other
# candidates once, then prefix and suffix products over the items asked for, truncated at
# the deepest rank) serves all of them; weights are normalized by the largest. Measured
# against brute-force enumeration (up to 6 candidates, all ranks) the error is below
# 1e-9, and against h = 0.04 (50 candidates, ranks up to 50) below about 1e-8. At 50
# candidates and 10 slots it costs ~0.07 ms per session at temperature 1; more at low
# temperatures, where the shown items' windows stop overlapping (about 5 times at
# temperature 0.05, 25 times at 0.001).
_H_MAX, _H_SCALE = 0.35, 0.95  # lattice step in log t: min(_H_MAX, _H_SCALE / sqrt(ranks))
_U_LO = -21.0
_U_HI = 3.2
_MIN_LOGIT = -1e6  # weights are normalized by the largest, then floored at e^_MIN_LOGIT
_CHUNK = 64  # sessions per batch of the DP (its arrays then stay in cache)
_TINY = 1e-300


def plackett_luce_marginals(logits: FloatArray, items: IntArray, n_ranks: int) -> FloatArray:
    """P(items[s, j] at rank r + 1) for r < n_ranks under Plackett-Luce with weights
    exp(logits[s]), shape (n, n_items, n_ranks); `items` holds distinct candidate indices
    per row. Exact at ranks 1 and 2, and up to the numerical integration (about 1e-8 at
    worst, see above) at the others."""
    lg = np.asarray(logits, dtype=np.float64)
    it = np.asarray(items, dtype=np.int64)
    if lg.ndim != 2 or it.ndim != 2 or it.shape[0] != lg.shape[0]:
        raise ValueError("logits must be (n, n_candidates) and items (n, n_items)")
    if not 1 <= n_ranks <= lg.shape[1]:
        raise ValueError(f"n_ranks must be between 1 and {lg.shape[1]}, got {n_ranks}")
    srt = np.sort(it, axis=1)
    if it.size and (srt[:, 0].min() < 0 or srt[:, -1].max() >= lg.shape[1]):
        raise ValueError(f"items must index the {lg.shape[1]} candidates")
    if (srt[:, 1:] == srt[:, :-1]).any():
        raise ValueError("items must be distinct within a row")
    return _pl_marginals(lg, it, n_ranks, False)


def _pl_marginals(
    logits: FloatArray, targets: IntArray, n_ranks: int, diagonal: bool
) -> FloatArray:
    """`plackett_luce_marginals`; with `diagonal`, only target j at rank j + 1, shape
    (n, n_targets) (the marginals of a sampled list's placements)."""
    n, nq = targets.shape
    out: FloatArray = np.zeros((n, nq) if diagonal else (n, nq, n_ranks))
    if n == 0 or nq == 0:
        return out
    log_w = logits - logits.max(axis=1, keepdims=True)
    log_w = np.maximum(np.where(np.isnan(log_w), _MIN_LOGIT, log_w), _MIN_LOGIT)
    two = np.arange(min(nq if diagonal else n_ranks, 2))
    if diagonal:
        out[:, two] = _top_two_ranks(log_w, targets[:, two])[:, two, two]
    else:
        out[:, :, two] = _top_two_ranks(log_w, targets)[:, :, two]
    if n_ranks <= 2 or (diagonal and nq <= 2):
        return out
    # sessions in order of their lattice's extent, so that a batch's padding is small
    extent = np.take_along_axis(log_w, targets, axis=1).min(axis=1)
    by_extent = np.argsort(extent, kind="stable")
    for lo in range(0, n, _CHUNK):
        rows = by_extent[lo : lo + _CHUNK]
        out[rows] = _pl_chunk(log_w[rows], targets[rows], n_ranks, diagonal, out[rows])
    return out


def _top_two_ranks(log_w: FloatArray, targets: IntArray) -> FloatArray:
    """P(target at rank 1) and P(target at rank 2), shape (n, n_targets, 2), in closed
    form, in log space: w_i / W and the sum over j != i of w_j / W * w_i / (W - w_j)."""
    log_total = _logsumexp(log_w)
    # log(W - w_j): from W for all but the largest weight, summed directly for it
    top = np.argmax(log_w, axis=1)[:, None]
    others = log_w.copy()
    np.put_along_axis(others, top, -np.inf, axis=1)
    with np.errstate(divide="ignore"):
        log_without = log_total + np.log1p(-np.exp(log_w - log_total))
    np.put_along_axis(log_without, top, _logsumexp(others), axis=1)
    log_wt = np.take_along_axis(log_w, targets, axis=1)
    first = log_wt - log_total
    terms = (log_w - log_without)[:, None, :] + first[:, :, None]  # (n, n_targets, c)
    np.put_along_axis(terms, targets[:, :, None], -np.inf, axis=2)
    out: FloatArray = np.exp(np.stack([first, _logsumexp(terms)[:, :, 0]], axis=2))
    return out


def _logsumexp(a: FloatArray) -> FloatArray:
    """log(sum(exp(a))) over the last axis, keeping it (-inf where all are -inf)."""
    top = a.max(axis=-1, keepdims=True)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        out: FloatArray = shift + np.log(np.exp(a - shift).sum(axis=-1, keepdims=True))
    return out


def _lattice(
    log_w: FloatArray, targets: IntArray, ahead: IntArray, h: float
) -> tuple[FloatArray, FloatArray]:
    """The union of the targets' windows on the lattice: nodes x (n, M) and their
    trapezoid weights (h, or 0 for padding). `ahead[j]` is the fewest items ahead of
    target j that is asked for (at least 1)."""
    n = log_w.shape[0]
    log_wt = np.take_along_axis(log_w, targets, axis=1)
    # below x_floor the integrand for r items ahead is under w_i (W t)^r t / r!
    log_total = np.log(np.exp(log_w).sum(axis=1, keepdims=True))
    r = ahead.astype(np.float64)
    log_factorial = np.cumsum(np.log(np.arange(1, ahead.max() + 2)))[ahead]
    x_floor = (_U_LO + log_factorial - r * log_total) / (r + 1)
    lo = np.ceil(np.maximum(_U_LO - log_wt, x_floor) / h).astype(np.int64)
    hi = np.floor((_U_HI - log_wt) / h).astype(np.int64)
    span = max(int((hi - lo).max()) + 1, 1)
    m = lo[:, :, None] + np.arange(span)
    drop = np.iinfo(np.int64).max
    m = np.where(m <= hi[:, :, None], m, drop).reshape(n, -1)
    m.sort(axis=1)
    dup = np.zeros(m.shape, dtype=bool)
    dup[:, 1:] = m[:, 1:] == m[:, :-1]
    m[dup] = drop
    m.sort(axis=1)
    count = (m != drop).sum(axis=1)
    width = max(int(count.max()), 1)
    m = m[:, :width]
    valid = np.arange(width) < count[:, None]
    x: FloatArray = np.where(valid, m, m[:, :1]) * h
    weight: FloatArray = np.where(valid, h, 0.0)
    return x, weight


def _pl_chunk(
    log_w: FloatArray, targets: IntArray, k_max: int, diagonal: bool, out: FloatArray
) -> FloatArray:
    """`out` with ranks 3..k_max of `_pl_marginals` filled in, for a batch of sessions."""
    n, c = log_w.shape
    nq = targets.shape[1]
    rest = c - nq
    # the ranks asked of each target, as how many items are ahead of it: lo..hi (>= 2)
    ahead_lo = np.arange(nq) if diagonal else np.full(nq, 2)
    ahead_hi = np.arange(nq) if diagonal else np.full(nq, k_max - 1)
    asked = ahead_hi >= 2
    h = min(_H_MAX, _H_SCALE / np.sqrt(k_max))
    x, weight = _lattice(log_w, targets[:, asked], ahead_lo[asked], h)
    # the candidates reordered: the others first, then the targets in their order
    is_target = np.zeros((n, c), dtype=bool)
    np.put_along_axis(is_target, targets, True, axis=1)
    others = np.argsort(is_target, axis=1, kind="stable")[:, :rest]
    order = np.concatenate([others, targets], axis=1)
    lw = np.take_along_axis(log_w, order, axis=1).T  # (c, n)
    e = np.exp(np.minimum(lw[:, :, None] + x[None], 50.0))  # w_j t, (c, n, M)
    q = np.exp(-e)  # P(T_j > t)
    p = 1.0 - q  # P(T_j < t) (to an absolute 1e-16, which is what counts here)
    # Poisson-binomial of the other candidates over counts 0..k_max - 1, one candidate
    # at a time: pb[k] += p (pb[k - 1] - pb[k])
    pb = np.zeros((k_max, *x.shape))
    pb[0] = 1.0
    buf = np.empty((k_max - 1, *x.shape))
    for j in range(rest):
        top = min(j + 1, k_max - 1)  # counts above j + 1 are still 0
        step = np.subtract(pb[:top], pb[1 : top + 1], out=buf[:top])
        step *= p[j]
        pb[1 : top + 1] += step
        pb[0] *= q[j]
    # prefix[a]: the others and the targets before a; suffix[a]: the targets after a,
    # over the counts asked for
    prefix = [pb]
    for a in range(nq - 1):
        nxt = prefix[-1].copy()
        nxt[1:] += p[rest + a] * (nxt[:-1] - nxt[1:])
        nxt[0] *= q[rest + a]
        prefix.append(nxt)
    size = [min(int(ahead_hi[: a + 1].max()), nq - 1 - a) + 1 for a in range(nq)]
    suffix = [np.zeros((size[a], *x.shape)) for a in range(nq)]
    suffix[nq - 1][0] = 1.0
    for a in range(nq - 1, 0, -1):
        prev, nxt = suffix[a], suffix[a - 1]
        k = min(len(prev), len(nxt))
        nxt[:k] = prev[:k]
        nxt[1:] += p[rest + a] * (nxt[:-1] - nxt[1:])
        nxt[0] *= q[rest + a]
    # the density of T_i in x = log t, w_i t e^{-w_i t}, times the trapezoid weight
    density = e[rest:] * q[rest:] * weight  # (nq, n, M)
    for a in np.flatnonzero(asked).tolist():
        pre, suf = prefix[a], suffix[a]
        for r in range(int(ahead_lo[a]), int(ahead_hi[a]) + 1):
            loo = pre[r] * suf[0]  # P(exactly r of the others are ahead at t)
            for b in range(1, min(r, len(suf) - 1) + 1):
                loo += pre[r - b] * suf[b]
            value = (density[a] * loo).sum(axis=1)
            if diagonal:
                out[:, a] = value
            else:
                out[:, a, r] = value
    return out


def make_policy(kind: LoggingPolicyKind, temperature: float = 1.0) -> Policy:
    if kind is LoggingPolicyKind.UNIFORM:
        return UniformRandomPolicy()
    return SoftmaxPolicy(temperature=temperature)


def policy_value(
    env: RankingEnv, policy: Policy, *, n_samples: int = 1, rng: np.random.Generator
) -> dict[str, float]:
    """The expected per-session value of each objective (first list of the sessions now in
    `env`), averaging the exact expectation of `n_samples` lists drawn from `policy` per
    session; exact for a deterministic policy. The environment's state is not changed."""
    obs = env.observation
    totals = dict.fromkeys(FEEDBACK_NAMES, 0.0)
    for _ in range(n_samples):
        ranking = policy.sample(obs, env.list_size, rng)
        for name, value in env.expected_feedback(ranking.actions).mean().items():
            totals[name] += value / n_samples
    return totals
