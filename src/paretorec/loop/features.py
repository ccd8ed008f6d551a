"""The loop policy's feature layout, fixed when a version is trained and stored with it.

A loop policy ranks the whole catalog for a shopper (as `paretorec train policy --data`
does for the Open Bandit Dataset): its context is the shopper's row of the users table
(text columns one-hot over the levels the layout saw, numbers standardized), each item's
features are its top-level category (one-hot), its log-price (standardized) and whether
it is in stock, and its one prediction is the item's click rate on the rounds it was
fitted on, smoothed toward the overall rate. The layout keeps its levels, scales and click
rates, so a version judged months later reads the features it was trained on: a level
or item it never saw gets zeros or the overall rate, never a shifted column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

__all__ = ["CLICK", "FeatureLayout", "smoothed_rates"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
CLICK = "click"
_PRIOR = 50.0  # pseudo-impressions of the overall click rate in each item's rate


def _department(category: object) -> str:
    return "" if category is None else str(category).split(">")[0].strip()


def smoothed_rates(
    shown: IntArray,
    clicked: FloatArray,
    n_items: int,
    *,
    prior: float = _PRIOR,
    prior_rates: FloatArray | None = None,
) -> tuple[FloatArray, float]:
    """Each item's click rate over the impressions `shown` (item indices) with rewards
    `clicked`, smoothed by `prior` pseudo-impressions toward `prior_rates` (the previous
    version's estimates: an item the new window rarely showed keeps what was known of
    it) or, without them, toward the overall rate; and that overall rate."""
    overall = float(clicked.mean()) if clicked.size else 0.0
    toward = np.full(n_items, overall) if prior_rates is None else prior_rates
    views = np.bincount(shown, minlength=n_items).astype(np.float64)
    clicks = np.bincount(shown, weights=clicked, minlength=n_items)
    rates: FloatArray = (clicks + prior * toward) / (views + prior)
    return rates, overall


@dataclass(frozen=True)
class FeatureLayout:
    """Columns and scales of a loop policy's inputs (see the module docstring)."""

    user_text: Mapping[str, tuple[str, ...]]  # column -> levels
    user_numbers: Mapping[str, tuple[float, float]]  # column -> (mean, sd)
    departments: tuple[str, ...]
    log_price: tuple[float, float]
    click_rates: Mapping[str, float]  # item id -> smoothed click rate
    overall_rate: float

    @classmethod
    def fit(
        cls,
        users: pl.DataFrame,
        items: pl.DataFrame,
        click_rates: Mapping[str, float],
        overall: float,
    ) -> FeatureLayout:
        text: dict[str, tuple[str, ...]] = {}
        numbers: dict[str, tuple[float, float]] = {}
        for column in users.columns:
            if column == "user_id":
                continue
            series = users[column]
            if series.dtype.is_numeric() or series.dtype == pl.Boolean:
                values = series.cast(pl.Float64).fill_null(0.0).to_numpy()
                numbers[column] = (float(values.mean()), float(max(values.std(), 1e-9)))
            else:
                text[column] = tuple(sorted(set(series.cast(pl.String).fill_null("").to_list())))
        departments = tuple(
            sorted({_department(c) for c in items["category"].to_list()})
            if "category" in items.columns
            else ()
        )
        prices = cls._log_prices(items)
        return cls(
            user_text=text,
            user_numbers=numbers,
            departments=departments,
            log_price=(float(prices.mean()), float(max(prices.std(), 1e-9))),
            click_rates=dict(click_rates),
            overall_rate=float(overall),
        )

    @staticmethod
    def _log_prices(items: pl.DataFrame) -> FloatArray:
        if "price" not in items.columns:
            return np.zeros(items.height)
        out: FloatArray = np.log1p(items["price"].cast(pl.Float64).fill_null(0.0).to_numpy())
        return out

    @property
    def context_dim(self) -> int:
        return sum(len(v) for v in self.user_text.values()) + len(self.user_numbers)

    @property
    def item_dim(self) -> int:
        return len(self.departments) + 2

    def contexts(self, users: pl.DataFrame, user_ids: Sequence[str]) -> FloatArray:
        """(len(user_ids), context_dim); a user missing from `users` gets zeros."""
        table = users.unique("user_id", keep="first")
        rows = pl.DataFrame({"user_id": [str(u) for u in user_ids]}).join(
            table.with_columns(pl.col("user_id").cast(pl.String)),
            on="user_id",
            how="left",
            maintain_order="left",
        )
        parts: list[FloatArray] = []
        for column, levels in self.user_text.items():
            values = (
                rows[column].cast(pl.String).fill_null("").to_numpy()
                if column in rows.columns
                else np.full(rows.height, "")
            )
            parts.append(
                (values[:, None] == np.asarray(levels, dtype=object)[None, :]).astype(float)
            )
        for column, (mean, sd) in self.user_numbers.items():
            values = (
                rows[column].cast(pl.Float64).fill_null(mean).to_numpy()
                if column in rows.columns
                else np.full(rows.height, mean)
            )
            parts.append(((values - mean) / sd).reshape(-1, 1))
        if not parts:
            return np.zeros((rows.height, 0))
        return np.concatenate(parts, axis=1)

    def items(self, items: pl.DataFrame) -> FloatArray:
        """(n_items, item_dim): department one-hot, standardized log-price, in stock."""
        departments = np.asarray(
            [_department(c) for c in items["category"].to_list()]
            if "category" in items.columns
            else [""] * items.height,
            dtype=object,
        )
        one_hot = (
            departments[:, None] == np.asarray(self.departments, dtype=object)[None, :]
        ).astype(float)
        mean, sd = self.log_price
        price = ((self._log_prices(items) - mean) / sd).reshape(-1, 1)
        stock = (
            (items["stock"].cast(pl.Float64).fill_null(1.0).to_numpy() > 0).astype(float)
            if "stock" in items.columns
            else np.ones(items.height)
        ).reshape(-1, 1)
        return np.concatenate([one_hot, price, stock], axis=1)

    def rates(self, item_ids: Sequence[str]) -> FloatArray:
        """The stored click rate of each item (the overall rate for one it never saw)."""
        return np.asarray(
            [self.click_rates.get(str(i), self.overall_rate) for i in item_ids], dtype=np.float64
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "user_text": {k: list(v) for k, v in self.user_text.items()},
            "user_numbers": {k: list(v) for k, v in self.user_numbers.items()},
            "departments": list(self.departments),
            "log_price": list(self.log_price),
            "click_rates": dict(self.click_rates),
            "overall_rate": self.overall_rate,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FeatureLayout:
        try:
            mean, sd = (float(x) for x in raw["log_price"])
            return cls(
                user_text={str(k): tuple(str(x) for x in v) for k, v in raw["user_text"].items()},
                user_numbers={
                    str(k): (float(v[0]), float(v[1])) for k, v in raw["user_numbers"].items()
                },
                departments=tuple(str(d) for d in raw["departments"]),
                log_price=(mean, sd),
                click_rates={str(k): float(v) for k, v in raw["click_rates"].items()},
                overall_rate=float(raw["overall_rate"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a loop feature layout ({error})") from error
