"""The learned second stage of search: LightGBM lambdarank over the union of candidates.

The first stage (BM25, dense, their fusion, any other retriever) returns each its best
`depth` items; the second stage scores every item of their union with a gradient-boosted
ranker on the pair features of `paretorec.retrieve.second_stage_features` and orders the
union by that score. It learns from graded judgments:

- training queries: every judged query's union, its judged items at their grade and its
  unjudged candidates at grade 0 (as the evaluation counts them), with at most
  `negatives_per_query` of those unjudged ones kept (a seeded draw) to bound the rows;
  a query none of whose relevant items entered the union teaches nothing and is left out;
- validation queries: the full union; boosting stops once their NDCG@10 has not improved
  for `early_stopping_rounds` rounds and the best round is kept.

Grades become integer labels, one per distinct training grade in increasing order, and
LightGBM's `label_gain` is ``2^grade - 1`` for each: the same gain as the evaluation's
exponential NDCG, so the ranker optimises the metric it is judged on.

Saved to a folder (conventionally `SECOND_STAGE_FOLDER` inside the search index folder):
``model.txt`` (LightGBM's own text format), ``meta.json`` (the feature layout) and
``settings.json`` (the config, the grade labels and the first stage it was trained on:
the fusion with its weight, whether BM25 searched spell-corrected queries and whether their
abbreviations were expanded, the encoder's name, a content fingerprint for a local model
folder). Loading checks the layout against
this code's. `RerankedSearch` serves it over a loaded hybrid index (`paretorec search` uses
it when the index folder holds one): it rebuilds the runs with the saved fusion, spelling
and abbreviation expansion, whatever the index folder's own fusion and its speller's
setting, and refuses an encoder other than the saved one or an index without the speller
the model was trained with (or without the postings its expansion reads), since the
features would no longer be the ones it learned from. A model saved before the expansion
existed records none and is served without it, as it was trained. `fit_second_stage` is what `eval search` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import lightgbm as lgb
import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.data.splits import carve_valid_queries
from paretorec.encode import TextEncoder
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.dense import DenseIndex
from paretorec.retrieve.filters import Filters
from paretorec.retrieve.fusion import (
    DENSE,
    LEXICAL,
    Fusion,
    Normalization,
    ReciprocalRankFusion,
    ScoreFusion,
)
from paretorec.retrieve.hybrid import HybridRetriever
from paretorec.retrieve.lexical import LexicalIndex
from paretorec.retrieve.second_stage_features import (
    ItemSide,
    PairFeatures,
    QueryInput,
    feature_names,
    pair_features,
)
from paretorec.retrieve.storage import read_json, read_meta, write_json, write_meta
from paretorec.types import Catalog, Judgments, Split

__all__ = [
    "COMPONENT",
    "SECOND_STAGE_FOLDER",
    "FirstStageSettings",
    "FittedSecondStage",
    "GradeLabels",
    "RerankedSearch",
    "SecondStage",
    "SecondStageConfig",
    "TextRetriever",
    "TrainingReport",
    "first_stage_inputs",
    "fit_second_stage",
    "train_second_stage",
]

SECOND_STAGE_FOLDER = "second_stage"
HYBRID = "hybrid"
COMPONENT = "ltr"
_KIND = "second_stage"
_MAX_LABELS = 31  # LightGBM's label_gain table; more distinct grades are binned


@dataclass(frozen=True)
class SecondStageConfig:
    """What the ranker reads and how it is boosted.

    `runs`: the first-stage runs whose scores and ranks are features, in layout order (a
    query must bring each); `prf_run` and `prf_depth`: the run whose top items the
    agreement features compare against; `depth`: how many items each run contributes to
    the union (the caller retrieves that deep).
    """

    runs: tuple[str, ...] = ("lexical", "dense", "hybrid")
    prf_run: str = "hybrid"
    prf_depth: int = 10
    depth: int = 300
    negatives_per_query: int | None = 200
    num_leaves: int = 31
    min_data_in_leaf: int = 50
    learning_rate: float = 0.05
    feature_fraction: float = 0.8
    max_rounds: int = 1000
    early_stopping_rounds: int = 50
    truncation_level: int = 30
    num_threads: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.runs or len(set(self.runs)) != len(self.runs):
            raise ValueError(f"runs must name distinct first-stage runs, got {self.runs!r}")
        for name, value, low in (
            ("prf_depth", self.prf_depth, 1),
            ("depth", self.depth, 1),
            ("num_leaves", self.num_leaves, 2),
            ("min_data_in_leaf", self.min_data_in_leaf, 1),
            ("max_rounds", self.max_rounds, 1),
            ("early_stopping_rounds", self.early_stopping_rounds, 1),
            ("truncation_level", self.truncation_level, 1),
            ("num_threads", self.num_threads, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.negatives_per_query is not None and self.negatives_per_query < 0:
            raise ValueError(
                f"negatives_per_query must be >= 0 or None, got {self.negatives_per_query}"
            )
        if not (0.0 < self.learning_rate <= 1.0) or not (0.0 < self.feature_fraction <= 1.0):
            raise ValueError("learning_rate and feature_fraction must lie in (0, 1]")

    @property
    def features(self) -> tuple[str, ...]:
        return feature_names(self.runs)


@dataclass(frozen=True)
class GradeLabels:
    """Integer labels for graded judgments: label 0 is "not judged relevant" (gain 0),
    label i >= 1 stands for `grades[i - 1]` (gain ``2^g - 1``)."""

    grades: tuple[float, ...]

    @classmethod
    def fit(cls, grades: Sequence[float]) -> GradeLabels:
        positive = sorted({float(g) for g in grades if g > 0})
        if len(positive) >= _MAX_LABELS:  # bin into equal-count levels (their means)
            chunks = np.array_split(np.asarray(positive), _MAX_LABELS - 1)
            positive = [float(c.mean()) for c in chunks]
        return cls(tuple(positive))

    def label(self, grade: float) -> int:
        if grade <= 0 or not self.grades:
            return 0
        return 1 + int(np.argmin(np.abs(np.asarray(self.grades) - grade)))

    @property
    def gains(self) -> list[float]:
        return [0.0, *(2.0**g - 1.0 for g in self.grades)]


@dataclass(frozen=True)
class TrainingReport:
    """How the ranker was fit: queries and rows used, the rounds kept, valid NDCG@10."""

    n_train_queries: int
    n_train_rows: int
    n_valid_queries: int
    best_round: int
    valid_ndcg_at_10: float
    importance: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _fusion_settings(fusion: Fusion) -> dict[str, object]:
    if isinstance(fusion, ScoreFusion):
        return {
            "kind": ScoreFusion.__name__,
            "weight": fusion.weight,
            "normalization": fusion.normalization.value,
        }
    if isinstance(fusion, ReciprocalRankFusion):
        return {
            "kind": ReciprocalRankFusion.__name__,
            "weight": fusion.weight,
            "k_rrf": fusion.k_rrf,
        }
    raise ValueError(f"cannot record the fusion {type(fusion).__name__}: not a known fusion")


def _fusion_from(raw: Mapping[str, object]) -> Fusion:
    kind, weight = raw.get("kind"), float(str(raw["weight"]))
    if kind == ScoreFusion.__name__:
        return ScoreFusion(weight=weight, normalization=Normalization(str(raw["normalization"])))
    if kind == ReciprocalRankFusion.__name__:
        return ReciprocalRankFusion(weight=weight, k_rrf=int(str(raw["k_rrf"])))
    raise ValueError(f"unknown fusion {kind!r} in the second stage's settings")


def _describe_fusion(fusion: Fusion) -> str:
    return f"{type(fusion).__name__}(lexical weight {fusion.weight:g})"


@dataclass(frozen=True)
class FirstStageSettings:
    """The first stage a second stage was trained on: what produced its run features.

    `fusion`: the hybrid run's fusion (type, weight, normalization or k_rrf); `spelling`:
    whether BM25 searched spell-corrected queries; `encoder`: the encoder's name (for a
    local model folder it carries a fingerprint of the folder's content), which made both
    the query and the item vectors; `abbreviations`: whether the corrector also expanded
    consonant skeletons (``cbnt`` → ``cabinet``; False in a model saved before it existed,
    which was trained without it)."""

    fusion: Fusion
    spelling: bool
    encoder: str
    abbreviations: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "fusion": _fusion_settings(self.fusion),
            "spelling": self.spelling,
            "encoder": self.encoder,
            "abbreviations": self.abbreviations,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> FirstStageSettings:
        fusion = raw["fusion"]
        if not isinstance(fusion, Mapping):
            raise ValueError(f"unreadable fusion {fusion!r} in the second stage's settings")
        abbreviations = raw.get("abbreviations", False)
        if not isinstance(abbreviations, bool):
            raise ValueError(f"unreadable abbreviations {abbreviations!r} in the settings")
        return cls(_fusion_from(fusion), bool(raw["spelling"]), str(raw["encoder"]), abbreviations)


class SecondStage:
    """A trained ranker and its feature layout; `rerank` orders one query's union.
    `first_stage`: the runs it was trained on (None: not recorded, which `RerankedSearch`
    refuses to serve)."""

    def __init__(
        self,
        booster: lgb.Booster,
        config: SecondStageConfig,
        labels: GradeLabels,
        first_stage: FirstStageSettings | None = None,
    ) -> None:
        if tuple(booster.feature_name()) != tuple(_safe(n) for n in config.features):
            raise ValueError("the model's features are not this code's layout: retrain it")
        self.booster = booster
        self.config = config
        self.labels = labels
        self.first_stage = first_stage

    def features(self, query: QueryInput, side: ItemSide) -> PairFeatures:
        return pair_features(
            query,
            side,
            runs=self.config.runs,
            prf_run=self.config.prf_run,
            prf_depth=self.config.prf_depth,
        )

    def score(self, features: PairFeatures) -> NDArray[np.float64]:
        if len(features) == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(
            self.booster.predict(features.matrix, num_threads=self.config.num_threads),
            dtype=np.float64,
        )

    def rerank(self, query: QueryInput, side: ItemSide, *, k: int | None = None) -> Candidates:
        """The query's candidate union ordered by the ranker (ties by smaller position),
        cut to `k`; components: the ranker's score and each run's own (NaN where absent)."""
        found = self.features(query, side)
        if len(found) == 0:
            return Candidates.empty((COMPONENT, *self.config.runs))
        scores = self.score(found)
        order = np.lexsort((found.indices, -scores))[:k]
        components = {COMPONENT: scores[order]}
        for name in self.config.runs:
            column = found.names.index(f"{name}:score")
            components[name] = found.matrix[order, column].astype(np.float64)
        return Candidates(
            tuple(found.item_ids[i] for i in order.tolist()),
            found.indices[order],
            scores[order],
            components,
        )

    # ------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        write_meta(folder, _KIND, {"features": list(self.config.features)})
        write_json(
            folder / "settings.json",
            {
                "config": asdict(self.config),
                "grades": list(self.labels.grades),
                "first_stage": None if self.first_stage is None else self.first_stage.to_dict(),
            },
        )
        self.booster.save_model(str(folder / "model.txt"))

    @classmethod
    def load(cls, folder: str | Path) -> SecondStage:
        folder = Path(folder)
        meta = read_meta(folder, _KIND)
        settings = read_json(folder / "settings.json")
        raw = dict(settings["config"])
        raw["runs"] = tuple(raw["runs"])
        config = SecondStageConfig(**raw)
        if tuple(meta["features"]) != config.features:
            raise ValueError(f"{folder} was trained on another feature layout: retrain it")
        model = folder / "model.txt"
        if not model.is_file():
            raise FileNotFoundError(f"{model} is missing")
        booster = lgb.Booster(model_file=str(model))
        recorded = settings.get("first_stage")
        first = None if recorded is None else FirstStageSettings.from_dict(recorded)
        grades = GradeLabels(tuple(float(g) for g in settings["grades"]))
        return cls(booster, config, grades, first)


def _safe(name: str) -> str:
    """LightGBM refuses some characters in feature names (``:``)."""
    return name.replace(":", "__")


def _group(
    features: PairFeatures, graded: Mapping[str, float], labels: GradeLabels
) -> NDArray[np.int32]:
    return np.asarray([labels.label(graded.get(i, 0.0)) for i in features.item_ids], dtype=np.int32)


def _stack(
    queries: Mapping[str, QueryInput],
    judgments: Mapping[str, Mapping[str, float]],
    config: SecondStageConfig,
    side: ItemSide,
    labels: GradeLabels,
    *,
    negatives: int | None,
    rng: np.random.Generator,
    on_progress: Callable[[int], None] | None,
) -> tuple[NDArray[np.float32], NDArray[np.int32], list[int]]:
    blocks, targets, sizes = [], [], []
    for query_id, query in queries.items():
        found = pair_features(
            query, side, runs=config.runs, prf_run=config.prf_run, prf_depth=config.prf_depth
        )
        if on_progress is not None:
            on_progress(1)
        y = _group(found, judgments.get(query_id, {}), labels)
        if not (y > 0).any():
            continue
        keep = np.arange(len(y))
        if negatives is not None:
            zero = np.flatnonzero(y == 0)
            if zero.size > negatives:
                drawn = rng.choice(zero, negatives, replace=False)
                keep = np.sort(np.concatenate([np.flatnonzero(y > 0), drawn]))
        blocks.append(found.matrix[keep])
        targets.append(y[keep])
        sizes.append(int(keep.size))
    width = len(config.features)
    if not blocks:
        return np.zeros((0, width), np.float32), np.zeros(0, np.int32), []
    return np.concatenate(blocks), np.concatenate(targets), sizes


def train_second_stage(
    train: Mapping[str, QueryInput],
    valid: Mapping[str, QueryInput],
    judgments: Mapping[str, Mapping[str, float]],
    side: ItemSide,
    *,
    config: SecondStageConfig | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[SecondStage, TrainingReport]:
    """Fit the ranker on the `train` queries' judged unions, stopping early on `valid`.

    `judgments` maps query id to {item id: grade} (the train and valid queries'; never
    the test queries'). Raises ValueError when no train (or valid) query has a judged
    relevant item among its candidates.
    """
    config = config or SecondStageConfig()
    train_grades = [g for q in train for g in judgments.get(q, {}).values()]
    if not any(g > 0 for g in train_grades):
        raise ValueError(
            "no train query has a judged relevant item: the second stage needs graded "
            "judgments of the train queries to learn from"
        )
    labels = GradeLabels.fit(train_grades)
    rng = np.random.default_rng(config.seed)
    x, y, sizes = _stack(
        train,
        judgments,
        config,
        side,
        labels,
        negatives=config.negatives_per_query,
        rng=rng,
        on_progress=on_progress,
    )
    if not sizes:
        raise ValueError(
            "no train query has a judged relevant item among its candidates: retrieve deeper"
        )
    vx, vy, vsizes = _stack(
        valid,
        judgments,
        config,
        side,
        labels,
        negatives=None,
        rng=rng,
        on_progress=on_progress,
    )
    if not vsizes:
        raise ValueError("no valid query has a judged relevant item among its candidates")
    names = [_safe(n) for n in config.features]
    params = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [10],
        "label_gain": labels.gains,
        "lambdarank_truncation_level": config.truncation_level,
        "num_leaves": config.num_leaves,
        "min_data_in_leaf": config.min_data_in_leaf,
        "learning_rate": config.learning_rate,
        "feature_fraction": config.feature_fraction,
        "bagging_seed": config.seed,
        "feature_fraction_seed": config.seed,
        "seed": config.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": config.num_threads,
        "verbosity": -1,
    }
    train_set = lgb.Dataset(x, y, group=sizes, feature_name=names, free_raw_data=True)
    valid_set = lgb.Dataset(vx, vy, group=vsizes, reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.max_rounds,
        valid_sets=[valid_set],
        valid_names=["valid"],
        callbacks=[lgb.early_stopping(config.early_stopping_rounds, verbose=False)],
    )
    best = int(booster.best_iteration) or config.max_rounds
    # keep only the best rounds, so the saved model and `predict` agree without arguments
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    gains = booster.feature_importance(importance_type="gain")
    total = float(gains.sum()) or 1.0
    importance = {
        n: float(g) / total
        for n, g in sorted(zip(config.features, gains, strict=True), key=lambda p: -p[1])
    }
    valid_ndcg = _valid_ndcg(booster, vx, vy, vsizes, labels)
    report = TrainingReport(len(sizes), len(y), len(vsizes), best, valid_ndcg, importance)
    return SecondStage(booster, config, labels), report


def _valid_ndcg(
    booster: lgb.Booster,
    x: NDArray[np.float32],
    y: NDArray[np.int32],
    sizes: Sequence[int],
    labels: GradeLabels,
) -> float:
    """Mean NDCG@10 over the valid unions (relevant items outside a union not counted)."""
    scores = np.asarray(booster.predict(x), dtype=np.float64)
    gains = np.asarray(labels.gains)
    discount = 1.0 / np.log2(np.arange(2, 12))
    values, start = [], 0
    for size in sizes:
        g = gains[y[start : start + size]]
        s = scores[start : start + size]
        start += size
        got = g[np.argsort(-s, kind="stable")][:10]
        ideal = np.sort(g)[::-1][:10]
        values.append(float(got @ discount[: got.size] / (ideal @ discount[: ideal.size])))
    return float(np.mean(values))


def first_stage_inputs(
    texts: Mapping[str, str],
    vectors: NDArray[np.float32],
    *,
    lexical: LexicalIndex,
    dense: DenseIndex,
    fusion: Fusion,
    depth: int,
    more: Mapping[str, Callable[[str], Candidates]] | None = None,
    lexical_query: Callable[[str], str | bytes] | None = None,
    filters: Filters | None = None,
) -> dict[str, QueryInput]:
    """Each query's first-stage runs at `depth`: ``lexical``, ``dense``, ``hybrid`` (their
    fusion over both whole lists) and any `more` retrievers (name -> text -> candidates);
    `texts` maps query id to text and `vectors` holds the query vectors in that order.
    `lexical_query` rewrites the text BM25 searches (a spelling corrector); the features
    read the text as typed. `filters` go inside the lexical and dense searches, as the
    hybrid retriever applies them: each run is the best `depth` of the items that pass
    (`more` retrievers take none, so a filtered search refuses them)."""
    ids = list(texts)
    if vectors.shape[0] != len(ids):
        raise ValueError(f"{vectors.shape[0]} query vectors for {len(ids)} queries")
    if more and filters is not None and not filters.is_empty:
        raise ValueError(f"the runs {sorted(more)} cannot be filtered")
    found = dense.search_many(vectors, k=depth, filters=filters) if ids else []
    out = {}
    for row, query_id in enumerate(ids):
        text = texts[query_id]
        searched = text if lexical_query is None else lexical_query(text)
        runs = {
            LEXICAL: lexical.search(searched, k=depth, filters=filters),
            DENSE: found[row],
        }
        runs[HYBRID] = fusion.fuse(runs[LEXICAL], runs[DENSE])
        for name, retrieve in (more or {}).items():
            runs[name] = retrieve(text)
        out[query_id] = QueryInput(text, vectors[row], runs)
    return out


class TextRetriever(Protocol):
    """Any further first-stage retriever searched by the query's text (character n-grams)."""

    def search(self, query: str, *, k: int) -> Candidates: ...


