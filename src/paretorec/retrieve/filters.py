"""`Filters`: which items a search may return.

Every retriever applies them inside its search (a mask over the items before the top-K is
taken, or a selector inside the HNSW walk), so a top-K holds only items that pass and is
the best K of those, never fewer than K while more pass (lexical search returns only items
that share a token with the query).

- `category`: a prefix of the ``>``-separated category path, by whole segments, case and
  spaces around ``>`` ignored: ``"Tools > Power Tools"`` passes ``tools>power tools>drills``
  but not ``Tools > Power Toolsets``.
- `min_price` / `max_price`: inclusive bounds; an item without a price fails either.
- `in_stock`: only items whose stock is > 0; an item without a stock value fails.
- `brands`: the item's brand is one of these, case and outer spaces ignored; an item
  without a brand fails.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Filters", "normalize_brand", "normalize_category"]


def normalize_category(path: str) -> str:
    """A category path in the form filters compare: segments stripped, lower case, ``>``."""
    return ">".join(segment.strip().casefold() for segment in path.split(">"))


def normalize_brand(brand: str) -> str:
    return brand.strip().casefold()


@dataclass(frozen=True)
class Filters:
    """Conditions an item must meet to be returned (see the module docstring)."""

    category: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    in_stock: bool = False
    brands: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.category is not None:
            category = normalize_category(self.category)
            if not category or any(not segment for segment in category.split(">")):
                raise ValueError(f"category filter {self.category!r} has an empty segment")
            object.__setattr__(self, "category", category)
        for name in ("min_price", "max_price"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value)
            ):
                raise ValueError(f"{name} must be a number, got {value!r}")
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            raise ValueError(f"min_price {self.min_price} is above max_price {self.max_price}")
        if self.brands is not None:
            if isinstance(self.brands, str):
                raise ValueError("brands must be a collection of brand names, not one string")
            brands = frozenset(normalize_brand(b) for b in _strings(self.brands, "brands"))
            if not brands:
                raise ValueError("brands is empty: no item could pass")
            object.__setattr__(self, "brands", brands)

    @property
    def is_empty(self) -> bool:
        """True when every item passes."""
        return (
            self.category is None
            and self.min_price is None
            and self.max_price is None
            and not self.in_stock
            and self.brands is None
        )


def _strings(values: Iterable[object], what: str) -> list[str]:
    out = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(f"{what} must hold strings, got {value!r}")
        out.append(value)
    return out
