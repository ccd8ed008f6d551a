"""Ranker features for (context, item) pairs: logged exposures or fresh candidates.

Every row is one (user, query, item) pair. It gets:

- hashed ids (`ID_FIELDS`): user, item, query text, category path, brand, seller, each
  hashed (BLAKE2b, stable across runs and machines) into `n_buckets` buckets, bucket 0
  meaning missing;
- text vectors from the text encoder (`paretorec.encode`): the item's text, the query's
  text, and the user as the mean of the items she was exposed to in the history
  (`user_vectors`; a user without history gets a zero vector and `has_history` = 0);
- dense features (`FeatureSpec.dense_names`): log price, margin rate, in stock, item
  popularity (log of exposures relative to the mean item, so the scale does not depend
  on the log's length), whether the user has history and, with an encoder, the
  retrieval scores: cosine(query, item), the dense retriever's score, and
  cosine(user, item); then any numeric item columns beyond the contract (`item:<name>`)
  and requested event columns (`event:<name>`);
- the position the item was logged at (0 where unknown, clipped to `max_position`).

Only exposures feed popularity and user vectors, never clicks or purchases, so no
label reaches the features through them; for logged data only the train split counts.

At serving time there is no logging position: candidates get position 1 (where the
training log had positions), the standard position-bias trick: the model learns the
position effect from the position feature in training, and every candidate is then
scored as if shown at the top, so the scores compare items, not the slots they were
logged in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.encode import ColdStart, TextEncoder, encode_items_cached, item_text, user_vectors
from paretorec.rank.samples import logged_samples
from paretorec.types import Catalog, Dataset, Split

ID_FIELDS = ("user", "item", "query", "category", "brand", "seller")
TEXT_FIELDS = ("item", "user", "query")
CONTRACT_ITEM_COLUMNS = frozenset(
    {"item_id", "title", "description", "category", "brand", "price", "cost", "stock",
     "seller_id", "created_at"}
)  # fmt: skip
BASE_DENSE = ("log_price", "margin_rate", "in_stock", "log_popularity", "has_history")
TEXT_DENSE = ("has_query", "cos_query_item", "cos_user_item")
DEFAULT_BUCKETS = 1 << 15
DEFAULT_MAX_POSITION = 20

FloatArray = NDArray[np.float32]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class FeatureSpec:
    """What the features look like; a model is built for one spec and refuses another."""

    n_buckets: int
    text_dimension: int  # 0: no text encoder
    dense_names: tuple[str, ...]
    max_position: int
    serving_position: int  # 1 where training had positions, else 0 (unknown)
    base_event: str
    id_fields: tuple[str, ...] = ID_FIELDS
    text_fields: tuple[str, ...] = TEXT_FIELDS
    encoder_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "n_buckets": self.n_buckets,
            "text_dimension": self.text_dimension,
            "dense_names": list(self.dense_names),
            "max_position": self.max_position,
            "serving_position": self.serving_position,
            "base_event": self.base_event,
            "id_fields": list(self.id_fields),
            "text_fields": list(self.text_fields),
            "encoder_name": self.encoder_name,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FeatureSpec:
        return cls(
            n_buckets=int(raw["n_buckets"]),
            text_dimension=int(raw["text_dimension"]),
            dense_names=tuple(str(x) for x in raw["dense_names"]),
            max_position=int(raw["max_position"]),
            serving_position=int(raw["serving_position"]),
            base_event=str(raw["base_event"]),
            id_fields=tuple(str(x) for x in raw["id_fields"]),
            text_fields=tuple(str(x) for x in raw["text_fields"]),
            encoder_name=None if raw.get("encoder_name") is None else str(raw["encoder_name"]),
        )


@dataclass(frozen=True)
class RankerFeatures:
    """Features of n rows; `labels` and `split` only for logged data.

    Text vectors are stored once per distinct item, user and query in `text_table`;
    `text_index[:, j]` is the row of field `spec.text_fields[j]` (-1: none).
    """

    spec: FeatureSpec
    ids: IntArray  # (n, len(id_fields)) buckets
    dense: FloatArray  # (n, len(dense_names)) raw values (the model standardizes)
    position: IntArray  # (n,) 0 unknown, else 1..max_position
    text_index: IntArray  # (n, len(text_fields))
    text_table: FloatArray  # (m, text_dimension)
    keys: pl.DataFrame  # user_id, item_id, query (text) and, when logged, session_id, base_row
    labels: Mapping[str, NDArray[np.float32]] = field(default_factory=dict)
    split: NDArray[np.str_] | None = None

    def __post_init__(self) -> None:
        n = self.ids.shape[0]
        shapes = {
            "ids": (self.ids.shape, (n, len(self.spec.id_fields))),
            "dense": (self.dense.shape, (n, len(self.spec.dense_names))),
            "position": (self.position.shape, (n,)),
            "text_index": (self.text_index.shape, (n, len(self.spec.text_fields))),
        }
        for name, (got, want) in shapes.items():
            if got != want:
                raise ValueError(f"features: {name} has shape {got}, expected {want}")
        if self.text_table.ndim != 2 or self.text_table.shape[1] != self.spec.text_dimension:
            raise ValueError(
                f"features: text_table has shape {self.text_table.shape}, expected "
                f"(m, {self.spec.text_dimension})"
            )
        for task, y in self.labels.items():
            if y.shape != (n,):
                raise ValueError(f"features: label '{task}' has shape {y.shape}, expected ({n},)")

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(self.labels)

    def subset(self, rows: NDArray[np.int64] | NDArray[np.bool_]) -> RankerFeatures:
        """The given rows (an index array or a boolean mask)."""
        index = np.flatnonzero(rows) if rows.dtype == np.bool_ else np.asarray(rows)
        return RankerFeatures(
            spec=self.spec,
            ids=self.ids[index],
            dense=self.dense[index],
            position=self.position[index],
            text_index=self.text_index[index],
            text_table=self.text_table,
            keys=self.keys[index],
            labels={t: y[index] for t, y in self.labels.items()},
            split=None if self.split is None else self.split[index],
        )

    def in_split(self, split: Split) -> RankerFeatures:
        if self.split is None:
            raise ValueError("these features have no split (candidate features are not logged)")
        return self.subset(self.split == split.value)


def hash_bucket(value: str | None, n_buckets: int) -> int:
    """Stable bucket in 1..n_buckets-1 of a text (BLAKE2b); 0 for None."""
    if value is None:
        return 0
    digest = hashlib.blake2b(value.encode(), digest_size=8).digest()
    return 1 + int.from_bytes(digest, "little") % (n_buckets - 1)


def hash_buckets(values: pl.Series, n_buckets: int) -> IntArray:
    """`hash_bucket` of each value's text; 0 for null."""
    if n_buckets < 2:
        raise ValueError(f"n_buckets must be at least 2, got {n_buckets}")
    text = values.cast(pl.String)
    mapping = {v: hash_bucket(v, n_buckets) for v in text.drop_nulls().unique().to_list()}
    out: IntArray = (
        text.replace_strict(mapping, default=0, return_dtype=pl.Int64).fill_null(0).to_numpy()
    )
    return out


