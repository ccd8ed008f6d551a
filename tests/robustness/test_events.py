"""Event-log scenarios: exact, seeded, pure; strength 0 is the identity; valid and test rows
are never touched."""

from __future__ import annotations

import polars as pl
import pytest

from paretorec.robustness import Target, get_scenario, scenario_names
from paretorec.robustness.events import (
    ANCHORS,
    BOT_PREFIX,
    BOTS,
    SMALL_BOT_CLICKS,
    TARGETS,
    click_spam,
    cold_catalog,
    position_biased_false_clicks,
    random_false_clicks,
)
from paretorec.types import Catalog, Dataset, Events

ITEMS = [f"i{n}" for n in range(40)]


def shop(split: bool = True) -> Dataset:
    """20 shoppers of 5 purchases each; item i{u+k} for step k; the last two valid, test."""
    rows = []
    for user in range(20):
        for step in range(5):
            row = {"user_id": f"u{user:02d}", "item_id": f"i{(user + step) % 40}"}
            row["event"] = "purchase"
            if split:
                row["split"] = "test" if step == 4 else "valid" if step == 3 else "train"
            rows.append(row)
    items = Catalog(pl.DataFrame({"item_id": ITEMS, "title": ITEMS}))
    return Dataset(items=items, events=Events(pl.DataFrame(rows)), name="shop")


def logged() -> Dataset:
    """Impressions at positions 1..10 and one click each, for 30 requests."""
    rows = []
    for request in range(30):
        for position in range(1, 11):
            item = f"i{(request + position) % 40}"
            rows.append(
                {
                    "user_id": f"u{request}",
                    "item_id": item,
                    "event": "impression",
                    "position": position,
                }
            )
        rows.append({"user_id": f"u{request}", "item_id": "i0", "event": "click", "position": 1})
    items = Catalog(pl.DataFrame({"item_id": ITEMS, "title": ITEMS}))
    return Dataset(items=items, events=Events(pl.DataFrame(rows)), name="log")


def held_out(dataset: Dataset) -> pl.DataFrame:
    assert dataset.events is not None
    return dataset.events.frame.filter(pl.col("split") != "train")


def frame(dataset: Dataset) -> pl.DataFrame:
    assert dataset.events is not None
    return dataset.events.frame


NAMES = ("click-noise", "click-noise-position", "click-spam", "click-spam-many", "cold-catalog")


def test_the_event_scenarios_are_registered_for_the_recommender() -> None:
    assert set(NAMES) <= set(scenario_names(Target.RECOMMEND))


@pytest.mark.parametrize("name", NAMES)
def test_each_scenario_is_seeded_pure_and_leaves_valid_and_test_alone(name: str) -> None:
    scenario = get_scenario(name)
    data = shop()
    before = frame(data).clone()
    assert scenario.apply(data, 0.0, seed=1) is data
    strength = scenario.strengths[-1]
    a, b = scenario.apply(data, strength, seed=1), scenario.apply(data, strength, seed=1)
    assert frame(a).equals(frame(b))
    assert frame(data).equals(before)
    assert held_out(a).equals(held_out(data))
    assert not frame(a).equals(frame(data))


def test_random_false_clicks_are_inserted_after_a_shopper_row_in_her_order() -> None:
    data = shop()
    noisy = frame(random_false_clicks(data, 0.5, seed=3))
    train = frame(data).filter(pl.col("split") == "train").height  # 60
    clicks = noisy.filter(pl.col("event") == "click")
    assert clicks.height == 30 == round(0.5 * train)
    assert set(clicks["split"].to_list()) == {"train"}
    # dropping the clicks gives back the log, row for row
    assert noisy.filter(pl.col("event") != "click").equals(frame(data))
    # every false click sits inside its shopper's train block (before her valid row)
    for user, rows in noisy.group_by("user_id", maintain_order=True):
        splits = rows["split"].to_list()
        assert splits[-2:] == ["valid", "test"], user


def test_position_biased_false_clicks_prefer_the_top_of_the_list() -> None:
    data = logged()
    noisy = frame(position_biased_false_clicks(data, 2.0, seed=0))
    assert noisy.height == frame(data).height  # impressions turn into clicks, none added
    assert noisy.filter(pl.col("event") == "click").height - 30 == 60  # 2.0 x 30 clicks
    clicks = noisy.filter((pl.col("event") == "click") & (pl.col("item_id") != "i0"))
    top = clicks.filter(pl.col("position") <= 3).height
    assert top > clicks.filter(pl.col("position") >= 8).height * 2


def test_position_biased_false_clicks_without_impressions_follow_popularity_rank() -> None:
    data = shop(split=False)
    noisy = frame(position_biased_false_clicks(data, 5.0, seed=0))
    clicks = noisy.filter(pl.col("event") == "click")
    assert clicks.height == 300  # 5.0 x the 60 train rows of the leave-last-out split
    # the most bought items (i4..i19, five each) are drawn far more often than the tail
    counts = clicks.group_by("item_id").len()
    assert counts.sort("len", descending=True)["item_id"][0] in {f"i{n}" for n in range(4, 20)}


