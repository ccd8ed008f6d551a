from __future__ import annotations

import numpy as np
import pytest

from paretorec.rank import (
    RankerFeatures,
    SimulatedLogs,
    evaluate_ranker,
    expected_calibration_error,
    task_metrics,
    train_ranker,
    truth_for,
)
from paretorec.rank.config import RankerConfig, TrainConfig
from paretorec.types import Split


def test_ece_by_hand() -> None:
    # two equal-mass bins: {0.1, 0.2} vs outcomes {0, 1}: |0.15 - 0.5| = 0.35;
    # {0.8, 0.9} vs {1, 1}: |0.85 - 1| = 0.15; weighted: 0.25
    p = [0.9, 0.1, 0.8, 0.2]
    y = [1, 0, 1, 1]
    assert expected_calibration_error(p, y, n_bins=2) == pytest.approx(0.25)
    assert expected_calibration_error(p, y, n_bins=1) == pytest.approx(abs(0.5 - 0.75))
    assert expected_calibration_error([0.3, 0.3], [0.3, 0.3]) == 0.0


def test_ece_bad_inputs() -> None:
    with pytest.raises(ValueError, match="one length"):
        expected_calibration_error([0.1], [0, 1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expected_calibration_error([1.5], [1])
    with pytest.raises(ValueError, match="no rows"):
        expected_calibration_error([], [])


def test_task_metrics_by_hand() -> None:
    m = task_metrics([0.2, 0.6, 0.4, 0.8], [0, 1, 0, 1], truth=[0.2, 0.5, 0.4, 0.9])
    assert m.auc == 1.0
    assert m.logloss == pytest.approx(-np.mean(np.log([0.8, 0.6, 0.6, 0.8])))
    assert m.positives == 2 and m.rows == 4
    assert m.true_mae == pytest.approx(0.05)
    one_class = task_metrics([0.2, 0.3], [0, 0])
    assert np.isnan(one_class.auc) and one_class.true_ece is None


def test_truth_is_aligned_and_consistent(
    sim_logs: SimulatedLogs, sim_features: RankerFeatures
) -> None:
    truth = truth_for(sim_features, sim_logs)
    click, cart, buy = truth["click"], truth["cart"], truth["purchase"]
    assert click.shape == (len(sim_features),)
    assert ((buy <= cart + 1e-12) & (cart <= click + 1e-12) & (click <= 1)).all()
    # the labels were drawn from these probabilities: the totals agree within noise
    for task, p in truth.items():
        observed = sim_features.labels[task].sum()
        assert abs(observed - p.sum()) < 4 * np.sqrt(p.sum()) + 5
    # and rows with a higher true click probability are clicked more
    high = click > np.median(click)
    assert sim_features.labels["click"][high].mean() > sim_features.labels["click"][~high].mean()


def test_evaluate_ranker_with_truth(sim_logs: SimulatedLogs, sim_features: RankerFeatures) -> None:
    ranker = train_ranker(
        sim_features,
        config=RankerConfig(hidden=(16,), tower=(8,)),
        train=TrainConfig(epochs=2, batch_size=256),
    )
    truth = truth_for(sim_features, sim_logs)
    metrics = evaluate_ranker(ranker, sim_features, truth=truth)
    assert set(metrics.tasks) == {"click", "cart", "purchase"}
    n_test = int((sim_features.split == "test").sum())  # type: ignore[operator]
    assert metrics.tasks["click"].rows == n_test
    assert 0 <= metrics["click.true_mae"] < 0.2
    assert "purchase.true_ece" in metrics
    every_row = evaluate_ranker(ranker, sim_features, split=None)
    assert every_row.tasks["click"].rows == len(sim_features)
    with pytest.raises(ValueError, match="one value per row"):
        evaluate_ranker(ranker, sim_features, truth={"click": truth["click"][:5]})
    with pytest.raises(ValueError, match="no rows in split"):
        evaluate_ranker(ranker, sim_features.in_split(Split.TRAIN), split=Split.TEST)
