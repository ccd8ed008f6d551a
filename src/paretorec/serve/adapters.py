"""Adapters from the library's trained models to the serving stage protocols.

Each `load_*` reads a registry version folder with its package's own loader and wraps it
in the protocol of `paretorec.serve.stages`:

- ranker (`paretorec.rank.Ranker`): features of the request's (user, query, candidate)
  pairs by `build_candidate_features`, over a small per-request dataset (the candidates,
  the shopper's exposed items and her exposures), with the item text vectors the index
  keeps and the query vector already computed for retrieval (so nothing is encoded
  twice). Item popularity is the one feature a per-request dataset cannot give; it is
  set from the training history's exposure counts, as `build_candidate_features`
  computes it over the whole history. Besides the ranker's tasks, a ranker with a
  ``purchase`` task gives the objective ``revenue``: P(purchase) × price.
- recommender (`paretorec.retrieve.recommend.Recommender`): its merged candidates, and
  catalog changes passed on (new items by their text vectors).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.encode import TextEncoder
from paretorec.retrieve import HybridRetriever
from paretorec.serve.catalog import ItemStore
from paretorec.serve.policy_features import CONTEXT_DIM, ITEM_DIM, N_GROUPS, request_features
from paretorec.serve.registry import Manifest, RegistryError
from paretorec.serve.stages import (
    CandidateSet,
    PolicyChoice,
    PolicyStage,
    RankerStage,
    Recommended,
    RecommenderStage,
    RequestContext,
)
from paretorec.types import Catalog, Dataset, Events

__all__ = [
    "REVENUE",
    "PolicyAdapter",
    "RankerAdapter",
    "RecommenderAdapter",
    "StageContext",
    "default_weights",
    "load_policy",
    "load_ranker",
    "load_recommender",
]

REVENUE = "revenue"
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class StageContext:
    """What an adapter may read besides its own version folder."""

    store: ItemStore
    retriever: HybridRetriever
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


class _KnownQueries:
    """The query vector retrieval already computed, under the ranker's encoder name (the
    int8 ONNX path of the same model gives vectors at cosine 0.99 of it). A request has
    one query, so every text asked for (the features module normalizes it first) gets it."""

    def __init__(self, name: str, vector: NDArray[np.float32] | None, dimension: int):
        self._name = name
        self._vector = vector
        self._dimension = dimension

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode_queries(self, texts: Iterable[str | bytes]) -> NDArray[np.float32]:
        n = len(list(texts))
        if n and self._vector is None:
            raise ValueError("no query vector for this request")
        if n == 0:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.tile(np.asarray(self._vector, dtype=np.float32), (n, 1))

    def encode_items(self, texts: Iterable[str | bytes]) -> NDArray[np.float32]:
        raise ValueError("item vectors come from the index, never encoded per request")


class RankerAdapter:
    """A `paretorec.rank.Ranker` as a `RankerStage` (see the module docstring)."""

    def __init__(self, ranker: Any, *, store: ItemStore, history: pl.DataFrame | None) -> None:
        self.ranker = ranker
        self._store = store
        spec = ranker.spec
        self._spec = spec
        self._uses_text = spec.text_dimension > 0
        if self._uses_text and not store.has_vectors:
            raise RegistryError("the ranker reads text vectors and the index has none")
        self.has_history = history is not None
        history = (
            history
            if history is not None
            else pl.DataFrame(
                {"user_id": [], "item_id": []}, schema={"user_id": pl.String, "item_id": pl.String}
            )
        )
        self._exposed: dict[str, list[str]] = {
            str(user): [str(i) for i in items]
            for user, items in history.group_by("user_id", maintain_order=True)
            .agg("item_id")
            .iter_rows()
        }
        counts = history.group_by("item_id").len()
        self._counts = dict(zip(counts["item_id"].to_list(), counts["len"].to_list(), strict=True))
        mean = counts["len"].mean() if counts.height else None
        self._scale = float(mean) if isinstance(mean, int | float) and mean > 0 else 1.0
        self._popularity_column = (
            spec.dense_names.index("log_popularity") if "log_popularity" in spec.dense_names else -1
        )
        self._revenue = "purchase" in ranker.tasks

    @property
    def tasks(self) -> tuple[str, ...]:
        extra = (REVENUE,) if self._revenue and REVENUE not in self.ranker.tasks else ()
        return (*self.ranker.tasks, *extra)

    def predict(self, context: RequestContext, candidates: CandidateSet) -> dict[str, FloatArray]:
        from paretorec.rank import build_candidate_features

        ids = list(candidates.item_ids)
        user = context.user_id
        seen = [i for i in self._exposed.get(user, []) if i in self._store] if user else []
        every = list(dict.fromkeys([*ids, *seen]))
        events = pl.DataFrame(
            {
                "user_id": [user] * len(seen),
                "item_id": seen,
                "event": [self._spec.base_event] * len(seen),
            },
            schema={"user_id": pl.String, "item_id": pl.String, "event": pl.String},
        )
        dataset = Dataset(items=self._store.catalog(every), events=Events(events))
        encoder = None
        vectors = None
        query = context.query
        if self._uses_text:
            vectors = self._store.vectors(every)
            if self._spec.encoder_name is None:
                query = None  # trained on item vectors alone: it never saw a query's text
            else:
                if context.query_vector is None:
                    query = None
                encoder = _KnownQueries(
                    self._spec.encoder_name, context.query_vector, vectors.shape[1]
                )
        features = build_candidate_features(
            dataset,
            self._spec,
            item_ids=ids,
            user_ids=[user] * len(ids),
            query_texts=[query] * len(ids),
            encoder=encoder,
            item_vectors=vectors,
        )
        if self._popularity_column >= 0:
            dense = features.dense.copy()
            counts = np.asarray([self._counts.get(i, 0) for i in ids], dtype=np.float64)
            dense[:, self._popularity_column] = np.log1p(counts / self._scale)
            features = dataclasses.replace(features, dense=dense)
        predictions = {
            task: np.asarray(values, dtype=np.float64)
            for task, values in self.ranker.predict(features).items()
        }
        if self._revenue and REVENUE not in predictions:
            prices = (
                candidates.items.frame.get_column("price")
                if "price" in candidates.items.frame.columns
                else None
            )
            price = (
                prices.cast(pl.Float64).fill_null(0.0).to_numpy()
                if prices is not None
                else np.zeros(len(ids))
            )
            predictions[REVENUE] = predictions["purchase"] * np.clip(price, 0.0, None)
        return predictions


def load_ranker(folder: Path, manifest: Manifest, context: StageContext) -> RankerStage:
    from paretorec.rank import Ranker

    ranker = Ranker.load(_model_folder(folder, "ranker.json"))
    if ranker.spec.text_dimension > 0 and context.store.has_vectors:
        dimension = context.store.vectors(context.store.sample_ids(1)).shape[1]
        if dimension != ranker.spec.text_dimension:
            raise RegistryError(
                f"ranker/{manifest.version} reads {ranker.spec.text_dimension}-d text vectors, "
                f"the index has {dimension}-d ones: train it with the index's encoder"
            )
    dataset = _training_dataset(manifest)
    history = None
    if dataset is not None and dataset.events is not None:
        history = dataset.events.frame.filter(pl.col("event") == ranker.spec.base_event).select(
            pl.col("user_id").cast(pl.String), pl.col("item_id").cast(pl.String)
        )
    return RankerAdapter(ranker, store=context.store, history=history)


# ----------------------------------------------------------------------------- recommender


class RecommenderAdapter:
    """A `paretorec.retrieve.recommend.Recommender` as a `RecommenderStage`."""

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


def load_recommender(folder: Path, manifest: Manifest, context: StageContext) -> RecommenderStage:
    from paretorec.retrieve.recommend import Recommender

    recommender = Recommender.load(_model_folder(folder, "ids.json"))
    dimension = recommender.text_vectors.shape[1]
    if dimension != context.encoder.dimension:
        raise RegistryError(
            f"recommender/{manifest.version} holds {dimension}-d text vectors, the index's "
            f"encoder gives {context.encoder.dimension}-d ones: train it with the same encoder"
        )
    return RecommenderAdapter(recommender)


# ----------------------------------------------------------------------------- policy


class PolicyAdapter:
    """A `paretorec.policy.PreferencePolicy` trained in the simulator, as a `PolicyStage`:
    its features rebuilt from the request (`paretorec.serve.policy_features`), greedy
    decoding with per-objective contributions.

    Its prediction inputs come from the predictor it was trained with, where the version
    holds one (a simulator policy's logged-feedback model, applied to the same rebuilt
    features): a policy fed another model's predictions than in training learns to
    correct for the wrong ones (in the demo it buried the best-matching items). Without
    one, the ranker's predictions are its inputs."""

    def __init__(
        self, policy: Any, *, default: Mapping[str, float] | None, predictor: Any = None
    ) -> None:
        self.policy = policy
        self.predictor = predictor  # LoggedFeedbackModel | None
        self._default = dict(default) if default else None

    @property
    def objectives(self) -> tuple[str, ...]:
        return tuple(self.policy.config.objectives)

    @property
    def prediction_names(self) -> tuple[str, ...]:
        return tuple(self.policy.config.prediction_names)

    @property
    def default_weights(self) -> Mapping[str, float] | None:
        return self._default

    def choose(
        self,
        context: RequestContext,
        candidates: CandidateSet,
        predictions: Mapping[str, FloatArray],
        weights: FloatArray,
        k: int,
    ) -> PolicyChoice:
        from paretorec.policy import PolicyInput, rank

        ctx, items, groups = request_features(context, candidates)
        if self.predictor is not None:
            price = candidates.items.frame["price"].cast(pl.Float64, strict=False)
            own = self.predictor.predict_features(items, price.fill_null(0.0).to_numpy()[None, :])
            inputs_predictions = {n: np.asarray(own[n]) for n in self.prediction_names}
        else:
            inputs_predictions = {
                n: np.asarray(predictions[n])[None, :] for n in self.prediction_names
            }
        inputs = PolicyInput(
            context=ctx,
            item_features=items,
            predictions=inputs_predictions,
            groups=groups if self.policy.config.n_groups else None,
        )
        lists = rank(self.policy, inputs, weights, k)
        return PolicyChoice(
            lists.items[0].astype(np.int64),
            lists.scores[0],
            {name: values[0] for name, values in lists.contributions.items()},
        )


