"""The demo's model steps: train the ranker and the policy, register them, and show the
trade-offs the policy serves.

Each step is a function of explicit inputs so `paretorec.demo` stays an ordered script.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from paretorec.encode import TextEncoder
from paretorec.serve.registry import Manifest, ModelKind, ModelRegistry
from paretorec.types import Dataset, Events

Spinner = Callable[[str], AbstractContextManager[None]]
ProgressBar = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]

# relevance: the list's NDCG against the shopper's true relevance, so that no trade-off
# the policy learns is blind to an off-topic item (issue #19)
POLICY_OBJECTIVES = ("clicks", "revenue", "diversity", "relevance")
# Three weightings a merchandiser might choose between, in POLICY_OBJECTIVES order.
SHOWCASE_WEIGHTS = {
    "mostly clicks": (0.7, 0.1, 0.1, 0.1),
    "mostly revenue": (0.1, 0.7, 0.1, 0.1),
    "mostly diversity": (0.1, 0.1, 0.7, 0.1),
}


@dataclass(frozen=True)
class DemoModelSize:
    """Small enough for a few minutes on 2 cores, big enough to learn something."""

    ranker_sessions: int = 30_000  # the first logged sessions the ranker learns from
    ranker_epochs: int = 2
    policy_items: int = 2_000
    policy_users: int = 1_000
    policy_sessions: int = 20_480
    policy_log_sessions: int = 10_000
    front_sessions: int = 1_000


def first_sessions(dataset: Dataset, n_sessions: int) -> Dataset:
    """The dataset with only the events of its first `n_sessions` sessions."""
    if dataset.events is None:
        raise ValueError(f"{dataset.name} has no events")
    events = dataset.events.frame
    kept = events.select(pl.col("session_id").unique(maintain_order=True).head(n_sessions))
    smaller = Events(events.join(kept, on="session_id", how="semi"))
    return Dataset(
        dataset.items, dataset.users, dataset.queries, dataset.judgments, smaller, name=dataset.name
    )


def train_demo_ranker(
    shop: Dataset,
    folder: Path,
    registry: ModelRegistry,
    *,
    encoder: TextEncoder,
    cache: Path,
    item_vectors: np.ndarray,
    size: DemoModelSize,
    seed: int,
    progress_bar: ProgressBar,
    spinner: Spinner,
) -> tuple[Manifest, pl.DataFrame]:
    """An MMoE ranker on the shop's first sessions; its version and test metrics."""
    from paretorec.rank import RankerConfig, TrainConfig, build_ranker_features, evaluate_ranker
    from paretorec.rank import train_ranker as fit

    with spinner("building ranker features"):
        features = build_ranker_features(
            first_sessions(shop, size.ranker_sessions),
            encoder=encoder,
            item_vectors=item_vectors,
            cache_dir=cache,
        )
    config, train = RankerConfig(), TrainConfig(epochs=size.ranker_epochs, seed=seed)
    n_train = (
        int((features.split == "train").sum()) if features.split is not None else len(features)
    )
    with progress_bar("training the ranker", n_train * train.epochs) as advance:
        ranker = fit(features, config=config, train=train, on_progress=advance)
    metrics = evaluate_ranker(ranker, features)
    with registry.stage(
        ModelKind.RANKER, data=folder, config={"model": config.to_json(), "epochs": train.epochs}
    ) as staged:
        ranker.save(staged.folder)
        staged.metrics.update({k: v for k, v in metrics.as_dict().items() if v == v})
    assert staged.manifest is not None
    table = pl.DataFrame(
        [
            {
                "task": task,
                "AUC": m.auc,
                "log loss": m.logloss,
                "ECE": m.ece,
                "positives": m.positives,
            }
            for task, m in metrics.tasks.items()
        ]
    )
    return staged.manifest, table


