"""The gym-style environment: a batch of shopping sessions, one ranked list per step.

`reset(seed)` starts `n_sessions` sessions and returns an `Observation` (the shopper,
her query if she searched, and the candidate items with their features); `step(actions)`
takes a ranked list per session (indices into that session's candidates, best first),
draws what the shoppers do, and returns a `StepResult` with named per-objective
`Feedback` per session and position. A session runs up to `max_steps` lists: after each
she continues with a probability that depends on what she did (`SessionConfig`), keeps
her intent with `intent_persistence`, and tires of items she has already been shown.
Everything is vectorized over sessions; the only Python loops run over list positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from paretorec.simulate._arrays import BoolArray, FloatArray, IntArray
from paretorec.simulate.behaviour import (
    Feedback,
    expected_feedback,
    funnel,
    sample_feedback,
)
from paretorec.simulate.sessions import (
    Intent,
    anchor_leaves,
    draw_candidates,
    draw_intents,
    graded_relevance,
    shown_list,
)
from paretorec.simulate.world import World


@dataclass(frozen=True)
class CandidateFeatures:
    """Observable features of each session's candidates, arrays of shape (n, n_candidates).

    The `*_match` features compare an item with the query and are 0 in browsing sessions.
    """

    leaf: IntArray
    department: IntArray
    brand: IntArray  # -1: unbranded
    seller: IntArray
    price: FloatArray
    price_z: FloatArray  # log-price standardized within the leaf
    margin: FloatArray
    rating: FloatArray
    popularity_z: FloatArray
    in_stock: BoolArray
    age_days: IntArray
    leaf_match: FloatArray
    department_match: FloatArray
    brand_match: FloatArray
    attribute_match: FloatArray


@dataclass(frozen=True)
class Observation:
    """What a ranking policy sees at a step, for `n` sessions."""

    step: int
    user: IntArray  # (n,) user numbers (row of the users table)
    query: IntArray  # (n,) query key, -1 in a browsing session
    is_search: BoolArray
    query_leaf: IntArray  # -1 in a browsing session
    query_brand: IntArray  # -1 when the query names no brand
    query_attribute: IntArray  # -1 when the query names no attribute word
    candidates: IntArray  # (n, n_candidates) item numbers (rows of the items table)
    active: BoolArray  # (n,) sessions still running; actions for the others are ignored
    world: World = field(repr=False)

    @property
    def n_sessions(self) -> int:
        return int(self.user.shape[0])

    @property
    def n_candidates(self) -> int:
        return int(self.candidates.shape[1])

    @cached_property
    def features(self) -> CandidateFeatures:
        """The candidates' features (computed on first use)."""
        it = self.world.items
        c = self.candidates
        search = self.is_search[:, None]
        leaf = it.leaf[c]
        dept = it.department[c]
        brand = it.brand[c]
        q_dept = np.where(
            self.query_leaf >= 0, self.world.taxonomy.leaf_department[self.query_leaf], -1
        )[:, None]
        q_attr = self.query_attribute[:, None, None]
        return CandidateFeatures(
            leaf=leaf,
            department=dept,
            brand=brand,
            seller=it.seller[c],
            price=it.price[c],
            price_z=it.price_z[c],
            margin=it.margin[c],
            rating=it.rating[c],
            popularity_z=it.popularity_z[c],
            in_stock=it.stock[c] > 0,
            age_days=it.age_days[c],
            leaf_match=(search & (leaf == self.query_leaf[:, None])).astype(np.float64),
            department_match=(search & (dept == q_dept)).astype(np.float64),
            brand_match=(
                search & (self.query_brand[:, None] >= 0) & (brand == self.query_brand[:, None])
            ).astype(np.float64),
            attribute_match=(
                search & ((it.attributes[c] == q_attr) & (q_attr >= 0)).any(axis=2)
            ).astype(np.float64),
        )


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step: feedback per session and position, the items shown, which
    sessions ended, and the next observation."""

    feedback: Feedback  # zero for sessions that were not active
    shown: IntArray  # (n, list_size) item numbers shown
    done: BoolArray  # (n,) the session is over after this step
    observation: Observation


def validate_actions(
    actions: IntArray, n_sessions: int, list_size: int, n_candidates: int
) -> IntArray:
    """Checks a batch of ranked lists; raises ValueError with what is wrong."""
    a = np.asarray(actions)
    if a.ndim != 2 or a.shape != (n_sessions, list_size):
        raise ValueError(f"actions must have shape ({n_sessions}, {list_size}), got {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"actions must be integer candidate indices, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n_candidates):
        raise ValueError(f"actions must index the {n_candidates} candidates: 0..{n_candidates - 1}")
    srt = np.sort(a, axis=1)
    repeated = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
    if repeated.any():
        raise ValueError(f"a list repeats an item (first in session {int(np.argmax(repeated))})")
    out: IntArray = a.astype(np.int64)
    return out


class RankingEnv:
    """A vectorized batch of `n_sessions` sessions in `world`, `list_size` items a list."""

    def __init__(
        self,
        world: World,
        *,
        n_sessions: int,
        list_size: int,
        max_steps: int = 1,
        seed: int = 0,
    ) -> None:
        if n_sessions < 1:
            raise ValueError("n_sessions must be at least 1")
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        if not 1 <= list_size <= world.n_candidates:
            raise ValueError(
                f"list_size must be between 1 and the number of candidates "
                f"({world.n_candidates}), got {list_size}"
            )
        self.world = world
        self.n_sessions = n_sessions
        self.list_size = list_size
        self.max_steps = max_steps
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._examination = np.asarray(
            world.config.behaviour.examination_probabilities(list_size), dtype=np.float64
        )
        self._obs: Observation | None = None
        self._intent: Intent | None = None
        self._seen = np.full((n_sessions, 0), -1, dtype=np.int64)

    @property
    def examination(self) -> FloatArray:
        """e_k for the positions of a list (used by the position-based model)."""
        return self._examination

    @property
    def observation(self) -> Observation:
        if self._obs is None:
            raise ValueError("call reset() first")
        return self._obs

    def reset(self, seed: int | None = None) -> Observation:
        """Start a new batch of sessions; `seed` re-seeds the environment's generator."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        n = self.n_sessions
        user = self.world.users.draw(n, self._rng)
        intent = draw_intents(self.world, user, self._rng)
        self._seen = np.full((n, 0), -1, dtype=np.int64)
        self._intent = intent
        self._obs = self._observe(0, user, intent, np.ones(n, dtype=bool))
        return self._obs

    def _observe(self, step: int, user: IntArray, intent: Intent, active: BoolArray) -> Observation:
        search = intent.is_search
        cand = draw_candidates(
            self.world, anchor_leaves(self.world, user, intent, self._rng), self._rng
        )
        return Observation(
            step=step,
            user=user,
            query=intent.query_keys(self.world),
            is_search=search,
            query_leaf=np.where(search, intent.leaf, -1),
            query_brand=np.where(search, intent.brand, -1),
            query_attribute=np.where(search, intent.attribute, -1),
            candidates=cand,
            active=active,
            world=self.world,
        )

    def shown_items(self, actions: IntArray) -> IntArray:
        """The item numbers that `actions` (indices into the candidates) put on the lists."""
        obs = self.observation
        a = validate_actions(actions, self.n_sessions, self.list_size, obs.n_candidates)
        out: IntArray = np.take_along_axis(obs.candidates, a, axis=1)
        return out

    def candidate_grades(self) -> FloatArray:
        """The true graded relevance (`sessions.graded_relevance`, 0 to `MAX_GRADE`) of each
        candidate of the current observation to its shopper's intent, (n, n_candidates);
        0 for sessions that ended. What a judge who knew the intent would grade: the
        ground truth of a list's relevance, never part of the observation."""
        obs = self.observation
        assert self._intent is not None
        grades = graded_relevance(self.world, self._intent, obs.candidates)
        out: FloatArray = np.where(obs.active[:, None], grades, 0.0)
        return out

    def expected_feedback(self, actions: IntArray) -> Feedback:
        """The exact expected feedback of showing `actions` now (nothing is drawn and the
        state does not change): the ground truth for off-policy evaluation."""
        items = self.shown_items(actions)
        obs = self.observation
        assert self._intent is not None
        shown = shown_list(self.world, obs.user, self._intent, items, self._seen)
        cfg = self.world.config.behaviour
        f = funnel(shown, cfg, self.world.click_intercept)
        return expected_feedback(f, shown, self._examination, cfg).masked(obs.active)

    def step(self, actions: IntArray) -> StepResult:
        """Show one ranked list per session and draw the shoppers' responses."""
        obs = self.observation
        if not obs.active.any():
            raise ValueError("every session has ended: call reset()")
        items = self.shown_items(actions)
        assert self._intent is not None
        world, cfg, rng = self.world, self.world.config.behaviour, self._rng
        shown = shown_list(world, obs.user, self._intent, items, self._seen)
        f = funnel(shown, cfg, world.click_intercept)
        feedback = sample_feedback(f, shown, self._examination, cfg, rng).masked(obs.active)

        scfg = world.config.sessions
        bought = feedback.purchases.any(axis=1)
        clicked = feedback.clicks.any(axis=1)
        p_continue = np.where(
            bought,
            scfg.continue_after_purchase,
            np.where(clicked, scfg.continue_after_click, scfg.continue_without_click),
        )
        goes_on: BoolArray = rng.random(self.n_sessions) < p_continue
        if obs.step + 1 >= self.max_steps:
            goes_on[:] = False
        active = obs.active & goes_on
        done = obs.active & ~active
        self._seen = np.concatenate([self._seen, np.where(obs.active[:, None], items, -1)], axis=1)
        if active.any():
            fresh = draw_intents(world, obs.user, rng)
            keep = rng.random(self.n_sessions) < scfg.intent_persistence
            self._intent = self._intent.where(keep, fresh)
            self._obs = self._observe(obs.step + 1, obs.user, self._intent, active)
        else:  # every session is over: nothing new to draw
            self._obs = replace(obs, step=obs.step + 1, active=active)
        return StepResult(feedback=feedback, shown=items, done=done, observation=self._obs)