def test_click_spam_adds_bots_pairing_best_sellers_with_pushed_items() -> None:
    data = shop()
    spammed = frame(click_spam(data, 1.0, seed=0))
    bots = spammed.filter(pl.col("user_id").str.starts_with(BOT_PREFIX))
    assert bots.height == 60  # 1.0 x 60 train interactions
    assert bots["user_id"].n_unique() == BOTS
    assert set(bots["split"].to_list()) == {"train"}
    first = bots.filter(pl.col("user_id") == f"{BOT_PREFIX}0")["item_id"].to_list()
    anchors, targets = set(first[0::2]), set(first[1::2])
    assert len(anchors) == min(ANCHORS, 6) and len(targets) == TARGETS
    assert spammed.head(frame(data).height).equals(frame(data))


def test_many_small_bots_split_the_campaign_into_accounts_of_twenty_clicks() -> None:
    spammed = frame(get_scenario("click-spam-many").apply(shop(), 1.5, 0))
    bots = spammed.filter(pl.col("user_id").str.starts_with(BOT_PREFIX))
    assert bots.height == 90  # 1.5 x 60 train interactions
    assert bots.group_by("user_id").len()["len"].sort().to_list() == [18, 18, 18, 18, 18]
    spammed = frame(get_scenario("click-spam-many").apply(shop(), 1.0, 0))
    counts = spammed.filter(pl.col("user_id").str.starts_with(BOT_PREFIX)).group_by("user_id")
    assert counts.len()["len"].to_list() == [SMALL_BOT_CLICKS] * 3
    # the second account goes on through the 20 anchors (half the catalog) where the first
    # stopped: ten anchors each, none shared
    first = spammed.filter(pl.col("user_id") == f"{BOT_PREFIX}0")["item_id"].to_list()
    second = spammed.filter(pl.col("user_id") == f"{BOT_PREFIX}1")["item_id"].to_list()
    assert len(set(first[0::2])) == len(set(second[0::2])) == 10
    assert set(first[0::2]).isdisjoint(second[0::2])


def test_cold_catalog_drops_every_train_row_of_a_share_of_items() -> None:
    data = shop()
    cold = frame(cold_catalog(data, 0.5, seed=0))
    train_items = set(frame(data).filter(pl.col("split") == "train")["item_id"].to_list())
    kept = set(cold.filter(pl.col("split") == "train")["item_id"].to_list())
    assert len(train_items - kept) == round(0.5 * len(train_items))
    with pytest.raises(ValueError, match="at most 1"):
        cold_catalog(data, 1.5, seed=0)


def test_a_dataset_without_events_is_a_one_line_error() -> None:
    data = Dataset(items=Catalog(pl.DataFrame({"item_id": ["a"], "title": ["a"]})), name="bare")
    with pytest.raises(ValueError, match="has no events"):
        random_false_clicks(data, 0.1, seed=0)


def test_an_unsplit_log_keeps_its_clean_leave_last_out_split() -> None:
    data = shop(split=False)
    noisy = frame(random_false_clicks(data, 1.0, seed=0))
    split = frame(shop(split=True))
    assert held_out(random_false_clicks(data, 1.0, seed=0)).equals(
        split.filter(pl.col("split") != "train")
    )
    assert noisy.filter(pl.col("event") == "click")["split"].unique().to_list() == ["train"]


def sessions() -> Dataset:
    """30 shoppers, 3 requests each (train, valid, test by leave-last-out): 10 impressions of
    items only that request shows, then a purchase of the one at position 5; no split."""
    rows = []
    for user in range(30):
        for request in range(3):
            shown = [f"i{(user * 3 + request) * 10 + p}" for p in range(10)]
            for position, item in enumerate(shown, start=1):
                rows.append(
                    {
                        "user_id": f"u{user}",
                        "item_id": item,
                        "event": "impression",
                        "position": position,
                    }
                )
            rows.append(
                {"user_id": f"u{user}", "item_id": shown[4], "event": "purchase", "position": 5}
            )
    ids = sorted({r["item_id"] for r in rows})
    items = Catalog(pl.DataFrame({"item_id": ids, "title": ids}))
    return Dataset(items=items, events=Events(pl.DataFrame(rows)), name="sessions")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_position_noise_never_turns_a_held_out_list_into_train_clicks(seed: int) -> None:
    noisy = frame(position_biased_false_clicks(sessions(), 5.0, seed=seed))
    interactions = noisy.filter(pl.col("event") != "impression")
    assert interactions.filter(pl.col("event") == "click").height == 150  # 5 x 30 train rows
    held = interactions.filter(pl.col("split") != "train").select("user_id", "item_id")
    train = interactions.filter(pl.col("split") == "train").select("user_id", "item_id")
    assert held.height == 60
    assert held.join(train, on=["user_id", "item_id"]).height == 0
    # the lists the valid and test purchases were made from carry their split
    shown = noisy.filter(pl.col("event") != "purchase")  # impressions and flipped ones
    assert shown.group_by("split").len().sort("split")["len"].to_list() == [300, 300, 300]
    assert set(shown.filter(pl.col("event") == "click")["split"].to_list()) == {"train"}
