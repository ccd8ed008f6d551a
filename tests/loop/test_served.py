"""The whole loop through the HTTP service: a policy `retrain` promoted is served (and
explored with propensities), the service's event log is what the next `retrain` reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretorec.cli._retrain import read_shop
from paretorec.data.formats import FileFormat
from paretorec.data.io import write_dataset
from paretorec.loop import GateRule, RetrainConfig, retrain
from paretorec.loop.served import ServedLoopPolicy
from paretorec.serve.encoders import EncoderRef
from paretorec.serve.exploration import Exploration
from paretorec.serve.index_version import build_index_version
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.registry import ModelKind, ModelRegistry
from paretorec.simulate import UniformRandomPolicy, generate_world
from paretorec.simulate.config import WorldConfig
from paretorec.simulate.dataset import simulate_logs
from tests.serve.conftest import AppFactory, HashingEncoder


@pytest.mark.slow
def test_retrained_policy_serves_explores_and_learns_from_its_own_log(
    make_client: AppFactory, tmp_path: Path
) -> None:
    world = generate_world(24, 100, config=WorldConfig.lively(), seed=7)
    day = simulate_logs(world, 1000, seed=1, list_size=3, policy=UniformRandomPolicy(), log_days=1)
    shop = tmp_path / "shop"
    write_dataset(day, shop, FileFormat.CSV)
    registry = ModelRegistry(tmp_path / "models")
    encoder = HashingEncoder()
    build_index_version(
        registry, day.items, encoder, cache=tmp_path / "cache",
        reference=EncoderRef.bundled(item_vectors_by=encoder.name), data=shop,
    )  # fmt: skip
    config = RetrainConfig(epochs=2, temperature=0.5, gate=GateRule(n_bootstrap=100))
    first = retrain(read_shop(shop, None), registry, config, data=shop)
    registry.promote(ModelKind.POLICY, first.version)  # served whatever the gate said

    pipeline = load_pipeline(registry, LoadOptions(encoder=HashingEncoder()))
    assert isinstance(pipeline.policy, ServedLoopPolicy)
    pipeline.exploration = Exploration(share=1.0, temperature=0.5, seed=0)
    events = tmp_path / "events"
    client = make_client(models=registry.root, pipeline=pipeline, events=events)
    assert day.queries is not None and day.users is not None
    texts = day.queries.frame["text"].to_list()
    users = day.users.frame["user_id"].to_list()
    rng = np.random.default_rng(0)
    posted = []
    for n in range(120):
        body = {"query": texts[n % len(texts)], "user_id": users[n % len(users)], "k": 3}
        answer = client.post("/search", json=body).json()
        assert answer["ordered_by"] == "policy" and answer["explored"] is True
        assert set(answer["weights"]) == {"clicks", "purchases", "revenue"}
        for item in answer["items"]:
            assert 0 < item["propensity"] <= 1 and 0 < item["propensity_given_above"] <= 1
            assert sum(item["contributions"].values()) == pytest.approx(item["score"], abs=1e-5)
            shown = {"user_id": body["user_id"], "item_id": item["item_id"],
                     "session_id": f"r{n}", "position": item["rank"],
                     "propensity": item["propensity"],
                     "propensity_given_above": item["propensity_given_above"]}  # fmt: skip
            posted.append({**shown, "event": "impression"})
            if rng.random() < 0.3:
                posted.append({**shown, "event": "click"})
    assert client.post("/events", json={"events": posted}).status_code == 200

    again = retrain(read_shop(shop, events), registry, config, data=shop)
    assert again.baseline == first.version  # judged against the policy it served
    assert again.fit_rounds + again.held_rounds == 120 * 3
    assert again.since == first.until
    assert {c.objective for c in again.decision.comparisons} == {
        "clicks", "purchases", "revenue", "weighted",
    }  # fmt: skip
