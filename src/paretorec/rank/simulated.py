"""Simulator logs together with the true probabilities behind them.

`paretorec.simulate.simulate_logs` writes what shoppers did; for calibration we also
want what they were *likely* to do. `simulate_with_truth` runs `simulate_logs`, then
replays the same sessions (same seeds, same order of draws) and asks the environment for
the exact expected feedback of every shown list before the step is drawn
(`RankingEnv.expected_feedback`, which draws nothing): for each impression the
probability of a click, of a cart and of a purchase over the exposure space. The replay
checks that it showed exactly the logged items, so a change in the simulator's drawing
order fails loudly instead of misaligning the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.rank.features import RankerFeatures
from paretorec.simulate import (
    LoggingPolicyKind,
    RankingEnv,
    WorldConfig,
    generate_world,
    simulate_logs,
)
from paretorec.simulate.logging_policy import make_policy
from paretorec.types import Dataset, EventType

_SESSION_SEED = 0x5E55  # simulate_logs' seed stream for sessions (checked by the replay)
TRUTH_TASKS = ("click", "cart", "purchase")


@dataclass(frozen=True)
class SimulatedLogs:
    """The logged dataset and, per impression row (the events' impressions, in order),
    the true probability of a click, a cart and a purchase."""

    dataset: Dataset
    truth: Mapping[str, NDArray[np.float64]]


def simulate_with_truth(
    n_items: int,
    n_users: int,
    n_sessions: int,
    *,
    seed: int = 0,
    config: WorldConfig | None = None,
    list_size: int = 10,
    logging_policy: LoggingPolicyKind = LoggingPolicyKind.UNIFORM,
    temperature: float = 1.0,
    max_steps: int = 1,
    batch_size: int = 10_000,
    on_progress: Callable[[int], None] | None = None,
) -> SimulatedLogs:
    """`simulate_dataset`'s logs (same arguments, same result) with their truth."""
    world = generate_world(n_items, n_users, config=config, seed=seed)
    dataset = simulate_logs(
        world,
        n_sessions,
        seed=seed,
        list_size=list_size,
        policy=make_policy(logging_policy, temperature),
        max_steps=max_steps,
        batch_size=batch_size,
        on_progress=on_progress,
    )
    policy = make_policy(logging_policy, temperature)
    master = np.random.default_rng(np.random.SeedSequence([seed, _SESSION_SEED]))
    session, step, shown, expected = [], [], [], []
    done = 0
    while done < n_sessions:
        size = min(batch_size, n_sessions - done)
        env = RankingEnv(world, n_sessions=size, list_size=list_size, max_steps=max_steps)
        obs = env.reset(seed=int(master.integers(2**62)))
        policy_rng = np.random.default_rng(int(master.integers(2**62)))
        while obs.active.any():
            ranking = policy.sample(obs, list_size, policy_rng)
            truth = env.expected_feedback(ranking.actions)
            result = env.step(ranking.actions)
            act = obs.active
            session.append(done + np.flatnonzero(act))
            step.append(np.full(int(act.sum()), obs.step))
            shown.append(result.shown[act])
            expected.append(
                np.stack([truth.clicks[act], truth.carts[act], truth.purchases[act]], axis=-1)
            )
            obs = result.observation
        done += size
    s, k = np.concatenate(session), np.concatenate(step)
    order = np.lexsort((k, s))  # the events table lists sessions, then steps, in order
    items = np.concatenate(shown)[order].ravel()
    probabilities = np.concatenate(expected)[order].reshape(-1, len(TRUTH_TASKS))
    assert dataset.events is not None
    logged = dataset.events.frame.filter(pl.col("event") == EventType.IMPRESSION.value)["item_id"]
    if logged.len() != items.size or not (world.item_ids.gather(items) == logged).all():
        raise RuntimeError(
            "the replay did not show the logged items: simulate_logs draws in another order "
            "than this module assumes"
        )
    return SimulatedLogs(
        dataset=dataset,
        truth={t: probabilities[:, j] for j, t in enumerate(TRUTH_TASKS)},
    )


def truth_for(features: RankerFeatures, logs: SimulatedLogs) -> dict[str, NDArray[np.float64]]:
    """The true probabilities aligned with the rows of `features` built from
    `logs.dataset` (each row's exposure is an impression, `base_row` its number)."""
    if "base_row" not in features.keys.columns:
        raise ValueError("these features were not built from logged events")
    rows = features.keys["base_row"].to_numpy()
    return {t: p[rows] for t, p in logs.truth.items() if t in features.labels}
