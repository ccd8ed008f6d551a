"""Simulator stress for the policy: noisy rewards and bot traffic during training, and the
loop's defences (per-actor caps, winsorized rewards).

`StressedTask` is a `SimulatorTask` whose *training* feedback (`sampled_objectives`) is
stressed by a `TrafficStress` and then defended by a `TrafficDefence`; the exact
`expected_objectives` (what a policy is measured by) stay clean, so a benchmark measures
what a policy trained on dirty traffic is worth to real shoppers.

Stress (each draw is a pure function of the stress seed, the step's contexts and the
lists, so the several lists shown in one context see the same bots):

- `reward_noise` (probability r): each list, independently with probability r (a seeded
  Bernoulli draw per list, so a share r on average, not exactly), has `CORRUPTION` added to each
  feedback objective (clicks, purchases, revenue, in units of the random policy's mean
  per list): events of other sessions joined to the list by a logging fault, unrelated
  to what it showed;
- `bot_share` (share s): ``round(s * n)`` of the contexts are served to `BOTS` bot
  accounts, who click and buy every shown item of `BOT_SELLERS` target sellers and nothing
  else (their list objectives and judged relevance are what they are: a bot cannot fake
  the judge).

Defence:

- `actor_cap` (per-actor cap on the loop's updates): an account with more than `cap`
  contexts in one step has its feedback objectives scaled by ``cap / its contexts``, so
  no account weighs more than `cap` shoppers (with several lists per context and a
  leave-one-out baseline this scales its advantages by the same factor);
- `reward_clip` (a robust reward, the loss's influence bounded as in reward clipping,
  Mnih et al. 2015): each feedback objective is winsorized at ``reward_clip`` times its
  running mean of winsorized values (which starts at 1: the objectives are divided by
  the random policy's mean per list), so one corrupted list cannot dominate a step.
  This holds a running mean across steps (`_Memory`), not saved with checkpoints.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from paretorec.policy.inputs import FloatArray, IntArray
from paretorec.policy.rewards import FEEDBACK_OBJECTIVES, PolicyObjective, feedback_objective_values
from paretorec.policy.simulator import SimulatorTask
from paretorec.simulate import RankingEnv

__all__ = [
    "BOTS",
    "BOT_SELLERS",
    "CORRUPTION",
    "TRAFFIC_SCENARIOS",
    "StressedTask",
    "TrafficDefence",
    "TrafficScenario",
    "TrafficStress",
    "cap_weights",
    "winsorize",
]

CORRUPTION = 20.0
BOTS = 3
BOT_SELLERS = 1


def _check_share(name: str, value: float) -> None:
    if not (np.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a share in [0, 1], got {value!r}")


@dataclass(frozen=True)
class TrafficStress:
    """How the training traffic is dirtied (0: clean)."""

    reward_noise: float = 0.0
    bot_share: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        _check_share("reward_noise", self.reward_noise)
        _check_share("bot_share", self.bot_share)


@dataclass(frozen=True)
class TrafficDefence:
    """Which defences the training loop applies (None: off)."""

    actor_cap: int | None = None
    reward_clip: float | None = None

    def __post_init__(self) -> None:
        if self.actor_cap is not None and self.actor_cap < 1:
            raise ValueError(f"actor_cap must be None or >= 1, got {self.actor_cap!r}")
        if self.reward_clip is not None and not (
            np.isfinite(self.reward_clip) and self.reward_clip > 1.0
        ):
            raise ValueError(f"reward_clip must be None or > 1, got {self.reward_clip!r}")


def cap_weights(accounts: IntArray, cap: int) -> FloatArray:
    """Each row's weight so that no account's rows weigh more than `cap` in all."""
    _, inverse, counts = np.unique(accounts, return_inverse=True, return_counts=True)
    out: FloatArray = np.minimum(1.0, cap / counts[inverse].astype(np.float64))
    return out


def winsorize(values: FloatArray, bound: float) -> FloatArray:
    """`values` clipped to at most `bound` (feedback objectives are >= 0)."""
    out: FloatArray = np.minimum(values, bound)
    return out


@dataclass
class _Memory:
    """The running mean of each winsorized feedback objective (count, mean)."""

    count: dict[PolicyObjective, float] = field(default_factory=dict)
    mean: dict[PolicyObjective, float] = field(default_factory=dict)

    def bound(self, objective: PolicyObjective, clip: float) -> float:
        return clip * self.mean.get(objective, 1.0)

    def add(self, objective: PolicyObjective, values: FloatArray) -> None:
        n = self.count.get(objective, 0.0)
        total = n + values.size
        old = self.mean.get(objective, 1.0) if n else 0.0
        self.mean[objective] = (old * n + float(values.sum())) / total if total else 1.0
        self.count[objective] = total


def _draws(seed: int, stream: int, *arrays: IntArray) -> np.random.Generator:
    """A generator fixed by the seed, a stream number and the content of `arrays`."""
    digest = 0
    for a in arrays:
        digest = zlib.crc32(np.ascontiguousarray(a).tobytes(), digest)
    return np.random.default_rng([seed, stream, digest])


@dataclass(frozen=True)
class StressedTask(SimulatorTask):
    """A `SimulatorTask` with stressed and defended training feedback (module notes)."""

    stress: TrafficStress = TrafficStress()
    defence: TrafficDefence = TrafficDefence()
    memory: _Memory = field(default_factory=_Memory, compare=False, repr=False)

    @classmethod
    def of(
        cls, task: SimulatorTask, stress: TrafficStress, defence: TrafficDefence
    ) -> StressedTask:
        return cls(
            task.spec, task.world, task.objectives, task.predictor, task.scales, stress, defence
        )

    def bot_sellers(self) -> IntArray:
        """The target sellers: outside the largest tenth, those whose items real shoppers
        like least (the lowest mean item popularity; a campaign for unwanted items)."""
        items = self.world.items
        sellers, counts = np.unique(items.seller, return_counts=True)
        small = sellers[np.argsort(-counts, kind="stable")][max(1, sellers.size // 10) :]
        appeal = np.array([items.popularity[items.seller == s].mean() for s in small])
        picked: IntArray = small[np.argsort(appeal, kind="stable")[:BOT_SELLERS]]
        return picked

    def sampled_objectives(
        self, env: RankingEnv, lists: IntArray
    ) -> dict[PolicyObjective, FloatArray]:
        obs = env.observation
        contexts = (obs.user, obs.query, obs.candidates)
        n = obs.n_sessions
        accounts = obs.user.astype(np.int64).copy()
        values = super().sampled_objectives(env, lists)
        feedback = [o for o in self.objectives if o in FEEDBACK_OBJECTIVES]
        stress, defence = self.stress, self.defence
        if stress.bot_share > 0:
            rng = _draws(stress.seed, 1, *contexts)
            bots = rng.choice(n, size=round(stress.bot_share * n), replace=False)
            accounts[bots] = self.world.n_users + bots % BOTS
            shown = np.take_along_axis(obs.candidates, lists, axis=1)[bots]
            target = np.isin(self.world.items.seller[shown], self.bot_sellers())
            fake = {
                "clicks": target.astype(np.float64),
                "purchases": target.astype(np.float64),
                "revenue": np.where(target, self.world.items.price[shown], 0.0),
            }
            for o, v in feedback_objective_values(tuple(feedback), fake, self.scales).items():
                values[o] = values[o].copy()
                values[o][bots] = v
        if stress.reward_noise > 0:
            rng = _draws(stress.seed, 2, *contexts, lists)
            corrupt = rng.random(n) < stress.reward_noise
            for o in feedback:
                values[o] = np.where(corrupt, values[o] + CORRUPTION, values[o])
        if defence.actor_cap is not None:
            weight = cap_weights(accounts, defence.actor_cap)
            for o in feedback:
                values[o] = values[o] * weight
        if defence.reward_clip is not None:
            for o in feedback:
                values[o] = winsorize(values[o], self.memory.bound(o, defence.reward_clip))
                self.memory.add(o, values[o])
        return values


@dataclass(frozen=True)
class TrafficScenario:
    """A named stress of the simulator's training traffic, swept over strengths from 0."""

    name: str
    description: str
    strengths: tuple[float, ...]
    field: str  # the `TrafficStress` share the strength sets

    def __post_init__(self) -> None:
        if not self.strengths or self.strengths[0] != 0.0:
            raise ValueError(f"traffic scenario {self.name}: strengths must start at 0")
        if self.field not in ("reward_noise", "bot_share"):
            raise ValueError(f"traffic scenario {self.name}: unknown stress {self.field!r}")

    @property
    def middle_strength(self) -> float:
        nonzero = self.strengths[1:]
        return nonzero[(len(nonzero) - 1) // 2] if nonzero else 0.0

    def stress(self, strength: float, seed: int) -> TrafficStress:
        return TrafficStress(seed=seed, **{self.field: strength})


TRAFFIC_SCENARIOS: tuple[TrafficScenario, ...] = (
    TrafficScenario(
        "noisy-rewards",
        f"each list with probability r gets {CORRUPTION:g}x the random policy's mean clicks, "
        "purchases and revenue per list added (events joined to the wrong list)",
        (0.0, 0.1, 0.25, 0.5),
        "reward_noise",
    ),
    TrafficScenario(
        "bot-traffic",
        f"a share of sessions from {BOTS} bots that click and buy only the items of "
        f"{BOT_SELLERS} unwanted seller(s)",
        (0.0, 0.25, 0.5, 0.75),
        "bot_share",
    ),
)