def _more_runs(
    more: Mapping[str, TextRetriever], depth: int
) -> dict[str, Callable[[str], Candidates]]:
    def searcher(retriever: TextRetriever) -> Callable[[str], Candidates]:
        return lambda text: retriever.search(text, k=depth)

    return {name: searcher(r) for name, r in more.items()}


@dataclass(frozen=True)
class FittedSecondStage:
    """A second stage trained on a dataset's judgments, with what it needs to re-rank
    more queries of that catalog (its item side, the indexes and the fusion)."""

    stage: SecondStage
    report: TrainingReport
    side: ItemSide
    search: HybridRetriever
    fusion: Fusion
    valid_source: str  # "from the data" or "carved from train"
    more: Mapping[str, TextRetriever] = field(default_factory=dict)
    valid_ids: tuple[str, ...] = ()  # the queries it stopped on (a later stage's choices too)

    def rerank(
        self, encoder: TextEncoder, texts: Mapping[str, str], *, k: int = 100
    ) -> dict[str, Candidates]:
        """The top `k` of each query's re-ranked union, by query id."""
        inputs = first_stage_inputs(
            texts,
            encoder.encode_queries(list(texts.values())),
            lexical=self.search.lexical,
            dense=self.search.dense,
            fusion=self.fusion,
            depth=self.stage.config.depth,
            more=_more_runs(self.more, self.stage.config.depth),
            lexical_query=self.search.lexical_query,
        )
        return {q: self.stage.rerank(query, self.side, k=k) for q, query in inputs.items()}


