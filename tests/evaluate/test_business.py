"""Business metrics of an events table: hand-checked values, simulated logs, bad inputs."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from paretorec.evaluate.business import (
    business_metrics,
    ctr,
    cvr,
    margin,
    purchases_per_session,
    revenue,
)
from paretorec.simulate import WorldConfig, simulate_dataset
from paretorec.types import Catalog, Events

CATALOG = Catalog(
    pl.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "title": ["A", "B", "C"],
            "price": [10.0, 20.0, 5.0],
            "cost": [6.0, 15.0, 5.0],
        }
    )
)


def events(rows: list[tuple[str, str, str, str, float | None]]) -> Events:
    return Events(
        pl.DataFrame(
            rows,
            schema={
                "user_id": pl.String,
                "item_id": pl.String,
                "event": pl.String,
                "session_id": pl.String,
                "value": pl.Float64,
            },
            orient="row",
        )
    )


LOG = events(
    [
        ("u1", "a", "impression", "s1", None),
        ("u1", "b", "impression", "s1", None),
        ("u1", "a", "click", "s1", None),
        ("u1", "a", "cart", "s1", None),
        ("u1", "a", "purchase", "s1", 9.5),  # a discount: value is what was paid
        ("u2", "c", "impression", "s2", None),
        ("u2", "b", "impression", "s2", None),
        ("u2", "b", "click", "s2", None),
    ]
)


def test_business_metrics_by_hand() -> None:
    assert ctr(LOG) == 2 / 4  # 2 clicks over 4 impressions
    assert cvr(LOG) == 1 / 2  # 1 purchase over 2 clicks
    assert purchases_per_session(LOG) == 1 / 2  # 1 purchase over sessions s1, s2
    assert revenue(LOG) == 9.5  # GMV: the value of the purchase row
    assert margin(LOG, CATALOG) == 10.0 - 6.0  # catalog price - cost of item a
    summary = business_metrics(LOG, catalog=CATALOG)
    assert (summary.impressions, summary.clicks, summary.carts, summary.purchases) == (4, 2, 1, 1)
    assert summary.as_dict() == {
        "impressions": 4.0,
        "clicks": 2.0,
        "carts": 1.0,
        "purchases": 1.0,
        "sessions": 2.0,
        "ctr": 0.5,
        "cvr": 0.5,
        "purchases_per_session": 0.5,
        "revenue": 9.5,
        "margin": 4.0,
    }


def test_undefined_ratios_are_none_in_the_summary() -> None:
    only_purchases = events([("u", "a", "purchase", "s", 10.0)])
    summary = business_metrics(only_purchases)
    assert summary.ctr is None and summary.cvr is None and summary.margin is None
    assert summary.revenue == 10.0
    assert summary.purchases_per_session == 1.0
    empty = events([])
    assert revenue(empty) == 0.0
    assert margin(empty, CATALOG) == 0.0


def test_simulated_logs_agree_with_direct_counts() -> None:
    lively = WorldConfig.lively()  # with a fixed click intercept: no calibration run
    config = replace(
        lively, behaviour=replace(lively.behaviour, calibration=None, click_intercept=-1.0)
    )
    dataset = simulate_dataset(500, 100, 400, seed=1, list_size=4, config=config)
    assert dataset.events is not None
    frame = dataset.events.frame
    count = dict(frame["event"].value_counts().iter_rows())
    summary = business_metrics(dataset.events, catalog=dataset.items)
    assert summary.ctr == count["click"] / count["impression"]
    assert summary.purchases == count["purchase"] > 0
    assert summary.sessions == frame["session_id"].n_unique()
    purchased = frame.filter(pl.col("event") == "purchase")
    assert summary.revenue == pytest.approx(purchased["value"].sum(), abs=1e-9)
    priced = purchased.join(dataset.items.frame, on="item_id")
    assert summary.margin == pytest.approx((priced["price"] - priced["cost"]).sum(), abs=1e-9)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ctr(events([("u", "a", "click", "s", None)])), "no impressions"),
        (lambda: cvr(events([("u", "a", "impression", "s", None)])), "no clicks"),
        (lambda: ctr(events([("u", "a", "hover", "s", None)])), "unknown event"),
        (lambda: revenue(events([("u", "a", "purchase", "s", None)])), "have no value"),
        (
            lambda: revenue(
                Events(pl.DataFrame({"user_id": ["u"], "item_id": ["a"], "event": ["purchase"]}))
            ),
            "value column",
        ),
        (
            lambda: purchases_per_session(
                Events(pl.DataFrame({"user_id": ["u"], "item_id": ["a"], "event": ["purchase"]}))
            ),
            "session_id column",
        ),
        (
            lambda: purchases_per_session(events([("u", "a", "purchase", None, 1.0)])),
            "no session_id",
        ),  # type: ignore[list-item]
        (lambda: margin(events([("u", "zz", "purchase", "s", 1.0)]), CATALOG), "'zz'"),
        (
            lambda: margin(
                LOG, Catalog(pl.DataFrame({"item_id": ["a"], "title": ["A"], "price": [1.0]}))
            ),
            "cost",
        ),
    ],
)
def test_bad_inputs_raise(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
