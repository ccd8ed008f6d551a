"""Serving that can be learned from: an exploring list is a draw from the policy's
Plackett-Luce distribution and says how likely it was; a greedy list says 1."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from paretorec.serve import ModelRegistry
from paretorec.serve.exploration import Exploration, sample_list
from paretorec.serve.loading import LoadOptions, load_pipeline
from tests.serve.conftest import AppFactory, HashingEncoder

REQUEST = {"query": "cordless drill", "k": 4, "user_id": "u1"}


def test_given_above_is_the_softmax_over_what_is_left() -> None:
    scores = np.array([2.0, 1.0, 0.0, -1.0])
    drawn = sample_list(scores, 3, 0.5, np.random.default_rng(3))
    weights = np.exp(scores / 0.5)
    left = weights.sum()
    for position, index in enumerate(drawn.order.tolist()):
        assert drawn.given_above[position] == pytest.approx(weights[index] / left)
        left -= weights[index]
    assert drawn.marginal[0] == drawn.given_above[0]
    assert len(set(drawn.order.tolist())) == 3


def test_marginals_match_how_often_lists_put_each_item_there() -> None:
    scores = np.array([1.0, 0.8, 0.1, 0.0, -0.5])
    rng = np.random.default_rng(0)
    seen: Counter[tuple[int, int]] = Counter()
    reported: dict[tuple[int, int], float] = {}
    for _ in range(3000):
        drawn = sample_list(scores, 2, 1.0, rng)
        for position, index in enumerate(drawn.order.tolist()):
            seen[(index, position)] += 1
            reported[(index, position)] = float(drawn.marginal[position])
    for key, count in seen.items():
        assert count / 3000 == pytest.approx(reported[key], abs=0.04)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        Exploration(share=1.5)
    with pytest.raises(ValueError, match="temperature"):
        Exploration(share=0.5, temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        sample_list(np.zeros(3), 2, -1.0, np.random.default_rng(0))


def _client(make_client: AppFactory, models: Path, exploration: Exploration | None):  # type: ignore[no-untyped-def]
    pipeline = load_pipeline(ModelRegistry(models), LoadOptions(encoder=HashingEncoder()))
    pipeline.exploration = exploration
    return make_client(models=models, pipeline=pipeline)


def test_greedy_lists_say_propensity_one(make_client: AppFactory, policy_models: Path) -> None:
    client = _client(make_client, policy_models, Exploration(share=0.0))
    body = client.post("/search", json=REQUEST).json()
    assert body["explored"] is False
    assert {(i["propensity"], i["propensity_given_above"]) for i in body["items"]} == {(1.0, 1.0)}


def test_exploring_lists_vary_and_carry_their_propensities(
    make_client: AppFactory, policy_models: Path
) -> None:
    client = _client(make_client, policy_models, Exploration(share=1.0, temperature=0.3, seed=1))
    greedy = _client(make_client, policy_models, None).post("/search", json=REQUEST).json()
    lists = set()
    for _ in range(20):
        body = client.post("/search", json=REQUEST).json()
        assert body["explored"] is True
        ids = tuple(i["item_id"] for i in body["items"])
        assert len(set(ids)) == len(ids) == 4
        lists.add(ids)
        for item in body["items"]:
            assert 0 < item["propensity_given_above"] <= 1 and 0 < item["propensity"] <= 1
            assert sum(item["contributions"].values()) == pytest.approx(item["score"], abs=1e-5)
        top = body["items"][0]
        assert top["propensity"] == top["propensity_given_above"]
    assert len(lists) > 1  # drawn, not decoded
    # the greedy list is the likeliest first item's list: its top item is drawn most often
    assert greedy["items"][0]["item_id"] in {ids[0] for ids in lists}
