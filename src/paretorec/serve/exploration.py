"""Serving that can be learned from: a share of traffic samples its list from the policy's
Plackett-Luce distribution, and every list says how likely it was.

Greedy lists (the default, and every list of a policy that is not Plackett-Luce) carry
propensity 1: an off-policy estimator knows it cannot learn from them about other lists.
An exploring request draws its list from PL(softmax(scores / temperature)) over every
candidate's policy score, and each listed item carries:

- ``propensity_given_above``: the probability of drawing it at its position given the
  items above it, exp(s_i / T) / sum over the candidates not yet drawn of exp(s / T)
  (exact);
- ``propensity``: the marginal probability that it lands at exactly that position,
  estimated from `MARGINAL_DRAWS` lists drawn from the same distribution (exact for the
  first position, where it equals the conditional one).

Both go into the event log's columns of the same names, which the off-policy estimators
read (`paretorec.evaluate.ope`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["MARGINAL_DRAWS", "Exploration", "SampledList", "sample_list"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
MARGINAL_DRAWS = 2000


@dataclass(frozen=True)
class SampledList:
    order: IntArray  # candidate indices, first drawn first
    given_above: FloatArray
    marginal: FloatArray


def _gumbel_top_k(logits: FloatArray, k: int, rng: np.random.Generator, n: int) -> IntArray:
    """`n` draws of a top-k list from PL(softmax(logits)) (the Gumbel-top-k trick)."""
    noisy = logits[None, :] + rng.gumbel(size=(n, logits.size))
    out: IntArray = np.argsort(-noisy, axis=1, kind="stable")[:, :k].astype(np.int64)
    return out


def sample_list(
    scores: FloatArray, k: int, temperature: float, rng: np.random.Generator
) -> SampledList:
    """One list of `k` drawn from PL(softmax(scores / temperature)), with the propensities
    of the module docstring."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    logits = np.asarray(scores, dtype=np.float64) / temperature
    logits = logits - logits.max()
    k = min(k, logits.size)
    order = _gumbel_top_k(logits, k, rng, 1)[0]
    weights = np.exp(logits)
    remaining = weights.sum() - np.concatenate([[0.0], np.cumsum(weights[order])[:-1]])
    given_above = weights[order] / remaining
    draws = _gumbel_top_k(logits, k, rng, MARGINAL_DRAWS)
    marginal = (draws == order[None, :]).mean(axis=0)
    marginal[0] = given_above[0]  # exact at the top
    return SampledList(order, given_above, np.maximum(marginal, 1.0 / MARGINAL_DRAWS))


class Exploration:
    """Which requests explore (a seeded `share` of them) and how widely (`temperature`)."""

    def __init__(self, *, share: float, temperature: float = 1.0, seed: int = 0) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"the exploring share must be in [0, 1], got {share}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.share = share
        self.temperature = temperature
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()

    def draw(self) -> np.random.Generator | None:
        """A generator for this request's draws when it explores, else None."""
        with self._lock:
            if self.share <= 0 or self._rng.random() >= self.share:
                return None
            return np.random.default_rng(self._rng.integers(2**63))
