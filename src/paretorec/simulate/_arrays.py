"""Array type aliases and small vectorized sampling helpers shared by the simulator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def sigmoid(x: FloatArray) -> FloatArray:
    """The logistic function, computed without overflow."""
    e = np.exp(-np.abs(x))
    out: FloatArray = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out


def logit(p: float) -> float:
    """The inverse of `sigmoid` for a probability strictly inside (0, 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"a probability strictly between 0 and 1 is needed, got {p}")
    return float(np.log(p / (1.0 - p)))


def zipf_weights(n: int, exponent: float) -> FloatArray:
    """Normalized weights 1/rank^exponent for ranks 1..n (a Zipf-like long tail)."""
    w: FloatArray = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    out: FloatArray = w / w.sum()
    return out


def categorical_rows(probs: FloatArray, rng: np.random.Generator) -> IntArray:
    """One draw per row of a (n, k) matrix of non-negative weights (rows need not sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(probs.shape[0]) * cum[:, -1]
    idx: IntArray = np.minimum((cum <= u[:, None]).sum(axis=1), probs.shape[1] - 1)
    return idx.astype(np.int64)


@dataclass(frozen=True)
class GroupedSampler:
    """Weighted draws of a member of a given group, vectorized over many requests.

    Members are stored grouped (`order[start[g]:start[g + 1]]` are group g's members) with
    the running sum of their weights, so a draw is one `searchsorted` over the members of
    the whole index: nothing is scored per request, which keeps a million-item catalog cheap.
    """

    order: IntArray  # member ids, grouped
    start: IntArray  # (n_groups + 1,) offsets into `order`
    cum: FloatArray  # (len(order) + 1,) running sum of weights, cum[0] = 0

    @staticmethod
    def build(
        group_of: IntArray, n_groups: int, weights: FloatArray, members: IntArray | None = None
    ) -> GroupedSampler:
        """Index rows by their group, drawn in proportion to `weights`.

        Row r belongs to group `group_of[r]` and stands for member `members[r]` (r itself
        when `members` is None).
        """
        rows = np.argsort(group_of, kind="stable").astype(np.int64)
        counts = np.bincount(group_of, minlength=n_groups)
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        cum = np.concatenate([[0.0], np.cumsum(weights[rows], dtype=np.float64)])
        order = rows if members is None else members[rows].astype(np.int64)
        return GroupedSampler(order=order, start=start, cum=cum)

    @property
    def sizes(self) -> IntArray:
        """Members per group."""
        return np.diff(self.start)

    @property
    def totals(self) -> FloatArray:
        """Total weight per group."""
        return self.cum[self.start[1:]] - self.cum[self.start[:-1]]

    def members(self, group: int) -> IntArray:
        return self.order[self.start[group] : self.start[group + 1]]

    def sample(self, groups: IntArray, rng: np.random.Generator) -> IntArray:
        """One member of each requested group (each must be non-empty with positive weight)."""
        lo = self.start[groups]
        hi = self.start[groups + 1]
        if np.any(hi <= lo):
            raise ValueError("cannot draw from an empty group")
        base = self.cum[lo]
        u = base + rng.random(groups.shape) * (self.cum[hi] - base)
        # searching sorted keys walks the cumulative array in order: several times faster
        # on a large catalog than random probes
        order = np.argsort(u, axis=None)
        pos = np.empty(u.size, dtype=np.int64)
        pos[order] = np.searchsorted(self.cum, u.ravel()[order], side="right") - 1
        pos = np.clip(pos.reshape(u.shape), lo, hi - 1)
        out: IntArray = self.order[pos]
        return out
