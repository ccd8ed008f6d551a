"""Simulator logs together with the true probabilities behind them.

`paretorec.simulate.simulate_logs` writes what shoppers did; for calibration we also
want what they were *likely* to do. `simulate_with_truth` runs `simulate_logs` and
collects, through its `on_expected_feedback` hook, the exact expected feedback of every
shown list before the step is drawn (`RankingEnv.expected_feedback`, which draws
nothing): for each impression the probability of a click, of a cart and of a purchase
over the exposure space.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.rank.features import RankerFeatures
from paretorec.simulate import (
    Feedback,
    LoggingPolicyKind,
    WorldConfig,
    generate_world,
    simulate_logs,
)
from paretorec.simulate.logging_policy import make_policy
from paretorec.types import Dataset, EventType

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
    session: list[NDArray[np.int64]] = []
    step: list[NDArray[np.int64]] = []
    expected: list[NDArray[np.float64]] = []

    def keep(sessions: NDArray[np.int64], steps: NDArray[np.int64], truth: Feedback) -> None:
        session.append(sessions)
        step.append(steps)
        expected.append(np.stack([truth.clicks, truth.carts, truth.purchases], axis=-1))

    dataset = simulate_logs(
        world,
        n_sessions,
        seed=seed,
        list_size=list_size,
        policy=make_policy(logging_policy, temperature),
        max_steps=max_steps,
        batch_size=batch_size,
        on_progress=on_progress,
        on_expected_feedback=keep,
    )
    s, k = np.concatenate(session), np.concatenate(step)
    order = np.lexsort((k, s))  # the events table lists sessions, then steps, in order
    probabilities = np.concatenate(expected)[order].reshape(-1, len(TRUTH_TASKS))
    assert dataset.events is not None
    impressions = dataset.events.frame.filter(pl.col("event") == EventType.IMPRESSION.value)
    if impressions.height != probabilities.shape[0]:
        raise RuntimeError("the expected feedback does not cover every logged impression")
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
