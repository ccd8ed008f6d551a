"""The ranking problem every multi-objective method solves.

A `RankingProblem` is a set of ranking requests (a query or a user, each with its
candidates), the objectives y_k, and an evaluator that turns one ranked list per request
into the mean objective vector.  Each request carries `signals`, an (n_candidates, m)
array with one column per objective: the ranker's per-candidate estimate of how much the
candidate serves that objective, in [0, 1], larger better (for a minimized objective the
signal already points the good way).  A *weighting* fuses the signals into one score per
candidate; its top `k` is the list.  Set-level objectives (diversity, fairness,
calibration) have a per-candidate proxy signal; `embeddings` let the re-rankers (MMR,
DPP) and PE-LTR's diversity loss see the candidates' similarities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from paretorec.objectives import (
    CATEGORY_DIVERSITY,
    EMBEDDING_DIVERSITY,
    EXPECTED_CLICKS,
    EXPECTED_MARGIN,
    EXPECTED_PURCHASES,
    EXPECTED_REVENUE,
    EXPOSURE_FAIRNESS,
    MISCALIBRATION,
    NDCG,
    NOVELTY,
    ListContext,
    Objective,
)
from paretorec.objectives.kernels import unit_rows
from paretorec.types import Direction

__all__ = [
    "OBJECTIVE_ALIASES",
    "SET_OBJECTIVES",
    "ContextEvaluator",
    "ListEvaluator",
    "RankingProblem",
    "RankingRequest",
    "resolve_objectives",
    "top_k",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Progress = Callable[[int], None]

OBJECTIVE_ALIASES: dict[str, Objective] = {
    "ndcg": NDCG,
    "relevance": NDCG,  # the name a merchandiser asks for: graded relevance as NDCG
    "clicks": EXPECTED_CLICKS,
    "purchases": EXPECTED_PURCHASES,
    "revenue": EXPECTED_REVENUE,
    "margin": EXPECTED_MARGIN,
    "diversity": EMBEDDING_DIVERSITY,
    "category_diversity": CATEGORY_DIVERSITY,
    "novelty": NOVELTY,
    "fairness": EXPOSURE_FAIRNESS,
    "miscalibration": MISCALIBRATION,
}
"""Short names (the CLI's) of the standard objectives; their full names work too."""

SET_OBJECTIVES = frozenset(
    {"embedding_diversity", "category_diversity", "exposure_fairness", "miscalibration"}
)
"""Objectives of the list as a whole (no per-item value): their signal is a proxy."""


def resolve_objectives(names: Sequence[str] | str) -> tuple[Objective, ...]:
    """The objectives named (short or full names, a comma-separated string or a list);
    ValueError on an empty list, a repeat or an unknown name, listing the known ones."""
    if isinstance(names, str):
        names = [n for n in names.split(",")]
    cleaned = [n.strip() for n in names]
    if not cleaned or all(not n for n in cleaned):
        raise ValueError(f"no objectives given; known: {', '.join(_known())}")
    full = {o.name: o for o in OBJECTIVE_ALIASES.values()}
    out: list[Objective] = []
    for name in cleaned:
        found = OBJECTIVE_ALIASES.get(name) or full.get(name)
        if found is None:
            raise ValueError(f"unknown objective {name!r}; known: {', '.join(_known())}")
        if found in out:
            raise ValueError(f"objective {name!r} is named twice")
        out.append(found)
    return tuple(out)


def _known() -> list[str]:
    return [*OBJECTIVE_ALIASES, *(o.name for o in OBJECTIVE_ALIASES.values())]


def top_k(scores: FloatArray, k: int) -> IntArray:
    """Indices of the `k` largest scores, best first (ties: the lower index first)."""
    order = np.argsort(-scores, kind="stable")
    out: IntArray = order[:k].astype(np.int64)
    return out


@dataclass(frozen=True, eq=False)
class RankingRequest:
    """One request: per-candidate `signals` (n, m) in [0, 1] and optional unit-length
    `embeddings` (n, d); `key` names it (a query or user id)."""

    key: str
    signals: FloatArray
    embeddings: FloatArray | None = None

    def __post_init__(self) -> None:
        s = np.asarray(self.signals, dtype=np.float64)
        if s.ndim != 2 or s.shape[0] == 0 or s.shape[1] == 0:
            raise ValueError(f"request {self.key}: signals must be (n, m), got shape {s.shape}")
        if not np.all(np.isfinite(s)) or s.min() < 0 or s.max() > 1:
            raise ValueError(f"request {self.key}: signals must be finite and in [0, 1]")
        object.__setattr__(self, "signals", s)
        if self.embeddings is not None:
            e = np.asarray(self.embeddings, dtype=np.float64)
            if e.ndim != 2 or e.shape[0] != s.shape[0]:
                raise ValueError(
                    f"request {self.key}: embeddings must be ({s.shape[0]}, d), got {e.shape}"
                )
            object.__setattr__(self, "embeddings", unit_rows(e))

    @property
    def n_candidates(self) -> int:
        return int(self.signals.shape[0])


class ListEvaluator(Protocol):
    """Objective values (n_requests, m) of one ranked list per request."""

    def __call__(self, rankings: Sequence[IntArray]) -> FloatArray: ...


@dataclass(frozen=True, eq=False)
class ContextEvaluator:
    """Evaluates each list with the objective functions on its request's `ListContext`."""

    objectives: tuple[Objective, ...]
    contexts: tuple[ListContext, ...]

    def __call__(self, rankings: Sequence[IntArray]) -> FloatArray:
        if len(rankings) != len(self.contexts):
            raise ValueError(f"got {len(rankings)} lists for {len(self.contexts)} requests")
        out = np.empty((len(rankings), len(self.objectives)))
        for i, (ranking, context) in enumerate(zip(rankings, self.contexts, strict=True)):
            for j, objective in enumerate(self.objectives):
                out[i, j] = objective(ranking, context)
        return out


@dataclass(frozen=True, eq=False)
class RankingProblem:
    """Requests, objectives, list length `k` and the evaluator of the lists."""

    objectives: tuple[Objective, ...]
    requests: tuple[RankingRequest, ...]
    k: int
    evaluator: ListEvaluator = field(repr=False)
    name: str = "problem"
    # (request index, scores, k) -> the list: the shop's rules applied to the order the
    # scores give (`paretorec.constraints.list_arranger`); None: the plain top k
    arranger: Callable[[int, FloatArray, int], IntArray] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.objectives:
            raise ValueError(f"no objectives given; known: {', '.join(_known())}")
        names = self.names
        if len(set(names)) != len(names):
            raise ValueError(f"objective names repeat: {names}")
        if not self.requests:
            raise ValueError("the problem has no requests")
        m = len(self.objectives)
        for r in self.requests:
            if r.signals.shape[1] != m:
                raise ValueError(
                    f"request {r.key}: {r.signals.shape[1]} signal column(s) for {m} objective(s)"
                )
            if r.n_candidates < self.k:
                raise ValueError(f"request {r.key}: {r.n_candidates} candidates, fewer than k")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.objectives)

    @property
    def directions(self) -> tuple[Direction, ...]:
        return tuple(o.direction for o in self.objectives)

    @property
    def n_objectives(self) -> int:
        return len(self.objectives)

    @property
    def set_level(self) -> tuple[bool, ...]:
        """Whether each objective is a set-level one (see `SET_OBJECTIVES`)."""
        return tuple(o.name in SET_OBJECTIVES for o in self.objectives)

    def index(self, name: str) -> int:
        """The column of objective `name` (short or full name)."""
        objective = OBJECTIVE_ALIASES.get(name)
        full = objective.name if objective is not None else name
        if full not in self.names:
            raise ValueError(f"objective {name!r} is not in this problem: {', '.join(self.names)}")
        return self.names.index(full)

    def evaluate(self, rankings: Sequence[IntArray]) -> FloatArray:
        """The mean objective vector (m,) of one list per request."""
        per_request = np.asarray(self.evaluator(rankings), dtype=np.float64)
        out: FloatArray = per_request.mean(axis=0)
        return out

    def rank_by(self, score: Callable[[RankingRequest], FloatArray]) -> list[IntArray]:
        """The top-k list of each request under a per-candidate score function (under the
        shop's rules where the problem has an arranger)."""
        if self.arranger is not None:
            arranger = self.arranger
            return [arranger(i, score(r), self.k) for i, r in enumerate(self.requests)]
        return [top_k(score(r), self.k) for r in self.requests]

    def require_embeddings(self, by: str) -> None:
        if any(r.embeddings is None for r in self.requests):
            raise ValueError(f"{by} needs candidate embeddings in every request")
