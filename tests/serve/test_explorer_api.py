"""The explorer's endpoints: the page and its assets, the objectives, a request's front
(lists and values across the weight simplex), constrained picks, chosen default weights."""

from __future__ import annotations

import json
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


def test_config_says_what_search_does_when_the_policy_cannot_be_used(
    make_client: AppFactory, models_dir: Path, tmp_path: Path
) -> None:
    # a policy but no ranker: the policy's predictions are missing, retrieval orders
    import shutil

    from tests.serve.trained import add_policy

    root = tmp_path / "index-and-policy"
    shutil.copytree(models_dir, root)
    add_policy(ModelRegistry(root))
    client = make_client(models=root)
    config = client.get("/explorer/config").json()
    listed = client.post("/search", json={"query": "drill"}).json()
    assert config["ordered_by"] == listed["ordered_by"] == "retrieval"
    assert config["objectives"] == list(listed["weights"]) == ["relevance"]


def test_no_catalog_front_yet_says_where_it_looked_and_how_to_make_one(
    make_client: AppFactory, policy_models: Path
) -> None:
    client = make_client(models=policy_models)
    missing = client.get("/explorer/catalog-front")
    assert missing.status_code == 200
    report = policy_models / "fronts" / "v0001" / "metrics.json"
    assert missing.json() == {
        "available": False,
        "message": f"no pareto report for policy v0001 yet: looked for {report}; make one with "
        f"`paretorec pareto --policy v0001 --models {policy_models} "
        f"--out {policy_models / 'fronts' / 'v0001'}`",
    }
    report.parent.mkdir(parents=True)
    report.write_text("{not json")
    broken = client.get("/explorer/catalog-front").json()
    assert broken["available"] is False and "not a pareto report" in broken["message"]
    other = {"objectives": [{"name": "ndcg"}, {"name": "revenue"}], "front": []}
    report.write_text(json.dumps(other))
    assert (
        "weighs ndcg, revenue, the served policy clicks, purchases, revenue"
        in (client.get("/explorer/catalog-front").json()["message"])
    )


def test_a_catalog_front_report_is_read_as_written(
    make_client: AppFactory, policy_models: Path
) -> None:
    rows = [
        {"method": "policy v0001", "w_clicks": 1.0, "w_purchases": 0.0, "w_revenue": 0.0,
         "clicks": 0.9, "purchases": 0.1, "revenue": 3.0, "pareto_rank": 0, "chosen": False},
        {"method": "policy v0001", "w_clicks": 0.0, "w_purchases": 0.5, "w_revenue": 0.5,
         "clicks": 0.5, "purchases": 0.2, "revenue": 9.0, "pareto_rank": 0, "chosen": True},
    ]  # fmt: skip
    names = [{"name": n, "direction": "maximize"} for n in NAMES]
    report = policy_models / "fronts" / "v0001" / "metrics.json"
    report.parent.mkdir(parents=True)
    report.write_text(json.dumps({"objectives": names, "front": rows}))
    found = make_client(models=policy_models).get("/explorer/catalog-front").json()
    assert found["available"] is True and found["version"] == "v0001" and found["chosen"] == 1
    assert found["points"][1] == {
        "weights": {"clicks": 0.0, "purchases": 0.5, "revenue": 0.5},
        "values": {"clicks": 0.5, "purchases": 0.2, "revenue": 9.0},
    }


def test_intervals_without_logged_propensities_are_a_note_not_an_error(
    make_client: AppFactory, policy_models: Path
) -> None:
    # the tiny shop's training log has no propensity column, the event log is empty
    body = {"query": "drill", "k": 5, "divisions": 2, "intervals": True}
    front = make_client(models=policy_models).post("/front", json=body)
    assert front.status_code == 200, front.text
    assert front.json()["intervals"] is None
    assert all(p["ope"] is None for p in front.json()["points"])
    assert any(
        n.startswith("no off-policy intervals: no logged lists") for n in front.json()["notes"]
    )


def test_intervals_from_the_services_own_event_log_are_iips_by_hand(
    make_client: AppFactory, policy_models: Path, tmp_path: Path
) -> None:
    """Two lists logged for "drill" (the query id names the query), each of two items; the
    first list shows at position 1 what the point shows there, and it was clicked."""
    client = make_client(models=policy_models, events=tmp_path / "log")
    request = {"query": "drill", "k": 2}
    point = client.post("/front", json={**request, "weights": {"clicks": 1.0}}).json()
    top, second = point["points"][0]["item_ids"]
    other = next(i for i in ("g2", "l1", "p2") if i not in (top, second))

    def shown(session: str, item: str, position: int, p: float) -> dict[str, object]:
        return {"user_id": "u9", "item_id": item, "session_id": session, "query_id": "drill",
                "position": position, "propensity": p, "timestamp": "2024-05-01T10:00:00Z"}  # fmt: skip

    events = [
        shown("a", top, 1, 0.5), shown("a", other, 2, 0.5),
        {**shown("a", top, 1, 0.5), "event": "click", "timestamp": "2024-05-01T10:00:05Z"},
        shown("b", other, 1, 0.25), shown("b", top, 2, 0.25),
        {**shown("b", top, 2, 0.25), "event": "click", "timestamp": "2024-05-01T10:00:07Z"},
    ]  # fmt: skip
    # a list logged without propensities, and its click: left out with its click, no 500
    unlogged_list = {k: v for k, v in shown("c", top, 1, 1.0).items() if k != "propensity"}
    events += [unlogged_list, {**unlogged_list, "event": "click"}]
    for event in events:
        event.setdefault("event", "impression")
    assert client.post("/events", json={"events": events}).status_code == 200
    found = client.post(
        "/front", json={**request, "weights": {"clicks": 1.0}, "intervals": True}
    ).json()
    assert found["intervals"]["n_lists"] == 2
    assert found["intervals"]["sources"] == [str(tmp_path / "log")]
    estimate = found["points"][0]["ope"]["clicks"]
    # list a: the top item at 1 clicked, weight 1 / 0.5; list b: the top item shown at 2,
    # where the point has `second`, so weight 0: (2 + 0) / 2 lists
    assert estimate["mean"] == pytest.approx(1.0)
    assert estimate["lower"] <= estimate["mean"] <= estimate["upper"]
    assert found["points"][0]["ope"]["purchases"]["mean"] == 0.0
    assert found["points"][0]["matched"] == 1
    assert found["points"][0]["support"] == pytest.approx(0.5)  # (top, 1) logged, (second, 2) not
    unlogged = client.post(
        "/front", json={"query": "paint", "k": 2, "divisions": 1, "intervals": True}
    )
    assert (
        "no off-policy intervals: no logged lists for the query 'paint'" in unlogged.json()["notes"]
    )