def normalized_query(text: str | None) -> str | None:
    """A query as the features read it: stripped, lower case, None when empty."""
    if text is None:
        return None
    cleaned = text.strip().lower()
    return cleaned or None


def _normalized_query(texts: pl.Series) -> pl.Series:
    cleaned = texts.cast(pl.String).str.strip_chars().str.to_lowercase()
    return cleaned.replace("", None)


@dataclass(frozen=True)
class _TextInputs:
    encoder: TextEncoder | None
    item_vectors: NDArray[np.floating] | None  # aligned with the catalog's rows
    cache_dir: Path | None


def build_ranker_features(
    dataset: Dataset,
    *,
    encoder: TextEncoder | None = None,
    item_vectors: NDArray[np.floating] | None = None,
    cache_dir: Path | None = None,
    extra_item_columns: tuple[str, ...] | None = None,
    extra_event_columns: tuple[str, ...] = (),
    n_buckets: int = DEFAULT_BUCKETS,
    max_position: int = DEFAULT_MAX_POSITION,
    valid_fraction: float = 0.1,
    test_fraction: float = 0.2,
    check_leakage: bool = True,
    on_progress: Callable[[int], None] | None = None,
) -> RankerFeatures:
    """Features and funnel labels of every logged exposure of `dataset` (see
    `paretorec.rank.samples` for exposures, labels and the split).

    Text vectors come from `item_vectors` (one row per catalog item, e.g. precomputed)
    or `encoder` (through the embedding cache in `cache_dir` where given); with neither
    there are no text features. `extra_item_columns` None takes every numeric item
    column beyond the contract. Unless `check_leakage` is False, features that predict
    a label on their own are refused (`LabelLeakageError`).
    """
    if dataset.events is None:
        raise ValueError(f"dataset '{dataset.name}' has no events table: nothing to learn from")
    samples = logged_samples(
        dataset.events,
        valid_fraction=valid_fraction,
        test_fraction=test_fraction,
        extra_columns=extra_event_columns,
    )
    frame = samples.frame
    query_text = _logged_query_text(dataset, frame)
    history = frame.filter(pl.col("split") == Split.TRAIN.value).select("user_id", "item_id")
    has_position = frame["position"].null_count() < frame.height
    spec_dense = _dense_names(
        dataset.items, extra_item_columns, extra_event_columns, encoder, item_vectors
    )
    features = _assemble(
        dataset.items,
        rows=pl.DataFrame(
            {
                "user_id": frame["user_id"],
                "item_id": frame["item_id"],
                "query": query_text,
            }
        ),
        positions=frame["position"],
        event_values={c: frame[c] for c in extra_event_columns},
        history=history,
        dense_names=spec_dense,
        text=_TextInputs(encoder, item_vectors, cache_dir),
        n_buckets=n_buckets,
        max_position=max_position,
        serving_position=1 if has_position else 0,
        base_event=samples.base_event.value,
        keys_extra=frame.select("session_id", "base_row", "time"),
        labels=samples.labels(),
        split=frame["split"].to_numpy().astype(np.str_),
        on_progress=on_progress,
    )
    if check_leakage:
        from paretorec.rank.leakage import check_label_leakage

        check_label_leakage(features)
    return features


