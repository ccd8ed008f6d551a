"""Solving the click intercept so that the shop's click-through rate hits a target.

Under a uniformly random policy the expected click-through rate is a smooth increasing
function of the intercept; for a fixed sample of sessions and random lists, the exact
expectation (not a sampled one) is solved by bisection. The default target is the Open
Bandit Dataset's random/ALL campaign (see `config`).
"""

from __future__ import annotations

import numpy as np

from paretorec.simulate._arrays import FloatArray, sigmoid
from paretorec.simulate.behaviour import click_probabilities, fatigue, utility
from paretorec.simulate.config import ClickCalibration
from paretorec.simulate.sessions import anchor_leaves, draw_candidates, draw_intents, shown_list
from paretorec.simulate.world import World


def random_policy_ctr(
    world: World, intercept: float, slots: int, n_sessions: int, seed: int
) -> float:
    """Exact expected CTR per impression of a uniformly random `slots`-item list, averaged
    over `n_sessions` sampled sessions (first step of a session)."""
    return _ctr_curve(world, slots, n_sessions, np.random.default_rng(seed))(intercept)


def _ctr_curve(world: World, slots: int, n_sessions: int, rng: np.random.Generator) -> _Curve:
    cfg = world.config.behaviour
    c = world.n_candidates
    if not 1 <= slots <= c:
        raise ValueError(f"calibration slots must be between 1 and the {c} candidates")
    user = world.users.draw(n_sessions, rng)
    intent = draw_intents(world, user, rng)
    cand = draw_candidates(world, anchor_leaves(world, user, intent, rng), rng)
    pick = np.argsort(rng.random(cand.shape), axis=1)[:, :slots]
    shown = shown_list(world, user, intent, np.take_along_axis(cand, pick, axis=1))
    z = utility(shown, cfg) - fatigue(shown, cfg)
    exam = np.asarray(cfg.examination_probabilities(slots))
    return _Curve(z, exam, world)


class _Curve:
    """Expected CTR as a function of the intercept, for a fixed sample of random lists."""

    def __init__(self, z: FloatArray, exam: FloatArray, world: World) -> None:
        self.z = z
        self.exam = exam
        self.cfg = world.config.behaviour

    def __call__(self, intercept: float) -> float:
        clicks = click_probabilities(
            sigmoid(intercept + self.z),
            self.exam,
            self.cfg.click_model,
            self.cfg.cascade_abandonment,
        )
        return float(clicks.mean())


def calibrate_click_intercept(
    world: World, calibration: ClickCalibration, rng: np.random.Generator
) -> float:
    """The intercept at which the random policy's expected CTR equals the target."""
    curve = _ctr_curve(world, calibration.slots, calibration.n_sessions, rng)
    lo, hi = -30.0, 15.0
    if not curve(lo) < calibration.target_ctr < curve(hi):
        raise ValueError(
            f"target CTR {calibration.target_ctr} is out of reach of this click model "
            f"with {calibration.slots} slots"
        )
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if curve(mid) < calibration.target_ctr:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
