"""Near-duplicate collapse: one product shown once in a list.

Catalogs list one product under several ids (Home Depot: 2,177 of 54,667 items share
their title with another, "Lund 60 in. Cross Bed Truck Tool Box" nine times), and a list
that shows it twice wastes a slot. Two items are duplicates when

- their `duplicate_key` is equal: the title and brand lower-cased, accents and HTML
  leftovers folded, and only letters and digits kept (so "18-V" = "18V" = "18 v"); or
- their text vectors (unit length) have a cosine of at least `threshold`, when given
  (a zero vector, such as an item that was never encoded, has no duplicate).

`collapse` keeps the first (best-ranked) item of each group, in list order; callers ask
for more than they show and cut after collapsing. Items with no title have no key.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["DEFAULT_THRESHOLD", "Collapsed", "collapse", "duplicate_key", "top_distinct"]

DEFAULT_THRESHOLD = 0.98
"""Cosine at which two items' text vectors count as one product (all-MiniLM-L6-v2 puts
editions that differ by a size or a colour word around 0.9)."""

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def _normalized(text: str | None) -> str:
    if text is None:
        return ""
    folded = unicodedata.normalize("NFKD", html.unescape(str(text)).lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return _NON_ALNUM.sub("", plain)


def duplicate_key(title: str | None, brand: str | None = None) -> str | None:
    """The normalized ``brand|title`` two duplicates share; None without a title."""
    name = _normalized(title)
    if not name:
        return None
    return f"{_normalized(brand)}|{name}"


@dataclass(frozen=True)
class Collapsed:
    """What `collapse` keeps: positions in the input list, in order, and for each position
    dropped the kept position it duplicates."""

    kept: tuple[int, ...]
    duplicate_of: dict[int, int]

    @property
    def n_dropped(self) -> int:
        return len(self.duplicate_of)


def collapse(
    keys: Sequence[str | None],
    vectors: NDArray[np.floating] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> Collapsed:
    """Keep the first item of each group of duplicates (see the module docstring)."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    n = len(keys)
    if vectors is not None and (np.ndim(vectors) != 2 or len(vectors) != n):
        raise ValueError(f"vectors must be ({n}, d), got shape {np.shape(vectors)}")
    similarity = None
    if vectors is not None and n:
        array = np.asarray(vectors, dtype=np.float64)
        similarity = array @ array.T
    first_of: dict[str, int] = {}
    kept: list[int] = []
    duplicate_of: dict[int, int] = {}
    for position, key in enumerate(keys):
        twin = first_of.get(key) if key is not None else None
        if twin is None and similarity is not None and kept:
            close = np.flatnonzero(similarity[position, kept] >= threshold - 1e-9)
            twin = kept[int(close[0])] if close.size else None
        if twin is not None:
            duplicate_of[position] = twin
            continue
        kept.append(position)
        if key is not None:
            first_of[key] = position
    return Collapsed(tuple(kept), duplicate_of)


def top_distinct(
    keys: Sequence[str | None],
    k: int,
    vectors: NDArray[np.floating] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[tuple[int, ...], int]:
    """The first `k` positions `collapse` keeps, and how many duplicates it passed over to
    fill them (every duplicate, when fewer than `k` distinct items remain)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    out = collapse(keys, vectors, threshold=threshold)
    shown = out.kept[:k]
    limit = shown[-1] if len(shown) == k else len(keys)
    return shown, sum(1 for position in out.duplicate_of if position < limit)
