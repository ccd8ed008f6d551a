"""Which figures rest on data the dataset lacks, said in words.

`problem_from_dataset` fills missing prices, costs, categories and sellers the way the
simulator fills a real catalog (`paretorec.simulate.real_catalog.adapt_catalog`). A
figure computed from a filled column is a figure about invented data; these helpers find
the columns that were filled and name the objectives (and shop rules) that read them, so
the CLI, the report and the JSON can say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from paretorec.types import Catalog

__all__ = [
    "FILLED_BY",
    "PRICED_OBJECTIVES",
    "FilledColumn",
    "MissingPricesError",
    "filled_columns",
    "filled_notes",
    "require_prices",
]

# what the simulator's catalog adapter puts where the dataset has nothing
FILLED_BY: dict[str, str] = {
    "price": "drawn log-normal around the known prices of the same category",
    "cost": "price x (1 - a margin rate drawn around 30%)",
    "category": "'Uncategorized'",
    "seller_id": "sellers drawn at random",
}

# the columns each objective's figure reads (objectives not named read none of them)
_READS: dict[str, tuple[str, ...]] = {
    "expected_revenue": ("price",),
    "expected_margin": ("price", "cost"),
    "category_diversity": ("category",),
    "miscalibration": ("category",),
    "exposure_fairness": ("seller_id",),
}

PRICED_OBJECTIVES = frozenset({"expected_revenue", "expected_margin"})
"""Objectives that are sums of money: meaningless on prices the dataset does not have."""

SIMULATED_PRICES_FLAG = "--simulated-prices"


class MissingPricesError(ValueError):
    """Revenue or margin asked of a dataset without prices, without opting in."""


@dataclass(frozen=True)
class FilledColumn:
    """A column of the items table the dataset lacks for `n_filled` of `n_items` items."""

    column: str
    n_filled: int
    n_items: int

    @property
    def everywhere(self) -> bool:
        return self.n_filled == self.n_items


def filled_columns(catalog: Catalog) -> tuple[FilledColumn, ...]:
    """The fillable columns missing (absent, null or empty) for at least one item."""
    frame = catalog.frame
    out = []
    for column in FILLED_BY:
        if column not in frame.columns:
            missing = frame.height
        else:
            values = frame[column]
            blank = values.is_null()
            if values.dtype == pl.String:
                blank = blank | (values.str.strip_chars() == "")
            missing = int(blank.sum())
        if missing:
            out.append(FilledColumn(column, missing, frame.height))
    return tuple(out)


def _share(filled: FilledColumn) -> str:
    if filled.everywhere:
        return f"the dataset has no {filled.column} for any of its {filled.n_items:,} items"
    return f"the dataset lacks {filled.column} for {filled.n_filled:,} of {filled.n_items:,} items"


def filled_notes(
    filled: Iterable[FilledColumn],
    objectives: Iterable[str],
    rule_fields: Iterable[str] = (),
) -> tuple[str, ...]:
    """One sentence per filled column that a named objective (full names) or a shop rule
    (the fields its caps, fairness or exposure read) rests on; nothing for the others."""
    names = list(objectives)
    fields = set(rule_fields)
    notes = []
    for f in filled:
        readers = [n for n in names if f.column in _READS.get(n, ())]
        if f.column in fields:
            readers.append(f"the shop's rules on {f.column}")
        if not readers:
            continue
        notes.append(
            f"simulated {f.column}: {', '.join(readers)} rest(s) on filled-in data ({_share(f)}; "
            f"filled as the simulator does: {FILLED_BY[f.column]})"
        )
    return tuple(notes)


def require_prices(
    filled: Iterable[FilledColumn], objectives: Iterable[str], *, simulated_prices: bool
) -> None:
    """MissingPricesError when a money objective is asked of a dataset with no price at
    all and the caller has not opted in to simulated prices."""
    if simulated_prices:
        return
    money = [n for n in objectives if n in PRICED_OBJECTIVES]
    no_prices = any(f.column == "price" and f.everywhere for f in filled)
    if money and no_prices:
        raise MissingPricesError(
            f"{', '.join(money)} need prices and the dataset has none: pass "
            f"{SIMULATED_PRICES_FLAG} to use simulated prices (said so in the report), "
            "or leave revenue and margin out"
        )