def build_candidate_features(
    dataset: Dataset,
    spec: FeatureSpec,
    *,
    item_ids: Sequence[str],
    user_ids: Sequence[str | None] | None = None,
    query_texts: Sequence[str | None] | None = None,
    encoder: TextEncoder | None = None,
    item_vectors: NDArray[np.floating] | None = None,
    cache_dir: Path | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RankerFeatures:
    """Features of arbitrary (user, query, item) pairs for a ranker trained with `spec`:
    candidates from retrieval or from the simulator, never logged.

    `dataset` gives the catalog and the history (its exposures: popularity and user
    vectors). `user_ids` and `query_texts`, where given, have one entry per item (None:
    anonymous user / browsing). Every pair gets the serving position (see the module
    docstring). The encoder must be the one the ranker was trained with.
    """
    n = len(item_ids)
    users = [None] * n if user_ids is None else list(user_ids)
    queries = [None] * n if query_texts is None else list(query_texts)
    if len(users) != n or len(queries) != n:
        raise ValueError(
            f"user_ids ({len(users)}) and query_texts ({len(queries)}) must have one entry "
            f"per item ({n})"
        )
    check_candidate_spec(spec)
    wants_text = spec.text_dimension > 0
    if wants_text and encoder is None and item_vectors is None:
        raise ValueError("the ranker was trained with text features: pass the encoder it used")
    if not wants_text:
        encoder, item_vectors = None, None
    if encoder is not None and spec.encoder_name is not None and encoder.name != spec.encoder_name:
        raise ValueError(
            f"the ranker was trained with encoder '{spec.encoder_name}', got '{encoder.name}'"
        )
    history = pl.DataFrame(
        {"user_id": [], "item_id": []}, schema={"user_id": pl.String, "item_id": pl.String}
    )
    if dataset.events is not None:
        history = dataset.events.frame.filter(pl.col("event") == spec.base_event).select(
            "user_id", "item_id"
        )
    item_columns = tuple(d.removeprefix("item:") for d in spec.dense_names if d.startswith("item:"))
    dense_names = _dense_names(dataset.items, item_columns, (), encoder, item_vectors)
    if dense_names != spec.dense_names:
        raise ValueError(
            f"these candidates give features {list(dense_names)}, the ranker expects "
            f"{list(spec.dense_names)}"
        )
    return _assemble(
        dataset.items,
        rows=pl.DataFrame(
            {"user_id": users, "item_id": list(item_ids), "query": queries},
            schema={"user_id": pl.String, "item_id": pl.String, "query": pl.String},
        ),
        positions=pl.Series("position", [spec.serving_position or None] * n, dtype=pl.Int64),
        event_values={},
        history=history,
        dense_names=spec.dense_names,
        text=_TextInputs(encoder, item_vectors, cache_dir),
        n_buckets=spec.n_buckets,
        max_position=spec.max_position,
        serving_position=spec.serving_position,
        base_event=spec.base_event,
        keys_extra=None,
        labels={},
        split=None,
        on_progress=on_progress,
    )


def check_candidate_spec(spec: FeatureSpec) -> None:
    """Refuse a spec whose features fresh candidates cannot have (logged event columns)."""
    event_features = [d for d in spec.dense_names if d.startswith("event:")]
    if event_features:
        raise ValueError(
            f"the ranker was trained with logged event feature(s) {event_features}, which "
            "candidates do not have: train without extra_event_columns to serve candidates"
        )


def _logged_query_text(dataset: Dataset, frame: pl.DataFrame) -> pl.Series:
    ids = frame.select("query_id")
    if dataset.queries is not None:
        texts = dataset.queries.frame.select(
            pl.col("query_id").cast(pl.String), pl.col("text").alias("query")
        )
        joined = ids.join(texts, on="query_id", how="left", maintain_order="left")
        return joined.select(pl.coalesce("query", "query_id").alias("query"))["query"]
    return ids["query_id"].alias("query")


def _numeric_item_columns(catalog: Catalog) -> tuple[str, ...]:
    return tuple(
        c
        for c, dtype in catalog.frame.schema.items()
        if c not in CONTRACT_ITEM_COLUMNS and dtype.is_numeric()
    )


def _dense_names(
    catalog: Catalog,
    item_columns: tuple[str, ...] | None,
    event_columns: tuple[str, ...],
    encoder: TextEncoder | None,
    item_vectors: NDArray[np.floating] | None,
) -> tuple[str, ...]:
    columns = _numeric_item_columns(catalog) if item_columns is None else item_columns
    missing = [c for c in columns if c not in catalog.frame.columns]
    if missing:
        raise ValueError(f"items lack the requested feature column(s): {', '.join(missing)}")
    text = TEXT_DENSE if (encoder is not None or item_vectors is not None) else ()
    return (
        *BASE_DENSE,
        *text,
        *(f"item:{c}" for c in columns),
        *(f"event:{c}" for c in event_columns),
    )


def _item_table(catalog: Catalog) -> pl.DataFrame:
    frame = catalog.frame.with_row_index("__catalog_row")
    for column, dtype in (("price", pl.Float64), ("cost", pl.Float64), ("stock", pl.Int64)):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(column))
    for column in ("category", "brand", "seller_id"):
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    return frame


