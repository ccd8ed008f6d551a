"""Which items' text vectors a recommender needs, so ID-only models skip most encoding.

Popularity and co-visitation learn from IDs alone. They read text only on two cold-start
paths: `Popularity.popular_diverse` (a shopper with no history) compares the vectors of
the `pool` most popular items, and `CoVisitation` maps a history item never seen in
training onto its nearest trained items by text. Encoding every title for that costs
minutes on a CPU (Amazon Games: 16,859 titles), so the text a model reads decides:

- `TextVectors.ALL`: every item is encoded (what the two-tower and sequential models,
  which learn from every item's text, require);
- `TextVectors.POPULAR`: only the popular pool is encoded, every other row is zero. The
  cold-user list keeps its diversity exactly (it only compares pool items); the
  co-visitation text fallback maps an unseen item onto popular items only (a zero row has
  no text neighbour), and an item that was in the catalog but never in training has a
  zero vector, so it votes for nothing. Items added later (the service's ``PUT /items``)
  bring their own vectors and map onto the popular pool.
- `TextVectors.AUTO` (the default) is `ALL` when a text-reading generator is trained,
  else `POPULAR`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from paretorec.retrieve.recommend.base import History, Source

__all__ = ["READS_TEXT", "TextVectors", "resolve_text_vectors", "rows_to_encode", "scatter_rows"]

READS_TEXT = frozenset({Source.TWO_TOWER, Source.SEQUENTIAL})
"""The generators that learn from every item's text vector."""


class TextVectors(StrEnum):
    """Which items a recommender's training encodes (see the module docstring)."""

    AUTO = "auto"
    ALL = "all"
    POPULAR = "popular"


def resolve_text_vectors(requested: TextVectors, sources: Iterable[Source]) -> TextVectors:
    """`ALL` or `POPULAR` for the generators trained; refuses `POPULAR` for a text reader."""
    readers = sorted(s.value for s in set(sources) & READS_TEXT)
    if requested is TextVectors.AUTO:
        return TextVectors.ALL if readers else TextVectors.POPULAR
    if requested is TextVectors.POPULAR and readers:
        raise ValueError(
            f"{' and '.join(readers)} learn from every item's text: use --text-vectors all"
        )
    return requested


def rows_to_encode(
    mode: TextVectors, train: Sequence[History], n_items: int, *, pool: int
) -> NDArray[np.int64]:
    """The item rows to encode, ascending: all of them, or the `pool` most frequent in the
    train sequences (ties: the smaller row, as `popular_diverse` orders them)."""
    if mode is TextVectors.AUTO:
        raise ValueError("resolve TextVectors.AUTO first (resolve_text_vectors)")
    if mode is TextVectors.ALL:
        return np.arange(n_items, dtype=np.int64)
    if pool < 1:
        raise ValueError(f"pool must be >= 1, got {pool}")
    flat = np.concatenate(list(train)) if len(train) else np.zeros(0, dtype=np.int64)
    counts = np.bincount(flat.astype(np.int64), minlength=n_items)
    order = np.lexsort((np.arange(n_items), -counts))
    return np.sort(order[:pool]).astype(np.int64)


def scatter_rows(
    n_items: int, rows: NDArray[np.int64], encoded: NDArray[np.float32]
) -> NDArray[np.float32]:
    """An (n_items, d) matrix holding `encoded` at `rows` and zeros elsewhere."""
    encoded = np.asarray(encoded, dtype=np.float32)
    if encoded.ndim != 2 or encoded.shape[0] != rows.size:
        raise ValueError(f"{encoded.shape} vectors for {rows.size} rows")
    out = np.zeros((n_items, encoded.shape[1]), dtype=np.float32)
    out[rows] = encoded
    return out