def train_demo_policy(
    registry: ModelRegistry,
    *,
    size: DemoModelSize,
    seed: int,
    progress_bar: ProgressBar,
    spinner: Spinner,
) -> Manifest:
    """A PPO policy over clicks, revenue, diversity and relevance in a lively simulated
    shop."""
    from contextlib import ExitStack

    from paretorec.policy import Algorithm, SimulatorSpec
    from paretorec.policy.recipe import train_in_simulator

    spec = SimulatorSpec(n_items=size.policy_items, n_users=size.policy_users, world_seed=seed)
    with ExitStack() as stack:
        stack.enter_context(spinner("fitting the policy's predictor on random logs"))
        advance: list[Callable[[int], None]] = []

        def ready(steps: int) -> None:
            stack.close()
            advance.append(stack.enter_context(progress_bar("training the policy (PPO)", steps)))

        run = train_in_simulator(
            spec,
            list(POLICY_OBJECTIVES),
            algorithm=Algorithm.PPO,
            sessions=size.policy_sessions,
            log_sessions=size.policy_log_sessions,
            seed=seed,
            on_task_ready=ready,
            on_step=lambda n: advance[0](n),
        )
    with registry.stage(ModelKind.POLICY, config=run.config) as staged:
        run.save(staged.folder)
        staged.metrics.update(run.metrics)
    assert staged.manifest is not None
    registry.promote(ModelKind.POLICY, staged.manifest.version)
    return staged.manifest


def showcase_tradeoffs(registry: ModelRegistry, *, size: DemoModelSize, seed: int) -> pl.DataFrame:
    """The promoted policy's objective values at three weightings, measured on the same
    simulated sessions with the exact expected feedback: one model, three trade-offs."""
    from paretorec.policy import served_front

    folder, _ = registry.load(ModelKind.POLICY)
    weights = np.array(list(SHOWCASE_WEIGHTS.values()))
    front = served_front(folder, weights, n_sessions=size.front_sessions, seed=seed)
    rows = []
    for name, w, values in zip(SHOWCASE_WEIGHTS, front.weights, front.values, strict=True):
        row: dict[str, object] = {"weighting": name}
        row.update({f"w_{o}": float(x) for o, x in zip(front.objectives, w, strict=True)})
        row.update({o: float(x) for o, x in zip(front.objectives, values, strict=True)})
        rows.append(row)
    return pl.DataFrame(rows)


def build_demo_serving(
    shop: Dataset,
    folder: Path,
    registry: ModelRegistry,
    *,
    encoder: TextEncoder,
    cache: Path,
    vectors: np.ndarray,
    seed: int,
) -> dict[str, Manifest]:
    """The search index (BM25 + dense over the encoded catalog) and a recommender
    (co-visitation over the shop's histories, popularity as the floor), both promoted."""
    from paretorec.retrieve import ScoreFusion
    from paretorec.retrieve.recommend import (
        CoVisitation,
        Popularity,
        Quotas,
        Source,
        fit_on_train,
        split_sequences,
    )
    from paretorec.serve.encoders import EncoderRef
    from paretorec.serve.index_version import build_index_version

    index = build_index_version(
        registry,
        shop.items,
        encoder,
        cache=cache,
        reference=EncoderRef.bundled(encoder.name),
        fusion=ScoreFusion(weight=0.7),
        data=folder,
    )
    registry.promote(ModelKind.INDEX, index.version)
    sequences = split_sequences(shop)
    recommender = fit_on_train(
        sequences,
        vectors.astype(np.float32),
        generators=[Popularity(), CoVisitation()],
        quotas=Quotas({Source.COVISITATION: 1.0}),
        seed=seed,
        store_full_histories=True,
    )
    with registry.stage(
        ModelKind.RECOMMENDER, data=folder, config={"model": "covisitation"}
    ) as staged:
        recommender.save(staged.folder)
    assert staged.manifest is not None
    registry.promote(ModelKind.RECOMMENDER, staged.manifest.version)
    return {"index": index, "recommender": staged.manifest}
