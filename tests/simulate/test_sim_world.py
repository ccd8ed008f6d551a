"""World generation: a seeded catalog and shoppers, and a real catalog brought to life."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from paretorec.data.schema import CATEGORY_SEPARATOR, conform
from paretorec.simulate import CatalogConfig, World, WorldConfig, generate_world, world_from_catalog
from paretorec.simulate.catalog import generate_catalog
from paretorec.types import Catalog, TableName


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(4000, 800, seed=11)


def test_same_seed_same_world_and_different_seed_differs(world: World) -> None:
    again = generate_world(4000, 800, seed=11)
    assert world.items_frame().equals(again.items_frame())
    assert world.users_frame().equals(again.users_frame())
    assert world.click_intercept == again.click_intercept
    other = generate_world(4000, 800, seed=12)
    assert not world.items_frame().equals(other.items_frame())


def test_items_table_follows_the_contract(world: World) -> None:
    items = world.items_frame()
    assert items.height == 4000
    assert items["item_id"].n_unique() == 4000
    assert conform(items, TableName.ITEMS).equals(items)
    for column in (
        "title",
        "description",
        "category",
        "brand",
        "price",
        "cost",
        "stock",
        "seller_id",
        "created_at",
    ):
        assert items[column].null_count() == 0, column
    assert (items["price"] > 0).all()
    assert (items["cost"] < items["price"]).all() and (items["cost"] > 0).all()
    assert (items["stock"] >= 0).all() and (items["stock"] == 0).any()
    levels = items["category"].str.split(CATEGORY_SEPARATOR).list.len()
    assert (levels == 3).all()


def test_every_leaf_has_items_and_titles_read_like_products(world: World) -> None:
    assert (world.index.by_leaf.sizes > 0).all()
    items = world.items_frame()
    titles = items["title"].to_list()
    nouns = world.taxonomy.leaf_nouns
    for title, leaf, brand in zip(
        titles[:200], world.items.leaf[:200], items["brand"][:200], strict=True
    ):
        assert title.startswith(brand)
        assert nouns[leaf] in title
        assert len(title.split()) >= 5


def test_popularity_has_a_long_tail(world: World) -> None:
    pop = np.sort(world.items.popularity)[::-1]
    assert pop.sum() == pytest.approx(1.0)
    top_share = pop[: len(pop) // 100].sum()
    assert top_share > 0.3  # the top 1% of items hold a large share of demand
    assert pop[0] / pop[-1] > 1000


def test_prices_are_log_normal_by_category_and_margins_vary(world: World) -> None:
    it = world.items
    dept_median = [
        np.median(it.price[it.department == d]) for d in range(world.taxonomy.n_departments)
    ]
    assert max(dept_median) / min(dept_median) > 3  # electronics vs office supplies

    def skew(x: np.ndarray) -> float:
        return float(((x - x.mean()) ** 3).mean() / x.std() ** 3)

    assert skew(it.price) > 1.0  # right-skewed prices ...
    assert abs(skew(np.log(it.price))) < 0.5  # ... roughly symmetric in log
    rate = it.margin / it.price
    assert rate.min() > 0 and rate.max() < 1 and rate.std() > 0.03


def test_sellers_are_unequal(world: World) -> None:
    counts = np.sort(np.bincount(world.items.seller))[::-1]
    assert counts[0] > 5 * np.median(counts)


def test_users_have_valid_tastes(world: World) -> None:
    u = world.users
    np.testing.assert_allclose(u.category_pref.sum(axis=1), 1.0)
    assert (u.price_sensitivity > 0).all()
    assert ((u.variety >= 0) & (u.variety <= 1)).all()
    assert u.favourite_brands.max() < len(world.words.brand_names)
    users = world.users_frame()
    assert users.height == 800 and users["user_id"].n_unique() == 800
    assert set(users["price_tier"].unique()) <= {"budget", "mid", "premium"}


def test_bad_sizes_raise() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_items"):
        generate_catalog(0, CatalogConfig(), rng)
    with pytest.raises(ValueError, match="n_items"):
        generate_world(0, 10)
    with pytest.raises(ValueError, match="n_users"):
        generate_world(100, 0)


def test_tiny_world_still_works() -> None:
    w = generate_world(30, 5, seed=0, config=WorldConfig())
    assert w.n_candidates == 30
    assert np.isfinite(w.click_intercept)


def test_real_catalog_fills_missing_columns() -> None:
    n = 240
    frame = pl.DataFrame(
        {
            "item_id": [f"sku-{i}" for i in range(n)],
            "title": [
                f"Acme cordless drill {i % 7}V compact" if i % 2 else f"Shiny red kettle {i % 5}L"
                for i in range(n)
            ],
            "category": [
                "Tools>Power Tools>Drills" if i % 2 else ("Home > Kitchen" if i % 3 else None)
                for i in range(n)
            ],
            "brand": ["Acme" if i % 2 else None for i in range(n)],
            "price": [float(10 + i) if i % 4 else None for i in range(n)],
        }
    )
    w = world_from_catalog(Catalog(frame), 50, seed=1)
    items = w.items_frame()
    assert items["item_id"].to_list() == frame["item_id"].to_list()
    assert conform(items, TableName.ITEMS).equals(items)
    for column in ("price", "cost", "stock", "seller_id", "created_at", "category"):
        assert items[column].null_count() == 0, column
    known = frame["price"].is_not_null()
    assert items.filter(known)["price"].equals(frame.filter(known)["price"])
    assert (items["price"] > 0).all()
    assert set(w.taxonomy.department_names) == {"Tools", "Home", "Uncategorized"}
    assert w.taxonomy.n_leaves == 3
    assert (w.items.brand[frame["brand"].is_null().to_numpy()] == -1).all()
    words = set(w.words.attribute_words)
    assert "cordless" in words and "acme" not in words and "drill" not in words
