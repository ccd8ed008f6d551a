"""The recommender's search space: which generators, their merge quotas, co-visitation's
window and decays, the neural generators' sizes, epochs and learning rates.

Two objectives on the valid split, both maximized: NDCG@K of the merged list (K = 10, or
lower on a catalog too small for it) and the catalog coverage of those lists (the share
of items recommended to someone). A trial fits on the train sequences (the neural
generators stop early on valid, and their per-epoch validation recall feeds pruning) and
ranks each user's valid items from her train history over the full catalog; the test
figures rank her test items from her train and valid history, as `paretorec eval
recommend` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.evaluate.beyond import catalog_coverage
from paretorec.evaluate.metrics import Metric, batch_ranking_metrics
from paretorec.retrieve.recommend import (
    CoVisitation,
    Generator,
    Popularity,
    Quotas,
    Recommender,
    Sequential,
    Source,
    SplitSequences,
    TwoTower,
    fit_on_train,
)
from paretorec.tune.options import TunableStage
from paretorec.tune.study import EpochHook

__all__ = ["GENERATOR_SETS", "RecommenderTuning"]

GENERATOR_SETS: Mapping[str, tuple[Source, ...]] = {
    "covisitation": (Source.COVISITATION,),
    "covisitation+two-tower": (Source.COVISITATION, Source.TWO_TOWER),
    "covisitation+sequential": (Source.COVISITATION, Source.SEQUENTIAL),
    "all": (Source.COVISITATION, Source.TWO_TOWER, Source.SEQUENTIAL),
}
DEFAULT_EPOCHS = 3  # `paretorec train recommender`'s
SEQUENTIAL_BATCH = 512  # as `paretorec train recommender` trains it


def _valid_view(sequences: SplitSequences) -> SplitSequences:
    """The sequences with valid in the place of test: each user's valid items are ranked
    from her train history alone."""
    empty = tuple(np.zeros(0, dtype=np.int64) for _ in sequences.user_ids)
    return SplitSequences(
        item_ids=sequences.item_ids,
        user_ids=sequences.user_ids,
        train=sequences.train,
        valid=empty,
        test=sequences.valid,
    )


@dataclass(frozen=True, eq=False)
class _Lists:
    """Who is measured: histories and relevant items of the users with a held-out item."""

    histories: list[NDArray[np.int64]]
    relevance: sp.csr_array
    k: int

    @classmethod
    def of(
        cls,
        sequences: SplitSequences,
        *,
        k: int,
        split: str,
        sample: int | None = None,
        seed: int = 0,
    ) -> _Lists:
        users = np.flatnonzero([t.size > 0 for t in sequences.test])
        if users.size == 0:
            raise ValueError(f"no user has a {split} item: nothing to tune the recommender on")
        if sample is not None and sample < users.size:
            rng = np.random.default_rng(seed)
            users = np.sort(rng.choice(users, size=sample, replace=False))
        held = sequences.held_out_test(users)
        return cls(held.histories, held.relevance, min(k, held.room))

    def figures(self, recommender: Recommender) -> dict[str, float]:
        ndcg, coverage = self._measure(recommender)
        return {f"ndcg@{self.k}": float(ndcg.mean()), f"coverage@{self.k}": coverage}

    def _measure(self, recommender: Recommender) -> tuple[NDArray[np.float64], float]:
        """Each measured user's NDCG@K (in user order) and the lists' catalog coverage."""
        merged, _ = recommender.rank_many(self.histories, k=self.k)
        found = batch_ranking_metrics(merged, self.relevance, ks=(self.k,), metrics=(Metric.NDCG,))
        ndcg: NDArray[np.float64] = found.per_user[f"ndcg@{self.k}"]
        return ndcg, catalog_coverage(merged, n_items=recommender.n_items)


@dataclass(frozen=True, eq=False)
class RecommenderTuning:
    """Tunes the merged recommender on `sequences` with items' `text_vectors`.
    `max_epochs` bounds the neural generators' epochs; `k` the list length measured;
    `generator_sets` the names of `GENERATOR_SETS` a trial chooses from (the default
    configuration is "all" where allowed, else the first); `valid_users` a seeded sample
    of the users measured on valid (all of them when None; test always measures all)."""

    sequences: SplitSequences
    text_vectors: NDArray[np.float32]
    max_epochs: int = DEFAULT_EPOCHS
    k: int = 10
    seed: int = 0
    generator_sets: tuple[str, ...] = tuple(GENERATOR_SETS)
    valid_users: int | None = None
    _valid: _Lists = field(init=False)
    _test: _Lists = field(init=False)

    def __post_init__(self) -> None:
        if self.max_epochs < 1 or self.k < 1:
            raise ValueError("max_epochs and k must be >= 1")
        unknown = [name for name in self.generator_sets if name not in GENERATOR_SETS]
        if unknown or not self.generator_sets:
            raise ValueError(
                f"generator sets {unknown or '(none)'}: choose from {list(GENERATOR_SETS)}"
            )
        if self.valid_users is not None and self.valid_users < 2:
            raise ValueError("valid_users must be >= 2 (or None: every user)")
        valid = _Lists.of(
            _valid_view(self.sequences),
            k=self.k,
            split="valid",
            sample=self.valid_users,
            seed=self.seed,
        )
        object.__setattr__(self, "_valid", valid)
        object.__setattr__(self, "_test", _Lists.of(self.sequences, k=self.k, split="test"))

    @property
    def stage(self) -> TunableStage:
        return TunableStage.RECOMMENDER

    @property
    def objectives(self) -> tuple[str, ...]:
        return (f"ndcg@{self._valid.k}", f"coverage@{self._valid.k}")

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        chosen = GENERATOR_SETS[trial.suggest_categorical("generators", list(self.generator_sets))]
        trial.suggest_float("popularity.diversity", 0.0, 1.0)
        trial.suggest_float("quota.popularity", 0.0, 0.5)
        trial.suggest_float("quota.covisitation", 0.05, 1.0)
        trial.suggest_int("covisitation.window", 1, 8)
        trial.suggest_float("covisitation.order_decay", 0.2, 1.0)
        trial.suggest_float("covisitation.backward", 0.0, 1.0)
        trial.suggest_float("covisitation.popularity_penalty", 0.0, 1.0)
        trial.suggest_float("covisitation.recency_decay", 0.2, 1.0)
        if Source.TWO_TOWER in chosen:
            trial.suggest_float("quota.two-tower", 0.05, 1.0)
            trial.suggest_categorical("two-tower.dim", [32, 64, 128])
            trial.suggest_int("two-tower.epochs", 1, self.max_epochs)
            trial.suggest_float("two-tower.learning_rate", 3e-4, 1e-2, log=True)
            trial.suggest_float("two-tower.temperature", 0.02, 0.3, log=True)
        if Source.SEQUENTIAL in chosen:
            trial.suggest_float("quota.sequential", 0.05, 1.0)
            trial.suggest_categorical("sequential.dim", [32, 64])
            trial.suggest_int("sequential.layers", 1, 2)
            trial.suggest_int("sequential.epochs", 1, self.max_epochs)
            trial.suggest_float("sequential.learning_rate", 3e-4, 1e-2, log=True)
            trial.suggest_float("sequential.dropout", 0.0, 0.5)
        return dict(trial.params)

    def default_params(self) -> dict[str, Any]:
        epochs = min(DEFAULT_EPOCHS, self.max_epochs)
        return {
            "generators": "all" if "all" in self.generator_sets else self.generator_sets[0],
            "popularity.diversity": 0.3,
            "quota.popularity": 0.0,
            "quota.covisitation": 0.25,
            "covisitation.window": 3,
            "covisitation.order_decay": 0.6,
            "covisitation.backward": 0.5,
            "covisitation.popularity_penalty": 0.2,
            "covisitation.recency_decay": 0.6,
            "quota.two-tower": 0.25,
            "two-tower.dim": 64,
            "two-tower.epochs": epochs,
            "two-tower.learning_rate": 1e-3,
            "two-tower.temperature": 0.07,
            "quota.sequential": 0.5,
            "sequential.dim": 64,
            "sequential.layers": 2,
            "sequential.epochs": epochs,
            "sequential.learning_rate": 1e-3,
            "sequential.dropout": 0.3,
        }

    def _generators(self, p: Mapping[str, Any]) -> tuple[list[Generator], Quotas]:
        chosen = GENERATOR_SETS[str(p["generators"])]
        generators: list[Generator] = [
            Popularity(diversity=float(p["popularity.diversity"])),
            CoVisitation(
                window=int(p["covisitation.window"]),
                order_decay=float(p["covisitation.order_decay"]),
                backward=float(p["covisitation.backward"]),
                popularity_penalty=float(p["covisitation.popularity_penalty"]),
                recency_decay=float(p["covisitation.recency_decay"]),
            ),
        ]
        if Source.TWO_TOWER in chosen:
            generators.append(
                TwoTower(
                    dim=int(p["two-tower.dim"]),
                    epochs=int(p["two-tower.epochs"]),
                    learning_rate=float(p["two-tower.learning_rate"]),
                    temperature=float(p["two-tower.temperature"]),
                    seed=self.seed,
                )
            )
        if Source.SEQUENTIAL in chosen:
            generators.append(
                Sequential(
                    dim=int(p["sequential.dim"]),
                    layers=int(p["sequential.layers"]),
                    epochs=int(p["sequential.epochs"]),
                    learning_rate=float(p["sequential.learning_rate"]),
                    dropout=float(p["sequential.dropout"]),
                    batch_size=SEQUENTIAL_BATCH,
                    seed=self.seed,
                )
            )
        shares = {Source.POPULARITY: float(p["quota.popularity"])}
        shares |= {source: float(p[f"quota.{source.value}"]) for source in chosen}
        return generators, Quotas(shares)

    def fit(
        self, params: Mapping[str, Any], *, on_epoch: EpochHook | None = None, final: bool = False
    ) -> Recommender:
        generators, quotas = self._generators(params)
        hook = None
        if on_epoch is not None:

            def hook(source: Source, epoch: int, recall: float) -> None:
                on_epoch(source.value, epoch, recall)

        return fit_on_train(
            self.sequences,
            self.text_vectors,
            generators=generators,
            quotas=quotas,
            seed=self.seed,
            store_full_histories=final,
            on_epoch=hook,
        )

    def validate(self, model: Recommender) -> tuple[float, ...]:
        figures = self._valid.figures(model)
        return tuple(figures[name] for name in self.objectives)

    def test(self, model: Recommender) -> dict[str, float]:
        return self._test.figures(model)

    def test_with_per_user(
        self, model: Recommender
    ) -> tuple[dict[str, float], NDArray[np.float64]]:
        """`test`'s figures and each test user's NDCG@K (users in index order, the same
        for every model: for paired comparisons), from one ranking pass."""
        ndcg, coverage = self._test._measure(model)
        figures = {f"ndcg@{self._test.k}": float(ndcg.mean()), f"coverage@{self._test.k}": coverage}
        return figures, ndcg