def _assemble(
    catalog: Catalog,
    *,
    rows: pl.DataFrame,
    positions: pl.Series,
    event_values: Mapping[str, pl.Series],
    history: pl.DataFrame,
    dense_names: tuple[str, ...],
    text: _TextInputs,
    n_buckets: int,
    max_position: int,
    serving_position: int,
    base_event: str,
    keys_extra: pl.DataFrame | None,
    labels: Mapping[str, NDArray[np.float32]],
    split: NDArray[np.str_] | None,
    on_progress: Callable[[int], None] | None,
) -> RankerFeatures:
    if max_position < 1:
        raise ValueError(f"max_position must be at least 1, got {max_position}")
    items = _item_table(catalog)
    rows = rows.with_columns(pl.col("item_id").cast(pl.String), pl.col("user_id").cast(pl.String))
    joined = rows.join(
        items.with_columns(pl.col("item_id").cast(pl.String)),
        on="item_id",
        how="left",
        maintain_order="left",
    )
    unknown = joined.filter(pl.col("__catalog_row").is_null())["item_id"]
    if unknown.len():
        raise ValueError(
            f"{unknown.len()} row(s) name items that are not in the catalog, e.g. '{unknown[0]}'"
        )
    query = _normalized_query(joined["query"])
    ids = np.stack(
        [
            hash_buckets(joined["user_id"], n_buckets),
            hash_buckets(joined["item_id"], n_buckets),
            hash_buckets(query, n_buckets),
            hash_buckets(joined["category"], n_buckets),
            hash_buckets(joined["brand"], n_buckets),
            hash_buckets(joined["seller_id"], n_buckets),
        ],
        axis=1,
    )
    catalog_row = joined["__catalog_row"].to_numpy().astype(np.int64)
    dense: dict[str, NDArray[np.float64]] = _base_dense(joined, history, catalog)
    text_index = np.full((rows.height, len(TEXT_FIELDS)), -1, dtype=np.int64)
    table = np.zeros((0, 0), dtype=np.float32)
    if "cos_query_item" in dense_names:
        table, text_index, cosines = _text_features(
            catalog, items, catalog_row, joined["user_id"], query, history, text, on_progress
        )
        dense.update(cosines)
    for name in dense_names:
        if name.startswith("item:"):
            dense[name] = (
                joined[name.removeprefix("item:")].cast(pl.Float64).fill_null(0.0).to_numpy()
            )
        elif name.startswith("event:"):
            dense[name] = (
                event_values[name.removeprefix("event:")].cast(pl.Float64).fill_null(0.0).to_numpy()
            )
    matrix = np.stack([dense[name] for name in dense_names], axis=1).astype(np.float32)
    position = positions.cast(pl.Int64).fill_null(0).to_numpy().astype(np.int64)
    position = np.clip(position, 0, max_position)
    keys = pl.DataFrame(
        {"user_id": joined["user_id"], "item_id": joined["item_id"], "query": query}
    )
    if keys_extra is not None:
        keys = pl.concat([keys, keys_extra], how="horizontal")
    spec = FeatureSpec(
        n_buckets=n_buckets,
        text_dimension=int(table.shape[1]),
        dense_names=dense_names,
        max_position=max_position,
        serving_position=serving_position,
        base_event=base_event,
        encoder_name=None if text.encoder is None else text.encoder.name,
    )
    return RankerFeatures(
        spec=spec,
        ids=ids,
        dense=matrix,
        position=position,
        text_index=text_index,
        text_table=table,
        keys=keys,
        labels=dict(labels),
        split=split,
    )