def fit_second_stage(
    catalog: Catalog,
    item_vectors: NDArray[np.float32],
    encoder: TextEncoder,
    search: HybridRetriever,
    fusion: Fusion,
    judgments: pl.DataFrame,
    query_texts: Mapping[str, str],
    *,
    config: SecondStageConfig | None = None,
    more: Mapping[str, TextRetriever] | None = None,
    valid_share: float = 0.1,
    seed: int = 0,
) -> FittedSecondStage:
    """Train on the `judgments` rows split "train", stop early on those split "valid"; with
    no valid query, a seeded `valid_share` of the train queries (at least one) is carved
    out for it. The test rows are never read. BM25 searches `search.lexical_query` of each
    query (spell-corrected when the retriever has a speller), as the hybrid does. `more`
    names further retrievers whose top `config.depth` join the union (and whose scores and
    ranks are features: the default config lists them after lexical, dense and hybrid)."""
    more = dict(more or {})
    config = config or SecondStageConfig(runs=(*SecondStageConfig().runs, *more), seed=seed)
    if absent := [name for name in more if name not in config.runs]:
        raise ValueError(f"the config's runs {config.runs} lack the retrievers {absent}")
    source = "from the data"
    if judgments.filter(pl.col("split") == Split.VALID.value).is_empty():
        # one to learn from is enough for a ranker (the encoder's carving keeps 2)
        carved, _ = carve_valid_queries(
            Judgments(judgments), share=valid_share, seed=seed, min_train_left=1
        )
        judgments, source = carved.frame, "carved from train"
    train_ids = sorted(judgments.filter(pl.col("split") == Split.TRAIN.value)["query_id"].unique())
    valid_ids = sorted(judgments.filter(pl.col("split") == Split.VALID.value)["query_id"].unique())
    seen = judgments.filter(pl.col("query_id").is_in([*train_ids, *valid_ids]))
    graded: dict[str, dict[str, float]] = {}
    for query_id, item_id, grade in seen.select("query_id", "item_id", "grade").iter_rows():
        graded.setdefault(str(query_id), {})[str(item_id)] = float(grade)
    side = ItemSide.build(catalog, item_vectors)

    def inputs(ids: list[str]) -> dict[str, QueryInput]:
        texts = {q: query_texts[q] for q in ids}
        return first_stage_inputs(
            texts,
            encoder.encode_queries(list(texts.values())),
            lexical=search.lexical,
            dense=search.dense,
            fusion=fusion,
            depth=config.depth,
            more=_more_runs(more, config.depth),
            lexical_query=search.lexical_query,
        )

    stage, report = train_second_stage(
        inputs(train_ids), inputs(valid_ids), graded, side, config=config
    )
    # what made the run features, so a later search rebuilds them the same way
    speller = search.speller
    expanded = speller is not None and speller.params.abbreviations
    first = FirstStageSettings(fusion, speller is not None, encoder.name, expanded)
    stage = SecondStage(stage.booster, stage.config, stage.labels, first)
    return FittedSecondStage(stage, report, side, search, fusion, source, more, tuple(valid_ids))


