"""The loop policy's features and logged rounds: hand-checked values and bad inputs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from paretorec.loop import policy as policy_module
from paretorec.loop.features import FeatureLayout, smoothed_rates
from paretorec.loop.policy import MAX_ITEMS, catalog_marginals, read_log
from paretorec.simulate import plackett_luce_marginals
from paretorec.types import Catalog, Dataset, Events, Users

ITEMS = pl.DataFrame(
    {
        "item_id": ["a", "b", "c"],
        "title": ["A", "B", "C"],
        "category": ["Tools > Drills", "Paint > White", None],
        "price": [9.0, 99.0, 0.0],
        "stock": [1, 0, 5],
    }
)
USERS = pl.DataFrame({"user_id": ["u1", "u2"], "tier": ["low", "high"], "age": [20.0, 40.0]})


def test_smoothed_rates_by_hand() -> None:
    shown = np.array([0, 0, 1, 0])
    clicked = np.array([1.0, 0.0, 1.0, 1.0])
    rates, overall = smoothed_rates(shown, clicked, 3, prior=2.0)
    assert overall == 0.75
    # item 0: (2 + 2 x 0.75) / (3 + 2); item 1: (1 + 1.5) / 3; item 2 unseen: the prior
    assert rates == pytest.approx([0.7, 2.5 / 3, 0.75])
    rates, _ = smoothed_rates(shown, clicked, 3, prior=2.0, prior_rates=np.array([0.0, 0.0, 0.1]))
    assert rates == pytest.approx([2 / 5, 1 / 3, 0.1])


def test_layout_features_and_json_round_trip() -> None:
    layout = FeatureLayout.fit(USERS, ITEMS, {"a": 0.2, "b": 0.1}, 0.15)
    assert layout.user_text == {"tier": ("high", "low")}
    assert layout.departments == ("", "Paint", "Tools")
    context = layout.contexts(USERS, ["u2", "nobody", "u1"])
    assert context[:, :2].tolist() == [[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]]  # unknown: zeros
    assert context[:, 2] == pytest.approx([1.0, 0.0, -1.0])  # age standardized; unknown: mean
    items = layout.items(ITEMS)
    assert items[:, :3].tolist() == [[0, 0, 1], [0, 1, 0], [1, 0, 0]]
    assert items[:, 4].tolist() == [1.0, 0.0, 1.0]  # in stock
    assert layout.rates(["b", "new"]).tolist() == [0.1, 0.15]  # unseen: the overall rate
    again = FeatureLayout.from_json(layout.to_json())
    assert again == layout
    with pytest.raises(ValueError, match="not a loop feature layout"):
        FeatureLayout.from_json({"user_text": {}})


def _shop(events: pl.DataFrame, items: pl.DataFrame = ITEMS) -> Dataset:
    return Dataset(items=Catalog(items), users=Users(USERS), events=Events(events), name="shop")


def _events(stamps: Sequence[datetime | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": ["u1", "u1", "u2", "u2"],
            "item_id": ["a", "a", "b", "b"],
            "event": ["impression", "click", "impression", "purchase"],
            "timestamp": list(stamps),
            "session_id": ["s1", "s1", "s2", "s2"],
            "position": [1, 1, 2, 2],
            "propensity": [0.5, 0.5, 0.25, 0.25],
        },
        schema_overrides={"timestamp": pl.Datetime("us", "UTC")},
    )


def test_read_log_rewards_and_whole_sessions_after_the_cut() -> None:
    day = [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 3, 2, 4)]
    log = read_log(_shop(_events(day)))
    assert log.n_rounds == 2
    assert log.action.tolist() == [0, 1] and log.position.tolist() == [0, 1]
    assert log.rewards["clicks"].tolist() == [1.0, 0.0]
    assert log.rewards["purchases"].tolist() == [0.0, 1.0]
    assert log.rewards["revenue"] == pytest.approx([0.0, 99.0 / 36.0])  # in mean prices
    assert log.until == "2024-01-04T00:00:00+00:00"
    # s1's list was shown before the cut: its click after it stays out with it
    later = read_log(_shop(_events(day)), datetime(2024, 1, 1, 12, tzinfo=UTC))
    assert later.n_rounds == 1 and later.user_ids == ("u2",)
    # without session ids a shopper's lists after the cut count, whatever came before
    again = _events([day[0], day[0], day[2], day[3]]).drop("session_id")
    returning = pl.concat([again, again.with_columns(pl.col("timestamp") + pl.duration(days=9))])
    after = read_log(_shop(returning), datetime(2024, 1, 5, tzinfo=UTC))
    assert after.user_ids == ("u1", "u2")
    assert after.rewards["clicks"].tolist() == [1.0, 0.0]


def test_read_log_refuses_what_it_cannot_learn_from() -> None:
    day = [datetime(2024, 1, 1, tzinfo=UTC)] * 4
    with pytest.raises(ValueError, match="no impressions after"):
        read_log(_shop(_events(day)), datetime(2024, 2, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="needs events with timestamps"):
        read_log(_shop(_events([None] * 4)), datetime(2024, 2, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="no events"):
        read_log(Dataset(items=Catalog(ITEMS), name="shop"))
    many = pl.DataFrame(
        {"item_id": [f"i{n}" for n in range(MAX_ITEMS + 1)], "title": ["t"] * (MAX_ITEMS + 1)}
    )
    with pytest.raises(ValueError, match="at most 2,000 items"):
        read_log(_shop(_events(day), many))


def test_catalog_marginals_in_blocks_equal_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    logits = np.random.default_rng(0).normal(size=(7, 5))
    whole = plackett_luce_marginals(logits, np.tile(np.arange(5), (7, 1)), 3)
    monkeypatch.setattr(policy_module, "_PL_CELLS", 50)  # two rounds a block
    blocks = catalog_marginals(logits, 3)
    assert blocks.shape == (7, 5, 3)
    assert np.allclose(blocks, whole, atol=1e-12)
    assert np.allclose(blocks.sum(axis=1), 1.0)
