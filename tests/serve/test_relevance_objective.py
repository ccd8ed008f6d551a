"""The service weighs relevance by name when its policy was trained on it (#19), and a
policy saved before relevance existed still serves but refuses a relevance weight."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from paretorec.policy import PolicyConfig, PreferencePolicy, save_policy
from paretorec.policy.predictors import LoggedFeedbackModel, LogisticModel, RelevanceModel
from paretorec.policy.request_features import dimensions
from paretorec.policy.simulator import ITEM_FEATURE_NAMES, LINKS, SimulatorSpec
from paretorec.serve import ModelKind, ModelRegistry
from tests.serve.conftest import AppFactory

N_POSITIONS = 10
_, ITEM_DIM, N_GROUPS = dimensions()
OLD = ("clicks", "revenue", "diversity")
FROZEN = Path(__file__).parent / "fixtures" / "policy_before_relevance"
NEW = ("clicks", "revenue", "diversity", "relevance")


def _predictor(relevance: bool) -> LoggedFeedbackModel:
    click = LogisticModel((1.0,) + (0.0,) * (ITEM_DIM - 1 + N_POSITIONS), -3.0)
    purchase = LogisticModel((0.0,) * ITEM_DIM, -2.0)
    model = None
    if relevance:  # a leaf or department match (at serving: the retrieval share) is relevant
        coef = [0.0] * ITEM_DIM
        coef[ITEM_FEATURE_NAMES.index("leaf_match")] = 0.4
        coef[ITEM_FEATURE_NAMES.index("department_match")] = 0.2
        model = RelevanceModel(tuple(coef), 0.0)
    return LoggedFeedbackModel(click, purchase, N_POSITIONS, model)


def _add_simulator_policy(root: Path, objectives: tuple[str, ...]) -> None:
    """A policy as `train policy --simulator` saves it: config, predictor and spec; the
    old one exactly as saved before relevance (no relevance in its predictor's JSON)."""
    predictor = _predictor("relevance" in objectives)
    torch.manual_seed(0)
    config = PolicyConfig(
        objectives=objectives,
        prediction_names=predictor.tasks,
        context_dim=3,
        item_dim=ITEM_DIM,
        links=tuple((o, p) for o, p in LINKS if o in objectives and p in predictor.tasks),
        n_groups=N_GROUPS,
        hidden=8,
        layers=1,
        prior_scale=50.0,  # the linked terms dominate the untrained remainder
    )
    registry = ModelRegistry(root)
    meta = {
        "simulator": {
            "spec": SimulatorSpec(n_items=300, n_users=50).to_json(),
            "scales": {"clicks": 1.0, "purchases": 1.0, "revenue": 1.0},
            "predictor": predictor.to_json(),
        }
    }
    with registry.stage(ModelKind.POLICY) as staged:
        save_policy(staged.folder, PreferencePolicy(config), extra=meta)
    assert staged.manifest is not None
    registry.promote(ModelKind.POLICY, staged.manifest.version)


@pytest.fixture(scope="module")
def with_policy(full_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for name, objectives in (("old", OLD), ("new", NEW)):
        root = tmp_path_factory.mktemp(name) / "models"
        shutil.copytree(full_models_dir, root)
        _add_simulator_policy(root, objectives)
        out[name] = root
    return out


def test_a_policy_trained_on_relevance_weighs_it_by_name(
    make_client: AppFactory, with_policy: dict[str, Path]
) -> None:
    client = make_client(models=with_policy["new"])
    request = {"query": "cordless drill", "k": 6, "weights": {"relevance": 1}}
    body = client.post("/search", json=request).json()
    assert body["ordered_by"] == "policy"
    assert body["weights"] == {"clicks": 0.0, "revenue": 0.0, "diversity": 0.0, "relevance": 1.0}
    items = body["items"]
    assert len(items) == 6
    for item in items:
        assert set(item["contributions"]) == set(NEW)
        assert sum(item["contributions"].values()) == pytest.approx(item["score"], abs=1e-4)
        assert set(item["places"]) == set(NEW)
        for other in ("clicks", "revenue", "diversity"):
            assert item["contributions"][other] == 0.0
    # relevance alone: the list follows the relevance the policy weighs, and the response
    # reports that same number: its predictor's 0.4 x leaf + 0.2 x department match on
    # the retrieval share, 0.6 for the best candidate (not the share itself, 1.0)
    relevance = [item["predictions"]["relevance"] for item in items]
    assert relevance == sorted(relevance, reverse=True)
    assert relevance[0] == pytest.approx(0.6)
    assert all(0.0 <= r <= 0.6 + 1e-9 for r in relevance)
    # the explanation names the relevance part, and it ranks the list as the list is ranked
    parts = [item["contributions"]["relevance"] for item in items]
    assert np.all(np.diff(parts) <= 1e-6) and parts[0] > 0
    config = client.get("/explorer/config").json()
    assert config["objectives"] == list(NEW)


def test_the_response_reports_the_relevance_the_policy_weighs(
    make_client: AppFactory, with_policy: dict[str, Path]
) -> None:
    """One relevance everywhere: the reported relevance is the policy's own prediction
    (0.6 x the retrieval share here), and the explanation's relevance part follows it."""
    client = make_client(models=with_policy["new"])
    body = client.post(
        "/search", json={"query": "cordless drill", "k": 8, "weights": {"relevance": 1}}
    ).json()
    reported = np.array([item["predictions"]["relevance"] for item in body["items"]])
    parts = np.array([item["contributions"]["relevance"] for item in body["items"]])
    assert reported.max() == pytest.approx(0.6) and (reported < 0.6 - 1e-3).any()
    # the explanation's relevance part orders the items as the reported relevance does
    higher = reported[:, None] > reported[None, :] + 1e-6
    assert higher.any() and np.all(parts[:, None] > parts[None, :], where=higher)


def test_without_a_query_relevance_is_not_the_recommenders_score(
    make_client: AppFactory, with_policy: dict[str, Path]
) -> None:
    """/recommend has no query: the policy's relevance is its prediction with no match
    (0 here, as in the browsing sessions it trained on), never the recommender's share."""
    client = make_client(models=with_policy["new"])
    response = client.post("/recommend", json={"user_id": "u2", "k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ordered_by"] == "policy"
    assert body["items"]
    for item in body["items"]:
        assert item["predictions"]["relevance"] == 0.0


def test_a_policy_saved_before_relevance_loads_from_its_frozen_files(
    make_client: AppFactory, full_models_dir: Path, tmp_path: Path
) -> None:
    """`fixtures/policy_before_relevance` was written by the code at 4886cc1 (before #19,
    its predictor JSON has no relevance): it serves, and refuses a relevance weight."""
    root = tmp_path / "models"
    shutil.copytree(full_models_dir, root)
    registry = ModelRegistry(root)
    with registry.stage(ModelKind.POLICY) as staged:
        for path in FROZEN.iterdir():
            shutil.copy(path, staged.folder / path.name)
    assert staged.manifest is not None
    registry.promote(ModelKind.POLICY, staged.manifest.version)
    assert (
        "relevance"
        not in json.loads((FROZEN / "policy.json").read_text())["simulator"]["predictor"]
    )
    client = make_client(models=root)
    body = client.post("/search", json={"query": "cordless drill", "k": 3}).json()
    assert body["ordered_by"] == "policy"
    assert set(body["items"][0]["contributions"]) == set(OLD)
    refused = client.post(
        "/search", json={"query": "cordless drill", "weights": {"relevance": 0.5, "clicks": 0.5}}
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == (
        "unknown objective(s) 'relevance': this model weighs clicks, revenue, diversity; "
        "retrain with relevance to weigh it"
    )


def test_an_old_policy_loads_and_refuses_a_relevance_weight(
    make_client: AppFactory, with_policy: dict[str, Path]
) -> None:
    client = make_client(models=with_policy["old"])
    body = client.post("/search", json={"query": "cordless drill", "k": 3}).json()
    assert body["ordered_by"] == "policy"
    assert set(body["items"][0]["contributions"]) == set(OLD)
    refused = client.post(
        "/search", json={"query": "cordless drill", "weights": {"relevance": 0.5, "clicks": 0.5}}
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert "'relevance'" in error and "clicks, revenue, diversity" in error
