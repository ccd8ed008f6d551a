from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paretorec.robustness import Defence, Defences, Measurement, Scenario, Target
from paretorec.robustness.report import loss_strength, run_robustness, sweep_strengths, write_report
from paretorec.types import Catalog, Dataset


def test_loss_strength_interpolates_the_crossing() -> None:
    # clean 1.0; 10% lost = 0.9, crossed between 0.1 (0.95) and 0.2 (0.85): halfway
    assert loss_strength([0, 0.1, 0.2, 0.4], [1.0, 0.95, 0.85, 0.5]) == pytest.approx(0.15)
    assert loss_strength([0, 0.1, 0.2], [1.0, 0.9, 0.8]) == pytest.approx(0.1)  # exactly at
    assert loss_strength([0, 0.1, 0.2], [1.0, 0.95, 0.91]) is None
    assert loss_strength([0, 0.5], [0.0, 0.0]) is None
    assert loss_strength([0, 0.1, 0.2], [1.0, 0.8, 0.7], loss=0.25) == pytest.approx(0.15)
    with pytest.raises(ValueError, match="equal length"):
        loss_strength([0, 0.1], [1.0])


def _shrink(dataset: Dataset, strength: float, seed: int) -> Dataset:
    """Keeps a share 1 - strength of the items (a stand-in for damage)."""
    frame = dataset.items.frame
    return Dataset(Catalog(frame.head(round(frame.height * (1 - strength)))), name=dataset.name)


SHRINK = Scenario("shrink", "drops items", Target.SEARCH, (0.0, 0.2, 0.5), _shrink)
UNITS = ("u1", "u2", "u3", "u4")


class CountingEvaluator:
    """Quality = share of items left, halved damage when the stuffing defence is on."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, dataset: Dataset, defences: Defences) -> Measurement:
        self.calls += 1
        kept = len(dataset.items) / 10
        value = 1 - (1 - kept) / 2 if Defence.STUFFING in defences else kept
        noise = np.array([-0.01, 0.01, -0.02, 0.02])
        return Measurement(UNITS, {"quality": value + noise})


def _dataset() -> Dataset:
    items = pl.DataFrame({"item_id": [str(i) for i in range(10)], "title": ["t"] * 10})
    return Dataset(Catalog(items), name="toy")


def test_run_robustness_measures_each_point_once_and_shares_the_clean_run(tmp_path: Path) -> None:
    other = Scenario("shrink-2", "drops items", Target.SEARCH, (0.0, 0.1), _shrink)
    evaluator = CountingEvaluator()
    sets = [Defences.none(), Defences.of([Defence.STUFFING])]
    steps: list[str] = []
    report = run_robustness(
        _dataset(), [SHRINK, other], {Target.SEARCH: evaluator}, sets, on_step=steps.append
    )
    # 3 + 2 strengths x 2 sets = 10 points, the clean one measured once per set
    assert len(steps) == 10 and evaluator.calls == 8
    assert report.curve("shrink", sets[0], "quality") == pytest.approx([1.0, 0.8, 0.5])
    assert report.curve("shrink", sets[1], "quality") == pytest.approx([1.0, 0.9, 0.75])
    points = {(p["scenario"], p["defences"]): p["strength"] for p in report.loss_points()}
    assert points[("shrink", "none")] == pytest.approx(0.1)
    assert points[("shrink", "stuffing")] == pytest.approx(0.2)
    assert points[("shrink-2", "stuffing")] is None
    comparisons = {(c["scenario"], c["comparison"]): c for c in report.comparisons()}
    gain = comparisons[("shrink", "stuffing - none at 0.2")]
    assert gain["difference"] == pytest.approx(0.1)
    assert gain["significant"]
    assert comparisons[("shrink", "none: stressed - clean")]["difference"] == pytest.approx(-0.2)

    written = write_report(report, tmp_path / "report")
    assert {p.name for p in written} == {"report.json", "report.md", "shrink.png", "shrink-2.png"}
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    assert data["scenarios"][0]["middle_strength"] == 0.2
    text = (tmp_path / "report" / "report.md").read_text()
    assert "| quality | none | 1.0000 | 0.8000 (80.0%) | 0.5000 (50.0%) | 0.100 |" in text
    assert "| 0.9500 (95.0%) | > 0.1 |" in text  # never lost 10%


def test_comparisons_note_unpaired_units_once_however_often_asked(tmp_path: Path) -> None:
    def evaluate(dataset: Dataset, defences: Defences) -> Measurement:
        units = UNITS if len(dataset.items) == 10 else ("v1", "v2", "v3", "v4")
        return Measurement(units, {"quality": np.full(4, len(dataset.items) / 10)})

    report = run_robustness(_dataset(), [SHRINK], {Target.SEARCH: evaluate}, [Defences.none()])
    assert report.comparisons() == [] and report.comparisons() == []
    write_report(report, tmp_path / "report")
    assert report.notes == ["shrink none: stressed - clean: different units, no interval"]


def test_run_robustness_rejects_what_it_cannot_measure() -> None:
    recommend = Scenario("rec", "d", Target.RECOMMEND, (0.0, 0.1), _shrink)
    with pytest.raises(ValueError, match="stresses recommend"):
        run_robustness(_dataset(), [recommend], {Target.SEARCH: CountingEvaluator()}, [Defences()])
    with pytest.raises(ValueError, match="no defence set"):
        run_robustness(_dataset(), [SHRINK], {Target.SEARCH: CountingEvaluator()}, [])


def test_sweep_strengths_puts_zero_first() -> None:
    assert sweep_strengths(SHRINK, None) == (0.0, 0.2, 0.5)
    assert sweep_strengths(SHRINK, [0.3, 0.1]) == (0.0, 0.1, 0.3)
    with pytest.raises(ValueError, match=">= 0"):
        sweep_strengths(SHRINK, [-0.1])


def test_measurement_checks_its_shape() -> None:
    with pytest.raises(ValueError, match="3 units"):
        Measurement(("a", "b", "c"), {"x": np.zeros(2)})
