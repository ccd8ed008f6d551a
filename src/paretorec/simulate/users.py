"""Shoppers and their latent tastes.

Each shopper has a preference over departments (Dirichlet, concentrated for most),
a few favourite brands (drawn from the departments she likes, in proportion to brand
popularity there), a preferred price level (in within-category price z units), a price
sensitivity (how fast her willingness to buy falls above that level), a taste for
variety in [0, 1] (how much a repetitive list tires her), and an activity rate (how
often she shops: log-normal, so a few heavy shoppers have many sessions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from paretorec.data.schema import conform
from paretorec.simulate._arrays import (
    BoolArray,
    FloatArray,
    GroupedSampler,
    IntArray,
    categorical_rows,
)
from paretorec.simulate.catalog import prefixed_ids
from paretorec.simulate.config import UserConfig
from paretorec.types import TableName


@dataclass(frozen=True)
class UserTable:
    """Per-user arrays (index = user number)."""

    category_pref: FloatArray  # (n_users, n_departments), rows sum to 1
    favourite_brands: IntArray  # (n_users, n_favourite_brands), -1 where none
    price_level: FloatArray
    price_sensitivity: FloatArray
    variety: FloatArray
    activity_cum: FloatArray  # running sum of session rates, for drawing shoppers

    def __len__(self) -> int:
        return int(self.price_level.shape[0])

    def draw(self, n: int, rng: np.random.Generator) -> IntArray:
        """`n` shoppers, each in proportion to her activity."""
        u = rng.random(n) * self.activity_cum[-1]
        idx: IntArray = np.searchsorted(self.activity_cum, u, side="right").astype(np.int64)
        return np.minimum(idx, len(self) - 1)


def generate_users(
    n_users: int,
    department_weight: FloatArray,
    brands_by_department: GroupedSampler,
    config: UserConfig,
    rng: np.random.Generator,
) -> UserTable:
    """Draw `n_users` shoppers; `department_weight` is each department's share of demand
    (zero for a department without items, which then is never preferred)."""
    if n_users < 1:
        raise ValueError(f"n_users must be at least 1, got {n_users}")
    n_dept = department_weight.shape[0]
    base = department_weight / department_weight.sum()
    shape = np.maximum(config.category_concentration * n_dept * base, 1e-3)
    gamma = rng.gamma(shape, size=(n_users, n_dept)) * (base > 0) + 1e-12 * base
    pref = gamma / gamma.sum(axis=1, keepdims=True)

    has_brands: BoolArray = brands_by_department.totals > 0
    fav = np.full((n_users, config.n_favourite_brands), -1, dtype=np.int64)
    for j in range(config.n_favourite_brands):
        dept = categorical_rows(pref, rng)
        ok = has_brands[dept]
        fav[ok, j] = brands_by_department.sample(dept[ok], rng)

    sensitivity = config.price_sensitivity_median * rng.lognormal(
        0.0, config.price_sensitivity_spread, n_users
    )
    activity = rng.lognormal(0.0, config.activity_sigma, n_users)
    return UserTable(
        category_pref=pref,
        favourite_brands=fav,
        price_level=config.price_level_sd * rng.standard_normal(n_users),
        price_sensitivity=sensitivity,
        variety=rng.beta(config.variety_alpha, config.variety_beta, n_users),
        activity_cum=np.cumsum(activity),
    )


def user_ids(n: int) -> pl.Series:
    """User ids "u000042"."""
    return prefixed_ids("u", n).alias("user_id")


def users_frame(
    users: UserTable, department_names: tuple[str, ...], brand_names: tuple[str, ...]
) -> pl.DataFrame:
    """The `users` table: id and observable features (what a shop would know).

    favourite_department: the department she prefers most; favourite_brand: her first
    favourite brand; price_tier: budget / mid / premium from her preferred price level.
    The latent quantities (sensitivity, variety) stay hidden.
    """
    n = len(users)
    fav0 = users.favourite_brands[:, 0]
    brand_s = pl.Series([*brand_names, None], dtype=pl.String)
    tier = np.where(users.price_level < -0.4, 0, np.where(users.price_level > 0.4, 2, 1))
    frame = pl.DataFrame(
        {
            "user_id": user_ids(n),
            "favourite_department": pl.Series(department_names, dtype=pl.String).gather(
                users.category_pref.argmax(axis=1)
            ),
            "favourite_brand": brand_s.gather(np.where(fav0 >= 0, fav0, len(brand_names))),
            "price_tier": pl.Series(["budget", "mid", "premium"]).gather(tier),
        }
    )
    return conform(frame, TableName.USERS)
