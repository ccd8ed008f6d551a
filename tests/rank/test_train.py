from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from paretorec.rank import (
    Architecture,
    Ranker,
    RankerConfig,
    RankerFeatures,
    RankerFormatError,
    SimulatedLogs,
    TrainConfig,
    Weighting,
    build_candidate_features,
    evaluate_ranker,
    train_ranker,
)

SMALL = RankerConfig(hidden=(32,), tower=(16,), id_dim=8, n_experts=2, n_levels=1)
QUICK = TrainConfig(epochs=2, batch_size=512)


def small(architecture: Architecture) -> RankerConfig:
    return RankerConfig(
        architecture=architecture, hidden=(32,), tower=(16,), id_dim=8, n_experts=2, n_levels=1
    )


@pytest.fixture(scope="module")
def mmoe(sim_features: RankerFeatures) -> Ranker:
    return train_ranker(sim_features, config=SMALL, train=QUICK)


@pytest.mark.parametrize("architecture", list(Architecture), ids=str)
def test_every_architecture_learns_the_click(
    sim_features: RankerFeatures, architecture: Architecture
) -> None:
    ranker = train_ranker(sim_features, config=small(architecture), train=QUICK)
    metrics = evaluate_ranker(ranker, sim_features)
    assert ranker.tasks == ("click", "cart", "purchase")
    assert metrics["click.auc"] > 0.6
    for task in ranker.tasks:
        assert 0.0 <= metrics[f"{task}.ece"] < 0.1


@pytest.mark.parametrize("weighting", [Weighting.UNCERTAINTY, Weighting.MGDA], ids=str)
def test_weightings_train_and_record_their_weights(
    sim_features: RankerFeatures, weighting: Weighting
) -> None:
    ranker = train_ranker(
        sim_features, config=SMALL, train=TrainConfig(epochs=2, batch_size=256, weighting=weighting)
    )
    weights = ranker.metadata["history"]["epochs"][0]["task_weights"]
    assert set(weights) == {"click", "cart", "purchase"}
    if weighting is Weighting.MGDA:
        assert sum(weights.values()) == pytest.approx(1.0)
    assert evaluate_ranker(ranker, sim_features)["click.auc"] > 0.55


def test_single_task_and_fixed_weights(sim_features: RankerFeatures) -> None:
    ranker = train_ranker(
        sim_features, config=SMALL, train=TrainConfig(epochs=1, tasks=("purchase",))
    )
    assert ranker.tasks == ("purchase",)
    assert set(ranker.predict(sim_features.subset(np.arange(5)))) == {"purchase"}
    weighted = train_ranker(
        sim_features, config=SMALL, train=TrainConfig(epochs=1, task_weights=(1.0, 0.0, 2.0))
    )
    assert weighted.metadata["history"]["epochs"][0]["task_weights"] == {
        "click": 1.0, "cart": 0.0, "purchase": 2.0
    }  # fmt: skip


def test_same_seed_same_model(sim_features: RankerFeatures) -> None:
    rows = sim_features.subset(np.arange(50))
    first = train_ranker(sim_features, config=SMALL, train=TrainConfig(epochs=1, seed=4))
    second = train_ranker(sim_features, config=SMALL, train=TrainConfig(epochs=1, seed=4))
    for task, p in first.predict(rows).items():
        np.testing.assert_array_equal(p, second.predict(rows)[task])


def test_save_load_round_trip(mmoe: Ranker, sim_features: RankerFeatures, tmp_path: Path) -> None:
    mmoe.save(tmp_path / "r")
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "ranker.json", "weights.safetensors"
    ]  # fmt: skip
    loaded = Ranker.load(tmp_path / "r")
    assert loaded.tasks == mmoe.tasks and loaded.spec == mmoe.spec
    rows = sim_features.subset(np.arange(200))
    for task, p in mmoe.predict(rows).items():
        np.testing.assert_array_equal(p, loaded.predict(rows)[task])


def test_load_refuses_incomplete_or_mismatched_folders(mmoe: Ranker, tmp_path: Path) -> None:
    with pytest.raises(RankerFormatError, match="no ranker folder"):
        Ranker.load(tmp_path / "absent")
    folder = tmp_path / "r"
    mmoe.save(folder)
    weights = load_file(str(folder / "weights.safetensors"))
    (folder / "weights.safetensors").unlink()
    with pytest.raises(RankerFormatError, match=r"missing weights\.safetensors"):
        Ranker.load(folder)
    del weights["encoder.dense_mean"]
    save_file(weights, str(folder / "weights.safetensors"))
    with pytest.raises(
        RankerFormatError, match=r"does not match.*missing \['encoder.dense_mean'\]"
    ):
        Ranker.load(folder)
    mmoe.save(folder)
    description = json.loads((folder / "ranker.json").read_text())
    description["config"]["hidden"] = [8]
    (folder / "ranker.json").write_text(json.dumps(description))
    with pytest.raises(RankerFormatError, match="wrong shape"):
        Ranker.load(folder)
    (folder / "ranker.json").write_text("{not json")
    with pytest.raises(RankerFormatError, match="not valid JSON"):
        Ranker.load(folder)
    (folder / "ranker.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(RankerFormatError, match="not a paretorec-ranker"):
        Ranker.load(folder)


def test_predict_on_candidates_and_refuses_other_features(
    mmoe: Ranker, sim_logs: SimulatedLogs, tiny_features: RankerFeatures
) -> None:
    items = sim_logs.dataset.items.frame["item_id"].head(20).to_list()
    cands = build_candidate_features(
        sim_logs.dataset, mmoe.spec, item_ids=items, user_ids=["u000"] * 20
    )
    p = mmoe.predict(cands)
    assert set(p) == set(mmoe.tasks)
    assert all(v.shape == (20,) and ((v > 0) & (v < 1)).all() for v in p.values())
    assert (p["purchase"] <= 1.0).all()
    with pytest.raises(ValueError, match="features do not match the ranker's"):
        mmoe.predict(tiny_features)


@pytest.fixture
def tiny_features(sim_logs: SimulatedLogs) -> RankerFeatures:
    from paretorec.rank import build_ranker_features

    return build_ranker_features(sim_logs.dataset, n_buckets=64)


def test_train_bad_inputs_fail_clearly(sim_features: RankerFeatures) -> None:
    with pytest.raises(ValueError, match="unknown task"):
        train_ranker(sim_features, config=SMALL, train=TrainConfig(tasks=("revenue",)))
    with pytest.raises(ValueError, match="ESMM needs its tasks in funnel order"):
        train_ranker(
            sim_features,
            config=small(Architecture.ESMM),
            train=TrainConfig(tasks=("purchase", "click")),
        )
    with pytest.raises(ValueError, match="task_weights has 2"):
        train_ranker(sim_features, config=SMALL, train=TrainConfig(task_weights=(1.0, 1.0)))
    no_buyers = sim_features.subset(sim_features.labels["purchase"] == 0)
    with pytest.raises(ValueError, match="task 'purchase' has 0 positive"):
        train_ranker(no_buyers, config=SMALL, train=QUICK)
    cands = build_candidate_features_for(sim_features)
    with pytest.raises(ValueError, match="carry no labels"):
        train_ranker(cands, config=SMALL)


def build_candidate_features_for(features: RankerFeatures) -> RankerFeatures:
    return RankerFeatures(
        spec=features.spec,
        ids=features.ids[:3],
        dense=features.dense[:3],
        position=features.position[:3],
        text_index=features.text_index[:3],
        text_table=features.text_table,
        keys=features.keys[:3],
    )
