"""The explorer on the demo's own models (built once per module as `paretorec demo`
builds them, `tests/serve/demo_shop.py`): the catalog-wide front of the policy's pareto
report beside the request's, and off-policy intervals from the shop's logged lists, in
the API and in a real browser. Screenshots are kept in test-artifacts/explorer-demo.png
(the model's values) and explorer-demo-ope.png (the logged estimates)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl
import pytest

from paretorec.serve import ModelRegistry
from paretorec.serve.app import create_app
from paretorec.serve.event_log import EventLog
from paretorec.serve.loading import LoadOptions, load_pipeline
from tests.serve.browser import (
    ARTIFACTS,
    chromium,
    listed,
    move_slider,
    needs_chromium,
    open_page,
    served,
    version,
    wait_for_update,
)
from tests.serve.conftest import TOKEN, HashingEncoder
from tests.serve.demo_shop import build_demo_models

pytestmark = pytest.mark.slow
NAMES = ("clicks", "revenue", "diversity", "relevance")
PAGE_DIVISIONS = 6  # the explorer's grid for four objectives (explorer.html)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(models folder, shop folder) of the demo's models."""
    out = tmp_path_factory.mktemp("demo")
    models, shop = build_demo_models(out)
    return models, out / shop.name


@pytest.fixture(scope="module")
def busiest_query(demo: tuple[Path, Path]) -> tuple[str, list[str]]:
    """The query with the most logged lists in the shop's log, and its query ids."""
    _, shop = demo
    events = pl.read_parquet(shop / "events.parquet")
    queries = pl.read_parquet(shop / "queries.parquet")
    counts = (
        events.filter(pl.col("event") == "impression", pl.col("query_id").is_not_null())
        .join(queries, on="query_id")
        .group_by(pl.col("text").str.to_lowercase())
        .agg(pl.col("session_id").n_unique().alias("lists"), pl.col("query_id").unique())
        .sort("lists", "text", descending=[True, False])
    )
    text, _, ids = counts.row(0)
    return str(text), [str(i) for i in ids]


