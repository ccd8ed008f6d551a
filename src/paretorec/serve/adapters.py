"""Loading a registry version into the stage it serves (`paretorec.stages`).

Each `load_*` reads a version folder with its package's own loader and hands it the
served catalog (the `ItemStore`), from which the stage prepares its item-side arrays:

- ranker: `paretorec.rank.serving.ServedRanker`, with the exposures of its training
  history (popularity and the shoppers' vectors);
- policy: `paretorec.policy.served.ServedPolicy`, with the predictor it was trained with
  where the version holds one, and the weights it was promoted with;
- recommender (`paretorec.retrieve.recommend.Recommender`): its merged candidates, and
  catalog changes passed on (new items by their text vectors).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.encode import TextEncoder
from paretorec.preference import Preference
from paretorec.serve.catalog import ItemStore
from paretorec.serve.registry import Manifest, RegistryError
from paretorec.stages import Policy, Predictor, Recommended, Recommender, Retriever
from paretorec.types import Catalog, Dataset

__all__ = [
    "RecommenderAdapter",
    "StageContext",
    "default_weights",
    "load_policy",
    "load_ranker",
    "load_recommender",
]


@dataclass(frozen=True)
class StageContext:
    """What a loader may read besides its own version folder."""

    store: ItemStore
    retriever: Retriever
    encoder: TextEncoder


def default_weights(manifest: Manifest) -> dict[str, float] | None:
    """The objective weights a version was promoted with (``config.default_weights``)."""
    raw = manifest.config.get("default_weights")
    if not isinstance(raw, Mapping):
        return None
    return {str(k): float(v) for k, v in raw.items()}


def _model_folder(folder: Path, marker: str) -> Path:
    """The version folder, or its one sub-folder holding `marker`."""
    if (folder / marker).is_file():
        return folder
    inside = [p.parent for p in folder.glob(f"*/{marker}")]
    if len(inside) == 1:
        return inside[0]
    raise RegistryError(f"{folder}: no {marker} (expected a saved model in the version folder)")


def _training_dataset(manifest: Manifest) -> Dataset | None:
    if manifest.data is None or not Path(manifest.data).is_dir():
        return None
    from paretorec.data.validate import load_dataset

    return load_dataset(Path(manifest.data))


# ----------------------------------------------------------------------------- ranker


def load_ranker(folder: Path, manifest: Manifest, context: StageContext) -> Predictor:
    from paretorec.rank import Ranker
    from paretorec.rank.serving import ServedRanker

    ranker = Ranker.load(_model_folder(folder, "ranker.json"))
    if ranker.spec.text_dimension > 0:
        if not context.store.has_vectors:
            raise RegistryError("the ranker reads text vectors and the index has none")
        dimension = context.store.vectors(context.store.sample_ids(1)).shape[1]
        if dimension != ranker.spec.text_dimension:
            raise RegistryError(
                f"ranker/{manifest.version} reads {ranker.spec.text_dimension}-d text vectors, "
                f"the index has {dimension}-d ones: train it with the index's encoder"
            )
    dataset = _training_dataset(manifest)
    exposures: list[tuple[str, str]] = []
    if dataset is not None and dataset.events is not None:
        history = dataset.events.frame.filter(pl.col("event") == ranker.spec.base_event)
        exposures = list(
            zip(
                history["user_id"].cast(pl.String).to_list(),
                history["item_id"].cast(pl.String).to_list(),
                strict=True,
            )
        )
    try:
        return ServedRanker(ranker, context.store, exposures=exposures)
    except ValueError as error:
        raise RegistryError(f"ranker/{manifest.version}: {error}") from error


# ----------------------------------------------------------------------------- recommender


class RecommenderAdapter:
    """A `paretorec.retrieve.recommend.Recommender` as a `paretorec.stages.Recommender`."""

    def __init__(self, recommender: Any) -> None:
        self.recommender = recommender

    def recommend(
        self, *, user_id: str | None, session_items: Sequence[str], k: int, exclude: Sequence[str]
    ) -> Recommended:
        found = self.recommender.recommend(
            user_id=user_id, session=list(session_items), k=k, exclude=list(exclude)
        )
        return Recommended(
            tuple(found.item_ids),
            np.asarray(found.scores, dtype=np.float64),
            tuple(str(getattr(s, "value", s)) for s in found.sources),
            tuple(found.ignored),
            cold_start=bool(getattr(found, "cold_start", False)),
        )

    def add_items(self, catalog: Catalog, vectors: NDArray[np.float32]) -> None:
        ids = [str(i) for i in catalog.frame["item_id"].to_list()]
        known = set(self.recommender.item_ids)  # removed ones too: their rows stay
        rows = [n for n, i in enumerate(ids) if i not in known]
        if rows:
            self.recommender.add_items([ids[n] for n in rows], vectors[rows])

    def remove_items(self, item_ids: Sequence[str]) -> None:
        present = [i for i in item_ids if i in self.recommender]
        if present:
            self.recommender.remove_items(present)

    def observe(self, user_id: str, item_ids: Sequence[str]) -> int:
        return int(self.recommender.observe(user_id, item_ids))


def load_recommender(folder: Path, manifest: Manifest, context: StageContext) -> Recommender:
    from paretorec.retrieve.recommend import Recommender as Fitted

    recommender = Fitted.load(_model_folder(folder, "ids.json"))
    dimension = recommender.text_vectors.shape[1]
    if dimension != context.encoder.dimension:
        raise RegistryError(
            f"recommender/{manifest.version} holds {dimension}-d text vectors, the index's "
            f"encoder gives {context.encoder.dimension}-d ones: train it with the same encoder"
        )
    return RecommenderAdapter(recommender)


# ----------------------------------------------------------------------------- policy


def load_policy(folder: Path, manifest: Manifest, context: StageContext) -> Policy:
    from paretorec.policy import load_policy as read_policy
    from paretorec.policy.predictors import LoggedFeedbackModel
    from paretorec.policy.served import ServedPolicy

    policy, meta = read_policy(_model_folder(folder, "policy.json"))
    if "loop" in meta:  # trained by `paretorec retrain`: its own features and click rates
        from paretorec.loop.policy import LoopPolicy
        from paretorec.loop.served import ServedLoopPolicy, read_users

        loop = LoopPolicy.load(_model_folder(folder, "policy.json"))
        return ServedLoopPolicy(loop, context.store, read_users(manifest.data))
    objectives = tuple(policy.config.objectives)
    raw = default_weights(manifest)
    if raw is None and isinstance(meta.get("default_weights"), Mapping):
        raw = {str(k): float(v) for k, v in meta["default_weights"].items()}
    default = None
    if raw is not None and set(raw) <= set(objectives) and sum(raw.values()) > 0:
        default = Preference.of(objectives, raw)
    predictor = None
    simulator = meta.get("simulator")
    if isinstance(simulator, Mapping) and isinstance(simulator.get("predictor"), Mapping):
        predictor = LoggedFeedbackModel.from_json(dict(simulator["predictor"]))
    try:
        return ServedPolicy(policy, context.store, default=default, predictor=predictor)
    except ValueError as error:
        raise RegistryError(f"policy/{manifest.version}: {error}") from error
