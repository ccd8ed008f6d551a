"""The explorer's endpoints: the page and its assets, the objectives, a request's front
(lists and values across the weight simplex), constrained picks, chosen default weights."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from paretorec.serve import ModelRegistry
from paretorec.serve.loading import LoadOptions, load_pipeline
from tests.serve.conftest import AUTH, AppFactory, HashingEncoder

NAMES = ("clicks", "purchases", "revenue")


def test_the_page_and_its_script_come_from_the_service(
    make_client: AppFactory, policy_models: Path
) -> None:
    client = make_client(models=policy_models)
    page = client.get("/explorer")
    assert page.status_code == 200 and "trade-off explorer" in page.text
    assert 'src="/explorer/plotly.js"' in page.text and "http" not in page.text.split("<style>")[0]
    script = client.get("/explorer/plotly.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert len(script.content) > 1_000_000  # plotly.min.js from the plotly wheel


def test_config_names_the_served_objectives(make_client: AppFactory, policy_models: Path) -> None:
    config = make_client(models=policy_models).get("/explorer/config").json()
    assert config["objectives"] == list(NAMES)
    assert config["default_weights"] == {"clicks": 0.5, "purchases": 0.25, "revenue": 0.25}
    assert config["ordered_by"] == "policy" and config["recommend"] is True


def test_each_front_point_is_the_list_search_gives_for_its_weights(
    make_client: AppFactory, policy_models: Path
) -> None:
    client = make_client(models=policy_models)
    request = {"query": "cordless drill", "k": 5, "user_id": "u1"}
    front = client.post("/front", json={**request, "divisions": 4}).json()
    assert len(front["points"]) == math.comb(4 + 2, 2)  # every w in steps of 1/4
    assert front["measured"] == list(NAMES)
    seen = 1.0 / np.log2(np.arange(2, 7))
    for point in front["points"][::4]:
        listed = client.post("/search", json={**request, "weights": point["weights"]}).json()
        assert point["item_ids"] == [item["item_id"] for item in listed["items"]]
        # values: what the shown predictions expect under 1/log2(1 + position)
        for objective, prediction in zip(NAMES, ("click", "purchase", "revenue"), strict=True):
            expected = sum(
                w * item["predictions"][prediction]
                for w, item in zip(seen, listed["items"], strict=True)
            )
            assert point["values"][objective] == pytest.approx(expected, rel=1e-9)
        assert sum(point["seller_exposure"].values()) == pytest.approx(1.0)
    values = np.array([[p["values"][n] for n in NAMES] for p in front["points"]])
    for n, point in enumerate(front["points"]):
        beaten = np.all(values >= values[n], axis=1) & np.any(values > values[n], axis=1)
        assert point["dominated"] == bool(beaten.any())
    assert not front["points"][front["knee"]]["dominated"]
    assert not front["points"][front["compromise"]]["dominated"]


def test_one_point_and_the_constrained_pick(make_client: AppFactory, policy_models: Path) -> None:
    client = make_client(models=policy_models)
    request = {"query": "drill", "k": 5}
    front = client.post("/front", json={**request, "divisions": 4}).json()
    some = front["points"][7]
    one = client.post("/front", json={**request, "weights": some["weights"]}).json()
    assert len(one["points"]) == 1 and one["points"][0]["item_ids"] == some["item_ids"]
    assert one["points"][0]["values"] == pytest.approx(some["values"])

    revenue = sorted(p["values"]["revenue"] for p in front["points"])
    bound = revenue[len(revenue) // 2]
    ask = {**request, "divisions": 4, "maximize": "clicks", "at_least": {"revenue": bound}}
    answer = client.post("/front", json=ask).json()
    feasible = [p for p in front["points"] if p["values"]["revenue"] >= bound]
    chosen = answer["points"][answer["chosen"]]
    assert chosen["values"]["revenue"] >= bound
    assert chosen["values"]["clicks"] == pytest.approx(max(p["values"]["clicks"] for p in feasible))
    too_much = {**ask, "at_least": {"revenue": revenue[-1] * 10 + 1}}
    assert client.post("/front", json=too_much).json()["chosen"] is None


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        ({"divisions": 4}, "needs a query"),
        ({"mode": "recommend", "divisions": 4}, "user_id or session_items"),
        ({"query": "drill", "divisions": 19}, "at most 200"),
        ({"query": "drill", "divisions": 0}, "divisions"),
        ({"query": "drill", "divisions": "4"}, "divisions"),
        ({"query": "drill", "weights": {"click": 1.0}}, "unknown objective"),
        ({"query": "drill", "weights": {"clicks": 0.0}}, "sum to 0"),
        ({"query": "drill", "maximize": "novelty"}, "cannot constrain 'novelty'"),
        ({"query": "drill", "maximize": "clicks", "at_least": {"margin": 1}}, "'margin'"),
    ],
)
def test_bad_front_requests_get_422_with_a_reason(
    make_client: AppFactory, policy_models: Path, payload: dict[str, object], says: str
) -> None:
    response = make_client(models=policy_models).post("/front", json=payload)
    assert response.status_code == 422, response.text
    assert says in response.json()["error"]


def test_admin_chooses_the_default_weights_and_a_restart_keeps_them(
    make_client: AppFactory, policy_models: Path
) -> None:
    client = make_client(models=policy_models)
    wanted = {"weights": {"revenue": 3.0, "clicks": 1.0}}
    assert client.post("/admin/default-weights", json=wanted).status_code == 401
    bad = client.post("/admin/default-weights", json={"weights": {"ctr": 1}}, headers=AUTH)
    assert bad.status_code == 422 and "unknown objective" in bad.json()["error"]
    done = client.post("/admin/default-weights", json=wanted, headers=AUTH)
    assert done.status_code == 200, done.text
    chosen = {"clicks": 0.25, "purchases": 0.0, "revenue": 0.75}
    assert done.json() == {"default_weights": chosen, "kept": True}
    listed = client.post("/search", json={"query": "drill"}).json()
    assert listed["weights"] == chosen and listed["weights_source"] == "default"
    assert client.get("/explorer/config").json()["chosen_by_admin"] is True
    restarted = load_pipeline(ModelRegistry(policy_models), LoadOptions(encoder=HashingEncoder()))
    assert restarted.preferred is not None and restarted.preferred.as_dict() == chosen
