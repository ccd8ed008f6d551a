"""The simulated world in memory: catalog, shoppers, and the index that draws candidates.

`World` is plain data; `generate_world` and `world_from_catalog` (in `generate`) build one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from paretorec.simulate._arrays import BoolArray, FloatArray, GroupedSampler
from paretorec.simulate.catalog import (
    CatalogWords,
    GeneratedCatalog,
    ItemTable,
    Taxonomy,
    generated_items_frame,
)
from paretorec.simulate.config import SessionConfig, WorldConfig
from paretorec.simulate.users import UserTable, users_frame


@dataclass(frozen=True)
class CandidateIndex:
    """Precomputed grouped samplers: candidates and intents are drawn without scoring the
    catalog, so the cost of a session does not grow with the number of items."""

    by_leaf: GroupedSampler  # items by leaf, weight popularity^power
    by_department: GroupedSampler  # items by department, weight popularity^power
    popular: GroupedSampler  # one group: the most popular items, weight popularity
    leaves_by_department: GroupedSampler  # non-empty leaves by department, weight demand
    brands_by_department: GroupedSampler  # brands by department, weight their popularity
    department_weight: FloatArray  # share of demand per department (0: no items)

    @property
    def leaf_has_items(self) -> BoolArray:
        out: BoolArray = self.by_leaf.sizes > 0
        return out


def build_index(
    taxonomy: Taxonomy, items: ItemTable, n_brands: int, config: SessionConfig
) -> CandidateIndex:
    n_dept = taxonomy.n_departments
    weight: FloatArray = np.power(items.popularity, config.candidate_popularity_power)
    pool = min(config.popular_pool, len(items))
    top = np.argsort(-items.popularity, kind="stable")[:pool]
    leaf_demand: FloatArray = np.bincount(
        items.leaf, weights=items.popularity, minlength=taxonomy.n_leaves
    ).astype(np.float64)
    dept_demand: FloatArray = np.bincount(
        items.department, weights=items.popularity, minlength=n_dept
    ).astype(np.float64)
    # brand popularity within each department, as (department, brand) pairs
    branded = items.brand >= 0
    pair = items.department[branded] * n_brands + items.brand[branded]
    pair_weight: FloatArray = np.bincount(
        pair, weights=items.popularity[branded], minlength=n_dept * n_brands
    ).astype(np.float64)
    pairs = np.flatnonzero(pair_weight > 0)
    return CandidateIndex(
        by_leaf=GroupedSampler.build(items.leaf, taxonomy.n_leaves, weight),
        by_department=GroupedSampler.build(items.department, n_dept, weight),
        popular=GroupedSampler.build(
            np.zeros(pool, dtype=np.int64), 1, items.popularity[top], members=top
        ),
        leaves_by_department=GroupedSampler.build(taxonomy.leaf_department, n_dept, leaf_demand),
        brands_by_department=GroupedSampler.build(
            pairs // n_brands, n_dept, pair_weight[pairs], members=pairs % n_brands
        ),
        department_weight=dept_demand / dept_demand.sum(),
    )


@dataclass(frozen=True)
class World:
    """A shop: its catalog, its shoppers, and the calibrated click intercept."""

    config: WorldConfig
    taxonomy: Taxonomy
    items: ItemTable
    words: CatalogWords
    users: UserTable
    index: CandidateIndex
    item_ids: pl.Series
    click_intercept: float
    source_items: pl.DataFrame | None = field(default=None, repr=False)  # a real catalog

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_candidates(self) -> int:
        """Candidates per session: the configured number, or every item of a smaller shop."""
        return min(self.config.sessions.n_candidates, self.n_items)

    def items_frame(self) -> pl.DataFrame:
        """The `items` table in the data contract."""
        if self.source_items is not None:
            return self.source_items
        generated = GeneratedCatalog(taxonomy=self.taxonomy, items=self.items, words=self.words)
        return generated_items_frame(generated, self.config.catalog)

    def users_frame(self) -> pl.DataFrame:
        """The `users` table in the data contract."""
        return users_frame(self.users, self.taxonomy.department_names, self.words.brand_names)