@pytest.fixture(scope="module")
def service(demo: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    models, _ = demo
    registry = ModelRegistry(models)
    pipeline = load_pipeline(registry, LoadOptions(encoder=HashingEncoder()))
    log = EventLog(tmp_path_factory.mktemp("demo-events"))
    app = create_app(pipeline, admin_token=TOKEN, registry=registry, event_log=log)
    with served(app) as base:
        yield base
    log.close()


def test_the_catalog_front_is_the_promoted_policys_pareto_report(
    demo: tuple[Path, Path], service: str
) -> None:
    models, _ = demo
    found = httpx.get(f"{service}/explorer/catalog-front").json()
    assert found["available"] is True, found
    report = json.loads((models / "fronts" / "v0001" / "metrics.json").read_text())
    assert found["version"] == "v0001" and found["objectives"] == list(NAMES)
    assert [p["values"] for p in found["points"]] == [
        {n: row[n] for n in NAMES} for row in report["front"]
    ]
    assert [p["weights"] for p in found["points"]] == [
        {n: row[f"w_{n}"] for n in NAMES} for row in report["front"]
    ]


def test_front_intervals_are_iips_of_the_shops_logged_lists(
    demo: tuple[Path, Path], service: str, busiest_query: tuple[str, list[str]]
) -> None:
    _, shop = demo
    text, ids = busiest_query
    body = {"query": text, "k": 10, "divisions": 3, "intervals": True}
    front = httpx.post(f"{service}/front", json=body).json()
    assert front["intervals"]["objectives"] == ["clicks", "revenue"]
    assert front["intervals"]["sources"] == [str(shop)]
    # By hand: per logged list, sum over its impressions that show the point's item at the
    # point's position of reward / propensity; the mean over the query's logged lists.
    events = pl.read_parquet(shop / "events.parquet").filter(pl.col("query_id").is_in(ids))
    shown = events.filter(pl.col("event") == "impression")
    clicked = events.filter(pl.col("event") == "click").select(
        "session_id", "item_id", "position", pl.lit(1.0).alias("click")
    )
    rows = shown.join(clicked, on=["session_id", "item_id", "position"], how="left")
    rows = rows.with_columns(pl.col("click").fill_null(0.0))
    n_lists = rows["session_id"].n_unique()
    assert front["intervals"]["n_lists"] == n_lists
    for point in front["points"]:
        place = {item: n + 1 for n, item in enumerate(point["item_ids"])}
        same = rows.filter(pl.col("position") == pl.col("item_id").replace_strict(place, default=0))
        expected = float((same["click"] / same["propensity"]).sum()) / n_lists
        clicks = point["ope"]["clicks"]
        assert clicks["mean"] == pytest.approx(expected, abs=1e-12)
        assert clicks["lower"] <= clicks["mean"] <= clicks["upper"]
        assert point["matched"] == same.height
    assert any(p["matched"] for p in front["points"])  # the logs say something here


def _nearest(points: list[dict[str, Any]], weights: dict[str, float]) -> int:
    distance = [sum((p["weights"][n] - weights[n]) ** 2 for n in NAMES) for p in points]
    return int(np.argmin(distance))


@needs_chromium()
def test_in_a_browser_the_catalog_marker_and_the_error_bars_follow_the_api(
    service: str, busiest_query: tuple[str, list[str]]
) -> None:
    text, _ = busiest_query
    request = {"query": text, "k": 10}
    catalog = httpx.get(f"{service}/explorer/catalog-front").json()
    with chromium() as browser:
        page = open_page(browser, f"{service}/explorer")
        assert page.evaluate("config.objectives") == list(NAMES)
        page.fill("#query", text)
        page.click("#go")
        wait_for_update(page, 0)
        page.select_option("#axis-x", "clicks")
        page.select_option("#axis-y", "revenue")
        for name, value in (("revenue", 900), ("diversity", 800), ("clicks", 950)):
            move_slider(page, name, value)
            weights = page.evaluate("state.weights")
            api = httpx.post(f"{service}/search", json={**request, "weights": weights}).json()
            assert listed(page) == [item["item_id"] for item in api["items"]]
            near = _nearest(catalog["points"], weights)
            marker = page.evaluate(
                "[document.getElementById('catalog-front').data[1].x[0], "
                "document.getElementById('catalog-front').data[1].y[0]]"
            )
            reported = catalog["points"][near]["values"]
            assert marker == pytest.approx([reported["clicks"], reported["revenue"]])
            assert page.get_attribute("#catalog-front", "data-nearest") == str(near)

        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explorer-demo.png"), full_page=True)

        # the off-policy view: each point at its logged estimate with its interval
        before = version(page)
        page.check("#show-ope")
        wait_for_update(page, before)
        divisions = page.evaluate("front.points.length")
        front = httpx.post(
            f"{service}/front", json={**request, "divisions": PAGE_DIVISIONS, "intervals": True}
        ).json()
        assert divisions == len(front["points"])
        drawn = page.evaluate(
            "(() => { const t = document.getElementById('front').data[0];"
            " return {x: t.x, y: t.y, plus: t.error_y.array, minus: t.error_y.arrayminus}; })()"
        )
        revenue = [p["ope"]["revenue"] for p in front["points"]]
        assert drawn["x"] == pytest.approx([p["ope"]["clicks"]["mean"] for p in front["points"]])
        assert drawn["y"] == pytest.approx([e["mean"] for e in revenue])
        assert drawn["plus"] == pytest.approx([e["upper"] - e["mean"] for e in revenue])
        assert drawn["minus"] == pytest.approx([e["mean"] - e["lower"] for e in revenue])
        weights = page.evaluate("state.weights")
        point = httpx.post(
            f"{service}/front", json={**request, "weights": weights, "intervals": True}
        ).json()["points"][0]
        here = page.evaluate("document.getElementById('front').data[1].y[0]")
        assert here == pytest.approx(point["ope"]["revenue"]["mean"])
        page.screenshot(path=str(ARTIFACTS / "explorer-demo-ope.png"), full_page=True)