def load_policy(folder: Path, manifest: Manifest, context: StageContext) -> PolicyStage:
    from paretorec.policy import load_policy as read_policy

    policy, meta = read_policy(_model_folder(folder, "policy.json"))
    config = policy.config
    if (config.context_dim, config.item_dim) != (CONTEXT_DIM, ITEM_DIM) or config.n_groups not in (
        0,
        N_GROUPS,
    ):
        raise RegistryError(
            f"policy/{manifest.version} reads {config.context_dim} context and "
            f"{config.item_dim} item features and {config.n_groups} groups; the service builds "
            f"the simulator's {CONTEXT_DIM}, {ITEM_DIM} and {N_GROUPS} "
            "(see paretorec.serve.policy_features)"
        )
    default = default_weights(manifest)
    if default is None and isinstance(meta.get("default_weights"), Mapping):
        default = {str(k): float(v) for k, v in meta["default_weights"].items()}
    predictor = None
    simulator = meta.get("simulator")
    if isinstance(simulator, Mapping) and isinstance(simulator.get("predictor"), Mapping):
        from paretorec.policy.predictors import LoggedFeedbackModel

        predictor = LoggedFeedbackModel.from_json(dict(simulator["predictor"]))
    return PolicyAdapter(policy, default=default, predictor=predictor)
