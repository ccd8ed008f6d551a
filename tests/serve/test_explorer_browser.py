"""The explorer in a real browser (Debian's chromium, driven by Playwright): move a weight
and the list, its contribution bars and the "you are here" marker follow what the JSON API
says; the front's constrained answer is the API's; a shared URL restores the same view.

A screenshot is kept in test-artifacts/explorer.png, with the page's latency for a weight
change in test-artifacts/explorer.json."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paretorec.serve import ModelRegistry
from paretorec.serve.app import create_app
from paretorec.serve.loading import LoadOptions, load_pipeline
from tests.serve.browser import ARTIFACTS, chromium, needs_chromium, open_page, served
from tests.serve.browser import listed as _listed
from tests.serve.browser import version as _version
from tests.serve.browser import wait_for_update as _wait_for_update
from tests.serve.conftest import TOKEN, HashingEncoder
from tests.serve.trained import add_policy

REQUEST = {"query": "cordless drill", "user_id": "u1", "k": 5}
pytestmark = needs_chromium()


@pytest.fixture(scope="module")
def service(full_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("explorer") / "models"
    shutil.copytree(full_models_dir, root)
    add_policy(ModelRegistry(root))
    registry = ModelRegistry(root)
    pipeline = load_pipeline(registry, LoadOptions(encoder=HashingEncoder()))
    with served(create_app(pipeline, admin_token=TOKEN, registry=registry)) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as opened:
        yield opened


def _open(browser: Any, url: str) -> Any:
    return open_page(browser, url)


def _show_request(browser: Any, service: str) -> Any:
    """The explorer with REQUEST typed in and shown."""
    page = _open(browser, f"{service}/explorer")
    page.fill("#query", REQUEST["query"])
    page.fill("#user", REQUEST["user_id"])
    page.fill("#k", str(REQUEST["k"]))
    page.click("#go")
    _wait_for_update(page, 0)
    return page


def test_moving_a_weight_moves_the_list_bars_and_marker_as_the_api_says(
    service: str, browser: Any
) -> None:
    page = _show_request(browser, service)
    weights = page.evaluate("state.weights")
    assert weights == {"clicks": 0.5, "purchases": 0.25, "revenue": 0.25}
    api = httpx.post(f"{service}/search", json={**REQUEST, "weights": weights}).json()
    assert _listed(page) == [item["item_id"] for item in api["items"]]

    latencies = []
    for name, value in (("revenue", 1000), ("clicks", 900), ("purchases", 600)):
        before = _version(page)
        page.eval_on_selector(
            f"#w-{name}",
            f"el => {{ el.value = {value}; el.dispatchEvent(new Event('input')); }}",
        )
        _wait_for_update(page, before)
        latencies.append(float(page.get_attribute("body", "data-latency-ms")))
        weights = page.evaluate("state.weights")
        assert weights[name] == pytest.approx(value / 1000)
        assert sum(weights.values()) == pytest.approx(1.0)
        api = httpx.post(f"{service}/search", json={**REQUEST, "weights": weights}).json()
        assert _listed(page) == [item["item_id"] for item in api["items"]]
        bars = page.eval_on_selector_all(
            "#list tbody tr:first-child .bar",
            "bars => bars.map(b => [b.dataset.objective, Number(b.dataset.value)])",
        )
        assert dict(bars) == pytest.approx(api["items"][0]["contributions"], abs=1e-9)
        # "up N places for X": the objective that lifted each item most, as the API says
        shown = page.eval_on_selector_all(
            "#list tbody tr", "rows => rows.map(r => r.querySelector('.why')?.textContent ?? '')"
        )
        for text, item in zip(shown, api["items"], strict=True):
            lifted = sorted(
                (v, n) for n, v in item["places"].items() if v > 0
            )  # the largest last; a tie goes to the first objective in the page's order
            best = max((v for v, _ in lifted), default=0)
            assert (text == "") == (best == 0)
            if best:
                assert text.startswith(f"up {best} place") and text.split(" for ")[1] in {
                    n for v, n in lifted if v == best
                }
        point = httpx.post(f"{service}/front", json={**REQUEST, "weights": weights}).json()[
            "points"
        ][0]
        x_axis, y_axis = page.input_value("#axis-x"), page.input_value("#axis-y")
        marker = page.evaluate("[document.getElementById('front').data[1].x[0], "
                               "document.getElementById('front').data[1].y[0]]")  # fmt: skip
        assert marker == pytest.approx([point["values"][x_axis], point["values"][y_axis]])
        shares = page.eval_on_selector_all(
            "#fairness .exposure",
            "rows => rows.map(r => [r.dataset.group, Number(r.dataset.share)])",
        )
        assert dict(shares) == pytest.approx(point["seller_exposure"])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer.png"), full_page=True)
    (ARTIFACTS / "explorer.json").write_text(json.dumps({"weight_change_ms": latencies}))


def test_the_constrained_answer_is_the_apis_and_a_shared_url_restores_the_view(
    service: str, browser: Any
) -> None:
    page = _show_request(browser, service)
    front = httpx.post(f"{service}/front", json={**REQUEST, "divisions": 10}).json()
    revenue = sorted(p["values"]["revenue"] for p in front["points"])
    bound = revenue[len(revenue) // 2]
    page.select_option("#ask-max", "clicks")
    page.select_option("#ask-obj", "revenue")
    page.fill("#ask-min", repr(bound))
    before = _version(page)
    page.click("#ask")
    _wait_for_update(page, before)
    ask = {**REQUEST, "divisions": 10, "maximize": "clicks", "at_least": {"revenue": bound}}
    answer = httpx.post(f"{service}/front", json=ask).json()
    chosen = answer["points"][answer["chosen"]]
    assert page.evaluate("state.weights") == pytest.approx(chosen["weights"])
    assert _listed(page) == chosen["item_ids"]

    shared = page.get_attribute("#share-link", "href")
    again = _open(browser, shared)
    _wait_for_update(again, 0)
    assert again.evaluate("state.weights") == pytest.approx(chosen["weights"])
    assert _listed(again) == chosen["item_ids"]
    assert again.input_value("#query") == REQUEST["query"]
