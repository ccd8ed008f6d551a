"""Features of (query, candidate item) pairs for the learned second stage of search.

The layout is defined here once and read by training and serving alike (`feature_names`).
Item-side arrays (tokens, numbers with units, normalized vectors, idf, category, popularity)
are prepared once per catalog by `ItemSide.build`; only the query side is computed per
request. A candidate is named by its position in the retrievers' item table, which is its
row in the catalog the indexes were built from, then the position the table gives an item
added later. `ItemSide.update` and `ItemSide.remove` take the catalog's changes item by item
(the changed items' arrays and the idf's document counts), so the features read as on an
item side built afresh from the current catalog (save a brand, description or category
column the first catalog lacked: it stays absent, see `update`).

For a query with tokens Q (`tokenize_product_text`, the lexical index's tokenizer, so
``18 volt`` and ``18V`` meet) and an item with tokens T:

- per first-stage run r (in the configured order): ``r:score`` (NaN where r did not return
  the item), ``r:rank`` (1-based; `MISSING_RANK` where absent), ``r:gap`` (the run's top
  score minus this item's; NaN where absent);
- ``cosine`` (query and item vectors, for every candidate, retrieved densely or not) and
  ``cosine_gap`` (the union's best cosine minus this one);
- ``coverage`` = |Q ∩ T| / |Q|, ``idf_coverage`` (the same weighted by the catalog's idf),
  ``missing`` = |Q \\ T|, ``soft_coverage`` (a query word also counts when an item word
  shares a prefix of at least max(4, len - 2) letters with it: ``cordles`` ~ ``cordless``),
  ``bigram_coverage`` (adjacent query token pairs found adjacent in the item; NaN under
  two tokens), ``first_token_match`` (the item's first title token is in Q: a brand in
  most shop titles), ``last_word_match`` (the query's last word, most often the kind of
  product in "cordless drill", is in T; NaN without words), ``brand_match`` / ``description_coverage`` (NaN where the catalog
  lacks the column);
- numbers and units: ``number_coverage`` (query tokens that start with a digit found in T;
  NaN without any), ``unit_match`` (number+unit tokens such as ``18v`` found),
  ``unit_conflict`` (query number+unit tokens where the item states the same unit with
  other numbers only: ``18v`` against a ``12v`` item), ``model_coverage`` (letter+digit
  tokens such as ``dw745``; NaN without any);
- agreement with the query's top hits (pseudo relevance feedback): ``prf_cosine`` (item
  vector against the mean vector of the `prf_depth` best items of the `prf_run`),
  ``prf_terms`` (mean share of those items holding each of the item's tokens),
  ``category_agreement`` (share of them in the item's category; NaN without categories);
- ``popularity`` (log1p of the item's count, NaN where the data has none), and lengths:
  ``query_tokens``, ``item_tokens``.

``popularity`` is NaN everywhere today: no caller passes counts to `ItemSide.build`
(`eval search`, `paretorec search`, the service and the benchmarks build the item side
from the catalog alone, and Home Depot has no counts), so LightGBM never splits on it. It
stays in the layout because saved models are checked against the layout (dropping it would
refuse every saved model) and a caller with purchase or click counts can fill it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import polars as pl
from numpy.typing import ArrayLike, NDArray

from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.dense import normalize_rows
from paretorec.retrieve.lexical import DEFAULT_FIELDS, item_texts
from paretorec.retrieve.tokenize import UNITS, tokenize_product_text
from paretorec.types import Catalog

__all__ = [
    "MISSING_RANK",
    "ItemSide",
    "PairFeatures",
    "QueryInput",
    "feature_names",
    "pair_features",
]

MISSING_RANK = 10_000.0  # a rank past any retriever's depth: "this run did not return it"
_UNIT_NAMES = frozenset(UNITS.values()) | {"sqft", "cuft"}
_UNIT_TOKEN = re.compile(r"^(\d[\d./-]*)([a-z]+)$")
_TEXT_FEATURES = (
    "cosine",
    "cosine_gap",
    "coverage",
    "idf_coverage",
    "missing",
    "soft_coverage",
    "bigram_coverage",
    "first_token_match",
    "last_word_match",
    "brand_match",
    "description_coverage",
    "number_coverage",
    "unit_match",
    "unit_conflict",
    "model_coverage",
    "prf_cosine",
    "prf_terms",
    "category_agreement",
    "popularity",
    "query_tokens",
    "item_tokens",
)


def feature_names(runs: Sequence[str]) -> tuple[str, ...]:
    """The feature layout for first-stage runs named `runs` (in that order)."""
    per_run = tuple(f"{r}:{what}" for r in runs for what in ("score", "rank", "gap"))
    return per_run + _TEXT_FEATURES


def _unit_of(token: str) -> tuple[str, str] | None:
    """(number, unit) of a joined token such as ``18v`` or ``1/2in``, else None."""
    found = _UNIT_TOKEN.match(token)
    if found is None or found.group(2) not in _UNIT_NAMES:
        return None
    return found.group(1), found.group(2)


def _is_model(token: str) -> bool:
    return (
        any(c.isdigit() for c in token) and any(c.isalpha() for c in token) and not _unit_of(token)
    )


def _prefix_match(word: str, tokens: frozenset[str]) -> bool:
    """Whether some token shares a prefix of at least max(4, len(word) - 2) with `word`."""
    need = max(4, len(word) - 2)
    if len(word) < 4:
        return False
    head = word[:need]
    return any(t[:need] == head for t in tokens if len(t) >= need)


@dataclass(frozen=True)
class _Item:
    tokens: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    first: str | None
    units: Mapping[str, frozenset[str]]  # unit -> the numbers the item states it with
    length: int


def _item(text: str) -> _Item:
    ordered = tokenize_product_text(text)
    units: dict[str, set[str]] = {}
    for token in ordered:
        found = _unit_of(token)
        if found is not None:
            units.setdefault(found[1], set()).add(found[0])
    return _Item(
        frozenset(ordered),
        frozenset(pairwise(ordered)),
        ordered[0] if ordered else None,
        {u: frozenset(n) for u, n in units.items()},
        len(ordered),
    )


def _optional_tokens(catalog: Catalog, column: str) -> list[frozenset[str]] | None:
    if column not in catalog.frame.columns:
        return None
    return [frozenset(tokenize_product_text(v or "")) for v in catalog.frame[column].to_list()]


class ItemSide:
    """The item-side arrays the features read, by item position (catalog row)."""

    def __init__(
        self,
        items: list[_Item],
        vectors: NDArray[np.float32],
        idf: Mapping[str, float],
        *,
        brands: list[frozenset[str]] | None,
        descriptions: list[frozenset[str]] | None,
        categories: NDArray[np.int64] | None,
        popularity: NDArray[np.float64] | None,
        changes: _Changes | None = None,
    ) -> None:
        self.items = items
        self.vectors = vectors
        self.idf: Mapping[str, float] = idf
        self.default_idf = math.log1p((len(items) + 0.5) / 0.5)  # a token no item holds
        self.brands = brands
        self.descriptions = descriptions
        self.categories = categories
        self.popularity = popularity
        # what `update` and `remove` need (None: not built from a catalog, takes no change)
        self._changes = changes

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        vectors: ArrayLike,
        *,
        popularity: ArrayLike | None = None,
        fields: Sequence[str] = DEFAULT_FIELDS,
    ) -> ItemSide:
        """From `catalog` (its row i is position i), its item vectors (row-aligned) and an
        optional per-item count (purchases, clicks) for the popularity feature."""
        matrix = normalize_rows(vectors)
        if matrix.shape[0] != len(catalog):
            raise ValueError(f"{matrix.shape[0]} vectors for a catalog of {len(catalog)} items")
        # room for an eighth more items, so the first items added later copy no vectors
        buffer = np.empty((matrix.shape[0] * 9 // 8 + 1, matrix.shape[1]), dtype=np.float32)
        buffer[: matrix.shape[0]] = matrix
        matrix = buffer[: matrix.shape[0]]
        items = [_item(text) for text in item_texts(catalog, fields)]
        df: Counter[str] = Counter()
        for item in items:
            df.update(item.tokens)
        n = len(items)
        idf = {t: math.log1p((n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        categories = None
        category_codes: dict[str, int] = {}
        if "category" in catalog.frame.columns:
            path = catalog.frame["category"].cast(pl.String).fill_null("")
            codes = path.rank("dense").cast(pl.Int64).to_numpy()
            categories = np.where(path.to_numpy() == "", -1, codes).astype(np.int64)
            category_codes = dict(zip(path.to_list(), categories.tolist(), strict=True))
        counts = None
        if popularity is not None:
            counts = np.asarray(popularity, dtype=np.float64)
            if counts.shape != (n,) or not np.isfinite(counts).all() or (counts < 0).any():
                raise ValueError(f"popularity must be {n} finite counts >= 0, one per item")
            counts = np.log1p(counts)
        return cls(
            items,
            matrix,
            idf,
            brands=_optional_tokens(catalog, "brand"),
            descriptions=_optional_tokens(catalog, "description"),
            categories=categories,
            popularity=counts,
            changes=_Changes(tuple(fields), df, np.ones(n, dtype=bool), category_codes, n, buffer),
        )

    # ------------------------------------------------------------ catalog changes

    def update(self, positions: ArrayLike, catalog: Catalog, vectors: ArrayLike) -> None:
        """Items at `positions` take the text, brand, description, category and vector of
        `catalog`'s rows (row i at positions[i]): a position held already is replaced (an
        update, or a removed item added back), positions past the end are appended (new
        items, in the item table's order); the idf follows the new document frequencies.
        The features then read as they would on an item side built afresh from the current
        catalog (category codes are only compared for equality, so new ones are numbered
        past the old), with one exception: a brand, description or category column the
        catalog it was built from lacked stays absent (its features NaN, as the model was
        trained on that catalog) even where the new rows carry it; a fresh build reads it.
        Checked in full before anything changes (ValueError)."""
        changes = self._require_changes()
        where = np.asarray(positions, dtype=np.int64).reshape(-1)
        matrix = normalize_rows(vectors, dim=self.vectors.shape[1])
        if matrix.shape[0] != len(catalog) or where.size != len(catalog):
            raise ValueError(
                f"{where.size} positions and {matrix.shape[0]} vectors for {len(catalog)} items"
            )
        n = len(self.items)
        if where.size and int(where.min()) < 0:  # numpy would read -1 as the last item
            raise ValueError(f"a negative position ({int(where.min())})")
        fresh = np.sort(where[where >= n])
        if np.unique(where).size != where.size or not np.array_equal(
            fresh, np.arange(n, n + fresh.size)
        ):
            raise ValueError("positions must be distinct, new ones following the last item's")
        items = [_item(text) for text in item_texts(catalog, changes.fields)]
        brands = _optional_tokens(catalog, "brand") or [frozenset()] * len(catalog)
        descriptions = _optional_tokens(catalog, "description") or [frozenset()] * len(catalog)
        paths = (
            catalog.frame["category"].cast(pl.String).fill_null("").to_list()
            if "category" in catalog.frame.columns
            else [""] * len(catalog)
        )
        # checked: now change (append room for new items first)
        grow = fresh.size
        if grow:
            self.items.extend([items[0]] * grow)  # placeholders, written below
            for column in (self.brands, self.descriptions):
                if column is not None:
                    column.extend([frozenset()] * grow)
            if self.categories is not None:
                self.categories = np.concatenate([self.categories, np.full(grow, -1, np.int64)])
            if self.popularity is not None:  # no count yet: log1p(0)
                self.popularity = np.concatenate([self.popularity, np.zeros(grow)])
            changes.live = np.concatenate([changes.live, np.zeros(grow, dtype=bool)])
        self.vectors = changes.grown(self.vectors, grow)
        for row, p in enumerate(where.tolist()):
            if changes.live[p]:
                changes.forget(self.items[p].tokens)
            else:
                changes.live[p] = True
                changes.n_live += 1
            changes.count(items[row].tokens)
            self.items[p] = items[row]
            if self.brands is not None:
                self.brands[p] = brands[row]
            if self.descriptions is not None:
                self.descriptions[p] = descriptions[row]
            if self.categories is not None:
                self.categories[p] = changes.category_code(paths[row])
        self.vectors[where] = matrix
        self._follow_counts()

    def remove(self, positions: ArrayLike) -> None:
        """Items at `positions` leave the document frequencies (their arrays stay: the
        retrievers never return a removed item, and one added back is `update`d)."""
        changes = self._require_changes()
        where = np.asarray(positions, dtype=np.int64).reshape(-1)
        if where.size and (int(where.min()) < 0 or int(where.max()) >= len(self.items)):
            raise ValueError(f"a position outside the {len(self.items)} items of the item side")
        for p in np.unique(where).tolist():
            if changes.live[p]:
                changes.forget(self.items[p].tokens)
                changes.live[p] = False
                changes.n_live -= 1
        self._follow_counts()

    def _require_changes(self) -> _Changes:
        if self._changes is None:
            raise ValueError("this item side was not built from a catalog: it takes no changes")
        return self._changes

    def _follow_counts(self) -> None:
        """The idf read from the live counts from now on (a change then costs its own
        tokens, not the vocabulary), and the unseen token's idf (as `build` makes them)."""
        assert self._changes is not None
        self.idf = _Idf(self._changes)
        self.default_idf = math.log1p((self._changes.n_live + 0.5) / 0.5)


@dataclass
class _Changes:
    """What an item side built from a catalog keeps to take changes: the text fields, each
    token's document frequency over the live items, which positions are live (and how
    many), the category codes by path, and the vectors' buffer (the item side's vectors
    are its first rows and the rest are spare, so an appended item copies no vector until
    the spare rows run out)."""

    fields: tuple[str, ...]
    df: Counter[str]
    live: NDArray[np.bool_]
    categories: dict[str, int]
    n_live: int
    buffer: NDArray[np.float32] | None = None

    def count(self, tokens: frozenset[str]) -> None:
        self.df.update(tokens)

    def forget(self, tokens: frozenset[str]) -> None:
        for token in tokens:
            left = self.df[token] - 1
            if left > 0:
                self.df[token] = left
            else:
                del self.df[token]

    def category_code(self, path: str) -> int:
        if path == "":
            return -1
        code = self.categories.get(path)
        if code is None:
            code = max(self.categories.values(), default=0) + 1
            self.categories[path] = code
        return code

    def grown(self, vectors: NDArray[np.float32], grow: int) -> NDArray[np.float32]:
        """`vectors` with `grow` more rows for the caller to write, as a writable view of the
        buffer (copied into a new one, an eighth larger, where it has no room or `vectors`
        is not its start)."""
        n = vectors.shape[0]
        start = vectors.base is self.buffer  # `vectors` is the buffer's first rows
        old = self.buffer
        if start and old is not None and old.shape[0] >= n + grow:
            return old[: n + grow]
        buffer = np.empty((n + grow + max(grow, n // 8), vectors.shape[1]), np.float32)
        buffer[:n] = vectors
        self.buffer = buffer
        return buffer[: n + grow]


class _Idf(Mapping[str, float]):
    """Each token's idf, read from the live document counts (what `ItemSide.build` computes
    for every token at once)."""

    def __init__(self, changes: _Changes) -> None:
        self._changes = changes

    def __getitem__(self, token: str) -> float:
        count = self._changes.df.get(token, 0)
        if count <= 0:
            raise KeyError(token)
        n = self._changes.n_live
        return math.log1p((n - count + 0.5) / (count + 0.5))

    def __iter__(self) -> Iterator[str]:
        return iter(self._changes.df)

    def __len__(self) -> int:
        return len(self._changes.df)


@dataclass(frozen=True)
class QueryInput:
    """One query as the second stage sees it: its text, its vector and each first-stage
    run (by name) that fed the candidate union."""

    text: str
    vector: NDArray[np.float32]
    runs: Mapping[str, Candidates]


@dataclass(frozen=True)
class PairFeatures:
    """The candidate union of one query (positions and ids, in first-seen order over the
    runs) and its feature matrix (one row a candidate, columns in `names` order)."""

    indices: NDArray[np.int64]
    item_ids: tuple[str, ...]
    matrix: NDArray[np.float32]
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.item_ids)


def _union(query: QueryInput, runs: Sequence[str]) -> tuple[list[int], list[str]]:
    seen: dict[int, str] = {}
    for name in runs:
        run = query.runs[name]
        for index, item_id in zip(run.indices.tolist(), run.item_ids, strict=True):
            seen.setdefault(index, item_id)
    return list(seen), list(seen.values())


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else math.nan


def pair_features(
    query: QueryInput,
    side: ItemSide,
    *,
    runs: Sequence[str],
    prf_run: str,
    prf_depth: int,
) -> PairFeatures:
    """The union of `query.runs[r]` over `runs` and each candidate's features."""
    absent = [r for r in (*runs, prf_run) if r not in query.runs]
    if absent:
        raise ValueError(f"the query lacks the first-stage runs {absent}: got {sorted(query.runs)}")
    names = feature_names(runs)
    positions, ids = _union(query, runs)
    if not positions:
        return PairFeatures(
            np.zeros(0, dtype=np.int64), (), np.zeros((0, len(names)), np.float32), names
        )
    index = np.asarray(positions, dtype=np.int64)
    if int(index.max()) >= len(side):
        raise ValueError(
            f"candidate position {int(index.max())} is past the {len(side)} items the second "
            "stage knows: rebuild its item side from the current catalog"
        )
    row_of = {p: i for i, p in enumerate(positions)}
    out = np.full((len(positions), len(names)), np.nan, dtype=np.float64)
    column = {n: j for j, n in enumerate(names)}
    for name in runs:
        run = query.runs[name]
        rows = np.asarray([row_of[p] for p in run.indices.tolist()], dtype=np.int64)
        out[:, column[f"{name}:rank"]] = MISSING_RANK
        if rows.size:
            out[rows, column[f"{name}:score"]] = run.scores
            out[rows, column[f"{name}:rank"]] = np.arange(1, rows.size + 1)
            out[rows, column[f"{name}:gap"]] = run.scores[0] - run.scores

    vector = normalize_rows(np.asarray(query.vector, dtype=np.float32)[None, :])[0]
    cosine = side.vectors[index] @ vector
    out[:, column["cosine"]] = cosine
    out[:, column["cosine_gap"]] = cosine.max() - cosine
    top = query.runs[prf_run].indices[:prf_depth]
    top_items = [side.items[p] for p in top.tolist()]
    if top.size:
        centroid = side.vectors[top].mean(axis=0)
        out[:, column["prf_cosine"]] = side.vectors[index] @ (
            centroid / max(float(np.linalg.norm(centroid)), 1e-12)
        )
    term_share: Counter[str] = Counter()
    for item in top_items:
        term_share.update(item.tokens)
    top_categories = side.categories[top] if side.categories is not None else None
    if side.popularity is not None:
        out[:, column["popularity"]] = side.popularity[index]

    ordered_query = tokenize_product_text(query.text)
    q = frozenset(ordered_query)
    q_bigrams = frozenset(pairwise(ordered_query))
    idf = {t: side.idf.get(t, side.default_idf) for t in q}
    idf_total = sum(idf.values())
    numbers = [t for t in q if t[0].isdigit()]
    q_units = [(t, u) for t in q if (u := _unit_of(t)) is not None]
    models = [t for t in q if _is_model(t)]
    words = [t for t in q if t.isalpha()]
    last_word = next((t for t in reversed(ordered_query) if t.isalpha()), None)
    out[:, column["query_tokens"]] = len(q)
    for row, p in enumerate(positions):
        item = side.items[p]
        tokens = item.tokens
        hit = q & tokens
        values = out[row]
        values[column["item_tokens"]] = item.length
        values[column["coverage"]] = _ratio(len(hit), len(q))
        values[column["idf_coverage"]] = (
            sum(idf[t] for t in hit) / idf_total if idf_total > 0 else math.nan
        )
        values[column["missing"]] = len(q) - len(hit)
        soft = sum(1 for t in words if t not in hit and _prefix_match(t, tokens))
        values[column["soft_coverage"]] = _ratio(len(hit) + soft, len(q))
        if q_bigrams:
            values[column["bigram_coverage"]] = len(q_bigrams & item.bigrams) / len(q_bigrams)
        values[column["first_token_match"]] = float(item.first is not None and item.first in q)
        if last_word is not None:
            values[column["last_word_match"]] = float(last_word in tokens)
        if side.brands is not None:
            values[column["brand_match"]] = float(bool(side.brands[p] & q))
        if side.descriptions is not None:
            values[column["description_coverage"]] = _ratio(len(side.descriptions[p] & q), len(q))
        if numbers:
            values[column["number_coverage"]] = sum(t in tokens for t in numbers) / len(numbers)
        if q_units:
            values[column["unit_match"]] = sum(t in tokens for t, _ in q_units) / len(q_units)
            values[column["unit_conflict"]] = sum(
                1
                for t, (number, unit) in q_units
                if t not in tokens and unit in item.units and number not in item.units[unit]
            )
        if models:
            values[column["model_coverage"]] = sum(t in tokens for t in models) / len(models)
        if top_items:
            values[column["prf_terms"]] = (
                sum(term_share[t] for t in tokens) / (len(tokens) * len(top_items))
                if tokens
                else 0.0
            )
        if top_categories is not None and side.categories is not None:
            mine = side.categories[p]
            if mine >= 0:
                values[column["category_agreement"]] = float(np.mean(top_categories == mine))
    return PairFeatures(index, tuple(ids), out.astype(np.float32), names)
