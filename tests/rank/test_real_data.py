"""The ranker on real logs: Taobao (view -> cart -> buy) and the Open Bandit Dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretorec.data.datasets import BuiltinDataset, fetch_obd, load_builtin
from paretorec.rank import (
    RankerConfig,
    TrainConfig,
    build_ranker_features,
    evaluate_ranker,
    train_ranker,
)

REPO_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "obd"
SMALL = RankerConfig(hidden=(32,), tower=(16,), n_experts=2)


@pytest.mark.slow
def test_taobao_funnel(shared_data: Path) -> None:
    dataset = load_builtin(BuiltinDataset.TAOBAO, source=shared_data / "taobao")
    features = build_ranker_features(dataset, test_fraction=0.3)
    assert features.tasks == ("cart", "purchase")  # page views are the exposures
    assert len(features) == 7854  # distinct (user, item) pairs of the sample
    assert int(features.labels["purchase"].sum()) == 199
    ranker = train_ranker(features, config=SMALL, train=TrainConfig(epochs=3))
    metrics = evaluate_ranker(ranker, features)
    for task in ("cart", "purchase"):
        assert np.isfinite(metrics[f"{task}.logloss"]) and 0 <= metrics[f"{task}.ece"] < 0.2


@pytest.mark.slow
def test_open_bandit_clicks() -> None:
    dataset = load_builtin(BuiltinDataset.OBD_RANDOM_ALL, cache=fetch_obd(REPO_CACHE).parent)
    features = build_ranker_features(dataset, test_fraction=0.3)
    assert features.tasks == ("click",)
    assert len(features) == 10_000 and int(features.labels["click"].sum()) == 38
    assert set(features.position.tolist()) == {1, 2, 3}
    ranker = train_ranker(features, config=SMALL, train=TrainConfig(epochs=3))
    metrics = evaluate_ranker(ranker, features)
    assert metrics["click.mean_predicted"] < 0.05  # a CTR near OBD's 0.38%, not 0.5
