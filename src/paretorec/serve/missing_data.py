"""The service's word on figures that rest on data the catalog lacks.

A served revenue (or margin) is a purchase probability times the item's price: an item
the catalog holds no price for counts as worth 0, which a response must say rather than
show as a fact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["MONEY_WORDS", "missing_price_note"]

MONEY_WORDS = ("revenue", "margin")


def _priced(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def missing_price_note(objectives: Iterable[str], prices: Sequence[Any]) -> str | None:
    """A note when a money objective is weighed and some candidates have no price."""
    money = [n for n in objectives if any(word in n for word in MONEY_WORDS)]
    if not money or not prices:
        return None
    unpriced = sum(not _priced(p) for p in prices)
    if not unpriced:
        return None
    return (
        f"{', '.join(money)} rest(s) on missing data: {unpriced} of {len(prices)} candidates "
        "have no price in the catalog and count as worth 0"
    )
