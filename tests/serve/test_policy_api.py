"""The preference-conditioned policy behind /search and /recommend: the final order, the
per-objective contributions and the weights used, from one model for any weights."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paretorec.serve import ModelRegistry, RegistryError
from paretorec.serve.loading import LoadOptions, load_pipeline
from tests.serve.conftest import AppFactory, HashingEncoder
from tests.serve.trained import add_policy


@pytest.fixture(scope="module")
def policy_models(full_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("policy") / "models"
    shutil.copytree(full_models_dir, root)
    add_policy(ModelRegistry(root))
    return root


def test_the_policy_orders_and_explains(make_client: AppFactory, policy_models: Path) -> None:
    client = make_client(models=policy_models)
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["stages"]["policy"]["version"] == "v0001"
    body = client.post("/search", json={"query": "cordless drill", "k": 5, "user_id": "u1"}).json()
    assert body["ordered_by"] == "policy" and body["notes"] == []
    assert body["weights"] == {"clicks": 0.5, "purchases": 0.25, "revenue": 0.25}
    assert body["weights_source"] == "default"
    assert len(body["items"]) == 5
    for item in body["items"]:
        assert set(item["contributions"]) == {"clicks", "purchases", "revenue"}
        assert sum(item["contributions"].values()) == pytest.approx(item["score"], abs=1e-5)
        assert set(item["predictions"]) == {"click", "purchase", "revenue"}

    clicks_only = client.post(
        "/search",
        json={"query": "cordless drill", "k": 5, "user_id": "u1", "weights": {"clicks": 1}},
    ).json()
    assert clicks_only["weights"] == {"clicks": 1.0, "purchases": 0.0, "revenue": 0.0}
    for item in clicks_only["items"]:
        assert item["contributions"]["purchases"] == 0.0 and item["contributions"]["revenue"] == 0.0
        # an objective without weight moved nothing; clicks placed the whole list
        assert item["places"]["purchases"] == 0 and item["places"]["revenue"] == 0
    assert any(item["places"]["clicks"] != 0 for item in body["items"])
    assert all(set(item["places"]) == {"clicks", "purchases", "revenue"} for item in body["items"])
    recommended = client.post(
        "/recommend", json={"user_id": "u2", "k": 3, "weights": {"revenue": 1}}
    ).json()
    assert recommended["ordered_by"] == "policy" and len(recommended["items"]) == 3
    wrong = client.post("/search", json={"query": "drill", "weights": {"click": 1}})
    assert wrong.status_code == 422 and "clicks, purchases, revenue" in wrong.json()["error"]


def test_a_policy_the_service_cannot_feed_is_refused_at_start(
    full_models_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    shutil.copytree(full_models_dir, root)
    add_policy(ModelRegistry(root), item_dim=7)
    with pytest.raises(RegistryError, match="7 item features"):
        load_pipeline(ModelRegistry(root), LoadOptions(encoder=HashingEncoder()))
