"""Building a `World`: a generated shop, or a real catalog brought to life with shoppers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl

from paretorec.simulate.calibration import calibrate_click_intercept
from paretorec.simulate.catalog import GeneratedCatalog, generate_catalog, item_ids
from paretorec.simulate.config import WorldConfig
from paretorec.simulate.real_catalog import adapt_catalog
from paretorec.simulate.users import generate_users
from paretorec.simulate.world import World, build_index
from paretorec.types import Catalog


def generate_world(
    n_items: int, n_users: int, *, config: WorldConfig | None = None, seed: int = 0
) -> World:
    """A seeded shop of `n_items` items and `n_users` shoppers, its click rate calibrated
    (`BehaviourConfig.calibration`). The same seed gives the same world."""
    config = config or WorldConfig()
    rng_items, rng_users, rng_cal = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    generated = generate_catalog(n_items, config.catalog, rng_items)
    return _assemble(generated, n_users, config, rng_users, rng_cal, source=None)


def world_from_catalog(
    catalog: Catalog, n_users: int, *, config: WorldConfig | None = None, seed: int = 0
) -> World:
    """A shop selling a real catalog's items (see `real_catalog` for how missing columns
    and the latent quantities are filled); shoppers are generated."""
    config = config or WorldConfig()
    rng_items, rng_users, rng_cal = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    generated, frame = adapt_catalog(catalog, config.catalog, rng_items)
    return _assemble(generated, n_users, config, rng_users, rng_cal, source=frame)


def _assemble(
    generated: GeneratedCatalog,
    n_users: int,
    config: WorldConfig,
    rng_users: np.random.Generator,
    rng_cal: np.random.Generator,
    source: pl.DataFrame | None,
) -> World:
    index = build_index(
        generated.taxonomy, generated.items, len(generated.words.brand_names), config.sessions
    )
    users = generate_users(
        n_users, index.department_weight, index.brands_by_department, config.users, rng_users
    )
    world = World(
        config=config,
        taxonomy=generated.taxonomy,
        items=generated.items,
        words=generated.words,
        users=users,
        index=index,
        item_ids=source["item_id"] if source is not None else item_ids(len(generated.items)),
        click_intercept=config.behaviour.click_intercept,
        source_items=source,
    )
    calibration = config.behaviour.calibration
    if calibration is None:
        return world
    return replace(world, click_intercept=calibrate_click_intercept(world, calibration, rng_cal))