def item_dense(
    price: NDArray[np.float64], cost: NDArray[np.float64], stock: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """The item-side dense features from float columns (NaN: missing): log price, margin
    rate (price - cost) / price in [-1, 1] (0 where either is missing), in stock (stock
    > 0; an unknown stock counts as in stock). Training and serving both call this."""
    # a zero or subnormal price overflows the ratio: the clip below bounds it anyway
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        margin = (price - cost) / price
    return {
        "log_price": np.log1p(np.clip(np.nan_to_num(price, nan=0.0), 0.0, None)),
        "margin_rate": np.where(np.isnan(margin), 0.0, np.clip(margin, -1.0, 1.0)),
        "in_stock": (np.where(np.isnan(stock), 1.0, stock) > 0).astype(np.float64),
    }


def popularity_scale(counts: Sequence[int]) -> float:
    """The mean exposure count of the items exposed at least once (1 without any): item
    popularity is log1p(count / scale), so its scale does not depend on the log's length."""
    return float(np.mean(counts)) if len(counts) and float(np.mean(counts)) > 0 else 1.0


def _base_dense(
    joined: pl.DataFrame, history: pl.DataFrame, catalog: Catalog
) -> dict[str, NDArray[np.float64]]:
    counts = history.group_by("item_id").len()
    popularity = (
        joined.select("item_id")
        .join(counts, on="item_id", how="left", maintain_order="left")["len"]
        .fill_null(0)
        .cast(pl.Float64)
    )
    scale = popularity_scale(counts["len"].to_list())
    users_with_history = set(history["user_id"].unique().to_list())
    return {
        **item_dense(
            joined["price"].cast(pl.Float64).to_numpy(),
            joined["cost"].cast(pl.Float64).to_numpy(),
            joined["stock"].cast(pl.Float64).to_numpy(),
        ),
        "log_popularity": np.log1p(popularity.to_numpy() / scale),
        "has_history": joined["user_id"]
        .is_in(list(users_with_history))
        .fill_null(False)
        .cast(pl.Float64)
        .to_numpy(),
    }


def _encode_items(
    catalog: Catalog, items: pl.DataFrame, rows: IntArray, text: _TextInputs,
    on_progress: Callable[[int], None] | None,
) -> NDArray[np.float32]:  # fmt: skip
    if text.item_vectors is not None:
        vectors = np.asarray(text.item_vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(catalog):
            raise ValueError(
                f"item_vectors must have one row per catalog item ({len(catalog)}), "
                f"got shape {vectors.shape}"
            )
        out: NDArray[np.float32] = vectors[rows]
        return out
    assert text.encoder is not None
    texts = item_text(Catalog(items[rows.tolist()].drop("__catalog_row")))
    if text.cache_dir is not None:
        return encode_items_cached(text.encoder, texts, text.cache_dir, on_progress=on_progress)
    vectors = text.encoder.encode_items(texts)
    if on_progress is not None:
        on_progress(len(rows))
    return vectors


def _text_features(
    catalog: Catalog,
    items: pl.DataFrame,
    catalog_row: IntArray,
    user_ids: pl.Series,
    query: pl.Series,
    history: pl.DataFrame,
    text: _TextInputs,
    on_progress: Callable[[int], None] | None,
) -> tuple[NDArray[np.float32], IntArray, dict[str, NDArray[np.float64]]]:
    """Item, user and query vectors (each distinct one once) and the two cosines."""
    id_to_row = dict(
        zip(items["item_id"].cast(pl.String).to_list(), range(items.height), strict=True)
    )
    history_rows = np.asarray(
        [id_to_row.get(i, -1) for i in history["item_id"].cast(pl.String).to_list()], dtype=np.int64
    )
    history = history.with_columns(pl.Series("__row", history_rows)).filter(pl.col("__row") >= 0)
    needed = np.unique(np.concatenate([catalog_row, history["__row"].to_numpy()]))
    item_vecs = _encode_items(catalog, items, needed, text, on_progress)
    local = np.full(items.height, -1, dtype=np.int64)
    local[needed] = np.arange(needed.size)
    # users: the mean of the items they were exposed to in the history
    users = user_ids.fill_null("").unique(maintain_order=True).to_list()
    user_pos = {u: i for i, u in enumerate(users)}
    h_user = np.asarray([user_pos.get(u, -1) for u in history["user_id"].cast(pl.String).to_list()])
    keep = h_user >= 0
    csr = sp.csr_array(
        (np.ones(int(keep.sum())), (h_user[keep], local[history["__row"].to_numpy()[keep]])),
        shape=(len(users), needed.size),
    )
    csr.sum_duplicates()
    user_vecs = user_vectors(item_vecs, csr, cold_start=ColdStart.ZERO).vectors
    queries = query.drop_nulls().unique(maintain_order=True).to_list()
    dim = item_vecs.shape[1]
    query_vecs = (
        text.encoder.encode_queries(queries)
        if text.encoder is not None and queries
        else np.zeros((len(queries), dim), dtype=np.float32)
    )
    if text.encoder is None and queries:
        raise ValueError(
            "query texts need the text encoder (item_vectors alone cannot encode them)"
        )
    q_pos = {q: i for i, q in enumerate(queries)}
    item_index = local[catalog_row]
    user_index = np.asarray([user_pos[u] for u in user_ids.fill_null("").to_list()], dtype=np.int64)
    query_index = np.asarray(
        [-1 if q is None else q_pos[q] for q in query.to_list()], dtype=np.int64
    )
    table = np.concatenate([item_vecs, user_vecs, query_vecs]).astype(np.float32)
    offsets = (0, item_vecs.shape[0], item_vecs.shape[0] + user_vecs.shape[0])
    text_index = np.stack(
        [
            item_index + offsets[0],
            user_index + offsets[1],
            np.where(query_index >= 0, query_index + offsets[2], -1),
        ],
        axis=1,
    )
    iv = item_vecs[item_index].astype(np.float64)
    cos_user = np.einsum("nd,nd->n", user_vecs[user_index].astype(np.float64), iv)
    has_query = query_index >= 0
    cos_query = np.zeros(len(item_index))
    if has_query.any():
        cos_query[has_query] = np.einsum(
            "nd,nd->n", query_vecs[query_index[has_query]].astype(np.float64), iv[has_query]
        )
    cosines = {
        "has_query": has_query.astype(np.float64),
        "cos_query_item": cos_query,
        "cos_user_item": cos_user,
    }
    return table, text_index, cosines


__all__ = [
    "DEFAULT_BUCKETS",
    "DEFAULT_MAX_POSITION",
    "ID_FIELDS",
    "TEXT_FIELDS",
    "FeatureSpec",
    "RankerFeatures",
    "build_candidate_features",
    "build_ranker_features",
    "check_candidate_spec",
    "hash_bucket",
    "hash_buckets",
    "normalized_query",
]
