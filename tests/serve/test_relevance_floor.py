"""The relevance floor in the service: whatever the weights, a search list never shows an
item below the floor above one that passes it; the rule is named where it acts. And a
weighed revenue says so when it rests on candidates without a price."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paretorec.constraints import RELEVANCE_FLOOR
from paretorec.objectives.kernels import share_of_best
from paretorec.serve import ModelRegistry
from paretorec.serve.constraints import read_constraints
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.missing_data import missing_price_note
from paretorec.serve.pipeline import SearchQuery, ServingPipeline
from tests.serve.conftest import AUTH, AppFactory, HashingEncoder
from tests.serve.trained import add_policy

QUERIES = ("cordless drill", "saw", "paint roller", "garden hose", "light bulb", "drill bit")
FLOOR = 0.5


@pytest.fixture(scope="module")
def floor_models(full_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("floor") / "models"
    shutil.copytree(full_models_dir, root)
    add_policy(ModelRegistry(root))
    return root


def _pipeline(models: Path, rules: dict[str, object], folder: Path) -> ServingPipeline:
    path = folder / "rules.json"
    path.write_text(json.dumps(rules))
    pipeline = load_pipeline(ModelRegistry(models), LoadOptions(encoder=HashingEncoder()))
    pipeline.constraints = read_constraints(path)
    return pipeline


def _relevance(pipeline: ServingPipeline, query: SearchQuery) -> dict[str, float]:
    """What the floor reads: no relevance task in this ranker, so the retrieval score as
    a share of the best candidate's."""
    context = pipeline.search_context(query)
    candidates = pipeline.search_candidates(context, query)
    shares = share_of_best(candidates.scores)
    return dict(zip(candidates.item_ids, shares.tolist(), strict=True))


@pytest.fixture(scope="module")
def floored(floor_models: Path, tmp_path_factory: pytest.TempPathFactory) -> ServingPipeline:
    return _pipeline(floor_models, {"relevance_floor": FLOOR}, tmp_path_factory.mktemp("rules"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(QUERIES),
    st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3).filter(lambda w: sum(w) > 1e-3),
    st.integers(2, 12),
)
def test_no_weighting_puts_an_item_below_the_floor_above_a_passing_one(
    floored: ServingPipeline, text: str, weights: list[float], k: int
) -> None:
    named = dict(zip(("clicks", "purchases", "revenue"), weights, strict=True))
    query = SearchQuery(text, k=k, weights=named)
    relevance = _relevance(floored, query)
    ranked = floored.search(query)
    passes = [relevance[item.item_id] >= FLOOR for item in ranked.items]
    assert passes == sorted(passes, reverse=True), (text, named, passes)
    for item, ok in zip(ranked.items, passes, strict=True):
        if RELEVANCE_FLOOR in item.rules:
            assert not ok  # only an item below the floor is named with it


def test_without_the_floor_the_weights_can_lift_an_off_topic_item(
    floor_models: Path, floored: ServingPipeline, tmp_path: Path
) -> None:
    """The floor is what holds the property: the same weights break it without one."""
    plain = _pipeline(floor_models, {}, tmp_path)
    broken = 0
    for text in QUERIES:
        for weights in ({"revenue": 1.0}, {"clicks": 1.0}, {"purchases": 1.0}):
            query = SearchQuery(text, k=8, weights=weights)
            relevance = _relevance(plain, query)
            passes = [relevance[i.item_id] >= FLOOR for i in plain.search(query).items]
            broken += passes != sorted(passes, reverse=True)
            named = [i for i in floored.search(query).items if RELEVANCE_FLOOR in i.rules]
            assert all(relevance[i.item_id] < FLOOR for i in named)
    assert broken > 0


def test_the_rule_shows_in_the_response_and_its_hits(
    make_client: AppFactory, floor_models: Path, tmp_path: Path
) -> None:
    pipeline = _pipeline(floor_models, {"relevance_floor": FLOOR}, tmp_path)
    client = make_client(models=floor_models, pipeline=pipeline)
    body = client.post(
        "/search", json={"query": "cordless drill", "k": 12, "weights": {"revenue": 1.0}}
    ).json()
    named = [item for item in body["items"] if RELEVANCE_FLOOR in item["rules"]]
    assert named, body["items"]
    for item in body["items"]:
        assert sum(item["contributions"].values()) == pytest.approx(item["score"], abs=1e-5)
    hits = client.get("/fairness").json()["rule_hits"]
    assert hits[RELEVANCE_FLOOR] >= len(named)
    reloaded = client.post("/admin/rules", headers=AUTH).json()
    assert reloaded["relevance_floor"] == FLOOR
    recommended = client.post("/recommend", json={"user_id": "u1", "k": 5}).json()
    assert all(RELEVANCE_FLOOR not in item["rules"] for item in recommended["items"])


def test_missing_price_note_is_exact() -> None:
    assert missing_price_note(["clicks", "diversity"], [None, 3.0]) is None
    assert missing_price_note(["clicks", "revenue"], [1.0, 2.0]) is None
    assert missing_price_note(["revenue", "expected_margin"], [1.0, None, float("nan")]) == (
        "revenue, expected_margin rest(s) on missing data: 2 of 3 candidates have no price "
        "in the catalog and count as worth 0"
    )


def test_a_weighed_revenue_says_when_a_candidate_has_no_price(
    make_client: AppFactory, floor_models: Path
) -> None:
    client = make_client(models=floor_models)
    before = client.post("/search", json={"query": "cordless drill", "k": 5}).json()
    assert not any("no price" in note for note in before["notes"])
    item = {"item_id": "x1", "title": "Cordless drill compact 12V", "brand": "Ryobi"}
    assert client.put("/items", json={"items": [item]}, headers=AUTH).status_code == 200
    after = client.post("/search", json={"query": "cordless drill", "k": 5}).json()
    assert "revenue rest(s) on missing data: 1 of" in " ".join(after["notes"])
    assert np.isfinite([i["score"] for i in after["items"]]).all()