class RerankedSearch:
    """A hybrid retriever whose union of candidates a trained second stage re-orders: the
    search a service or `paretorec search` runs when the index folder holds one
    (``SECOND_STAGE_FOLDER``). Same `search` call as `HybridRetriever`, filters included:
    each run is the best `depth` of the items that pass, so the union the model orders
    holds only those. After the index's items change, `side` must take the same changes
    (`ItemSide.update` / `ItemSide.remove`, what the service does).

    The runs are rebuilt as the model was trained on them (`SecondStage.first_stage`): its
    fusion, whatever `retriever.fusion` is, and BM25 on spell-corrected queries only when
    it was trained so. `encoder` names the encoder of the query and item vectors given;
    another encoder than the model's, an index without the speller the model was trained
    with, or a model that records no first stage is refused (one-line ValueError)."""

    def __init__(
        self, retriever: HybridRetriever, stage: SecondStage, side: ItemSide, *, encoder: str
    ) -> None:
        extra = [r for r in stage.config.runs if r not in (LEXICAL, DENSE, HYBRID)]
        if extra:
            raise ValueError(
                f"the second stage reads the runs {extra}, which a hybrid index does not "
                "serve: retrain it without them (eval search without --char-ngrams)"
            )
        first = stage.first_stage
        if first is None:
            raise ValueError(
                "the second stage records no first-stage settings (fusion, spelling, "
                "encoder), so its features cannot be rebuilt as trained: retrain it"
            )
        if first.encoder != encoder:
            raise ValueError(
                f"the second stage was trained on the encoder {first.encoder!r}, the search "
                f"uses {encoder!r}: search with the model it was trained on, or retrain it"
            )
        if first.spelling and retriever.speller is None:
            raise ValueError(
                "the second stage was trained on spell-corrected BM25 queries (spelling on), "
                "the index has no spell corrector (spelling off): rebuild the index with "
                "--spelling or retrain with --no-spelling"
            )
        # the expansion is switched per query to what the model was trained with; only a
        # speller saved before it existed (no item postings to choose by) cannot do it
        speller = retriever.speller
        if first.abbreviations and speller is not None and not speller.has_documents():
            raise ValueError(
                "the second stage was trained with abbreviation expansion, the index's spell "
                "corrector was saved before it existed: rebuild the index"
            )
        if len(side) != len(retriever.lexical.item_ids):
            raise ValueError(
                f"the second stage's item side holds {len(side)} items, the index "
                f"{len(retriever.lexical.item_ids)}: build both from the same catalog"
            )
        self.retriever = retriever
        self.stage = stage
        self.side = side
        self.first_stage = first

    @classmethod
    def load(
        cls,
        index_folder: str | Path,
        retriever: HybridRetriever,
        catalog: Catalog,
        vectors: NDArray[np.float32],
        *,
        encoder: str,
    ) -> RerankedSearch:
        """The second stage saved in `index_folder`/``second_stage``, over `retriever` (the
        index loaded from that folder), `catalog` and its item vectors (rows aligned), made
        by the encoder named `encoder`."""
        if catalog.item_ids.to_list() != retriever.lexical.item_ids:
            raise ValueError("the catalog's items are not the index's: rebuild the index")
        stage = SecondStage.load(Path(index_folder) / SECOND_STAGE_FOLDER)
        return cls(retriever, stage, ItemSide.build(catalog, vectors), encoder=encoder)

    def search(
        self,
        query: str,
        query_vector: NDArray[np.float32],
        *,
        k: int | None = 10,
        depth: int | None = None,
        filters: Filters | None = None,
    ) -> Candidates:
        """The top `k` (None: all) of the union of each run's best `depth` (default: the
        depth the model was trained at) items that pass `filters`, ordered by the second
        stage. A depth other than the trained one changes the union and so the rank and
        agreement features too; so do filters (ranks, gaps and the agreement with the top
        hits are then among the passing items, as on a catalog of those items only)."""
        found = first_stage_inputs(
            {"": query},
            np.asarray(query_vector, dtype=np.float32)[None, :],
            lexical=self.retriever.lexical,
            dense=self.retriever.dense,
            fusion=self.first_stage.fusion,
            depth=self.stage.config.depth if depth is None else depth,
            lexical_query=self._lexical_query if self.first_stage.spelling else None,
            filters=filters,
        )
        return self.stage.rerank(found[""], self.side, k=k)

    def _lexical_query(self, query: str | bytes) -> str | bytes:
        """BM25's query as the model was trained on it: expanded or not, whatever the
        index's speller does by default."""
        return self.retriever.lexical_query(query, abbreviations=self.first_stage.abbreviations)
