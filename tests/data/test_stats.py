from __future__ import annotations

import polars as pl

from paretorec.data.stats import (
    ctr_by_position,
    dataset_stats,
    events_by_type,
    price_distribution,
    sparsity,
    top_categories,
)
from paretorec.types import Catalog, Dataset, Events

EVENTS = Events(
    pl.DataFrame(
        {
            "user_id": ["u1", "u1", "u1", "u2", "u2", "u2", "u3"],
            "item_id": ["a", "a", "b", "a", "b", "b", "c"],
            "event": [
                "impression",
                "click",
                "impression",
                "impression",
                "impression",
                "click",
                "purchase",
            ],
            "position": [1, 1, 2, 1, 2, 2, None],
        }
    )
)
ITEMS = Catalog(
    pl.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "title": ["A", "B", "C", "D"],
            "category": ["Tools > Power", "Tools>Hand", "Garden", None],
            "price": [1.0, 2.0, 3.0, 4.0],
        }
    )
)


def test_ctr_by_position_matches_clicks_and_impressions_by_position() -> None:
    ctr = ctr_by_position(EVENTS)
    assert ctr.to_dicts() == [
        {"position": 1, "impressions": 2, "clicks": 1, "ctr": 0.5},
        {"position": 2, "impressions": 2, "clicks": 1, "ctr": 0.5},
    ]


def test_ctr_by_position_without_positions_is_empty() -> None:
    assert ctr_by_position(Events(EVENTS.frame.drop("position"))).is_empty()


def test_events_by_type_in_funnel_order() -> None:
    counts = events_by_type(EVENTS)
    assert counts["event"].to_list() == ["impression", "click", "purchase"]
    assert counts["count"].to_list() == [4, 2, 1]


def test_sparsity_counts_distinct_pairs() -> None:
    # pairs: (u1,a) (u1,b) (u2,a) (u2,b) (u3,c) = 5 of 3 users x 4 items
    assert sparsity(EVENTS, 4) == 1 - 5 / 12


def test_top_categories_cut_the_path() -> None:
    top = top_categories(ITEMS)
    assert top.select("category", "items").rows() == [("Tools", 2), ("Garden", 1)]
    assert top_categories(ITEMS, level=2)["category"].to_list() == [
        "Garden",
        "Tools > Hand",
        "Tools > Power",
    ]


def test_price_quantiles() -> None:
    prices = price_distribution(ITEMS)
    assert prices.filter(pl.col("quantile") == 0.5)["price"][0] == 2.5
    assert prices["price"][0] == 1.0 and prices["price"][-1] == 4.0


def test_dataset_stats_are_json_ready() -> None:
    stats = dataset_stats(Dataset(items=ITEMS, events=EVENTS, name="tiny"))
    plain = stats.to_dict()
    assert plain["rows"] == {"items": 4, "events": 7}
    assert plain["n_users"] == 3
    assert plain["ctr_by_position"] == [
        {"position": 1, "impressions": 2, "clicks": 1, "ctr": 0.5},
        {"position": 2, "impressions": 2, "clicks": 1, "ctr": 0.5},
    ]
