"""The simulated shop as a ranking problem whose objectives are observed exactly.

`problem_from_simulator` starts `n_sessions` sessions of a `RankingEnv` and keeps the
search sessions whose candidates include a relevant item.  The true value of a list:

- clicks, purchases, revenue, margin: the session's exact expectation from
  `RankingEnv.expected_feedback`, divided by its ideal: the top-k per-item expectations
  (each candidate's feedback at the first position, where no fatigue applies, over the
  first position's examination) matched with the examination probabilities; clipped to 1
  (fatigue makes the ideal an upper bound);
- NDCG: the simulator's own grades, ``2 × leaf match + brand match + 0.5 × attribute
  match`` (as its judgments);
- embedding / category diversity, exposure fairness, novelty: the objective functions
  on the candidates' leaf, department and brand (one-hot embeddings), leaf, seller and
  catalog popularity.

Signals (the ranker's view) are the exact per-item expectations scaled by their maximum
per session, grades over their maximum, and the same proxies as `sources`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from paretorec.moo.problem import ContextEvaluator, RankingProblem, RankingRequest
from paretorec.moo.sources import distinctiveness
from paretorec.objectives import ListContext, Objective
from paretorec.simulate import RankingEnv, World

__all__ = ["SimulatorEvaluator", "problem_from_simulator"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_FEEDBACK = {
    "expected_clicks": "clicks",
    "expected_purchases": "purchases",
    "expected_revenue": "revenue",
    "expected_margin": "margin",
}


@dataclass(frozen=True, eq=False)
class SimulatorEvaluator:
    """Exact objective values of one list per kept session (see the module docstring)."""

    env: RankingEnv
    objectives: tuple[Objective, ...]
    sessions: IntArray  # the kept sessions' numbers
    ideals: dict[str, FloatArray]  # per feedback name, (n_kept,)
    contexts: ContextEvaluator  # the objectives the env does not answer

    def __call__(self, rankings: Sequence[IntArray]) -> FloatArray:
        if len(rankings) != self.sessions.size:
            raise ValueError(f"got {len(rankings)} lists for {self.sessions.size} sessions")
        k = self.env.list_size
        actions = np.tile(np.arange(k, dtype=np.int64), (self.env.n_sessions, 1))
        actions[self.sessions] = np.asarray(rankings, dtype=np.int64)
        feedback = self.env.expected_feedback(actions).per_session()
        rest = self.contexts(rankings) if self.contexts.objectives else None
        out = np.empty((self.sessions.size, len(self.objectives)))
        column = 0
        for j, objective in enumerate(self.objectives):
            name = _FEEDBACK.get(objective.name)
            if name is None:
                assert rest is not None
                out[:, j] = rest[:, column]
                column += 1
            else:
                ideal = self.ideals[name]
                value = feedback[name][self.sessions]
                out[:, j] = np.clip(
                    np.where(ideal > 0, value / np.where(ideal > 0, ideal, 1), 0), 0, 1
                )
        return out


def _one_hot(*labels: IntArray) -> FloatArray:
    blocks = []
    for weight, column in zip((1.0, 0.5, 0.5), labels, strict=False):
        _, codes = np.unique(column, return_inverse=True)
        block = np.zeros((column.size, int(codes.max()) + 1))
        block[np.arange(column.size), codes] = weight
        blocks.append(block)
    return np.concatenate(blocks, axis=1)


def problem_from_simulator(
    world: World,
    objectives: tuple[Objective, ...],
    *,
    n_sessions: int,
    k: int,
    seed: int,
) -> RankingProblem:
    """A ranking problem over the search sessions of one `RankingEnv` batch."""
    if not objectives:
        raise ValueError("no objectives given")
    env = RankingEnv(world, n_sessions=n_sessions, list_size=k, seed=seed)
    obs = env.reset(seed)
    f = obs.features
    grades = 2.0 * f.leaf_match + f.brand_match + 0.5 * f.attribute_match
    keep = np.flatnonzero(obs.is_search & (grades.max(axis=1) > 0))
    if keep.size == 0:
        raise ValueError("no search session has a relevant candidate: use more sessions")
    n_cand = obs.n_candidates
    per_item = {name: np.zeros((n_sessions, n_cand)) for name in _FEEDBACK.values()}
    first = env.examination[0]
    for j in range(n_cand):
        others = [i for i in range(n_cand) if i != j][: k - 1]
        actions = np.tile(np.array([j, *others], dtype=np.int64), (n_sessions, 1))
        fb = env.expected_feedback(actions).as_dict()
        for name in per_item:
            per_item[name][:, j] = fb[name][:, 0] / first
    exam = np.sort(env.examination)[::-1]
    ideals = {
        name: (-np.sort(-values[keep], axis=1)[:, :k]) @ exam for name, values in per_item.items()
    }
    items = world.items
    requests: list[RankingRequest] = []
    contexts: list[ListContext] = []
    for s in keep.tolist():
        cand = obs.candidates[s]
        embeddings = _one_hot(items.leaf[cand], items.department[cand], items.brand[cand])
        embeddings = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
        columns = []
        for o in objectives:
            feedback_name = _FEEDBACK.get(o.name)
            if feedback_name is not None:
                v = per_item[feedback_name][s]
                columns.append(v / v.max() if v.max() > 0 else v)
            elif o.name == "ndcg":
                columns.append(grades[s] / grades[s].max())
            elif o.name == "embedding_diversity":
                columns.append(distinctiveness(embeddings))
            elif o.name == "novelty":
                info = -np.log2(items.popularity[cand])
                columns.append(info / info.max())
            else:
                labels = items.leaf[cand] if o.name == "category_diversity" else items.seller[cand]
                _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
                columns.append(1.0 / counts[inverse])
        requests.append(RankingRequest(f"session-{s}", np.stack(columns, axis=1), embeddings))
        contexts.append(
            ListContext(
                grades=grades[s],
                categories=items.leaf[cand],
                sellers=items.seller[cand],
                embeddings=embeddings,
                popularity=np.clip(items.popularity[cand], 1e-300, 1.0),
                examination=env.examination,
            )
        )
    rest = tuple(o for o in objectives if o.name not in _FEEDBACK)
    evaluator = SimulatorEvaluator(
        env, objectives, keep.astype(np.int64), ideals, ContextEvaluator(rest, tuple(contexts))
    )
    return RankingProblem(objectives, tuple(requests), k, evaluator, name="simulator")
