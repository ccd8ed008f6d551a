"""benchmarks/bench_encoder.py reuses bench_search.py's fine-tuned model as its "today"
only when that run's recorded settings are today's: steps, batch, minimum grade, seeds."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench_script("bench_encoder", "bench_encoder_under_test")


def _stored(tmp_path: Path, bench: ModuleType, monkeypatch: pytest.MonkeyPatch, **info: Any) -> Any:
    model = tmp_path / "reused" / "finetuned"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"")
    results = tmp_path / "results"
    results.mkdir()
    record = {"steps": 600, "batch_size": 32, "pairs": 10, "seconds": 1.0, **info}
    (results / "search.json").write_text(json.dumps({"finetune": record}))
    monkeypatch.setattr(bench, "REUSED_TODAY", model)
    monkeypatch.setattr(bench, "RESULTS", results)
    (today,) = [v for v in bench.variants(600, 32) if v.name == "in-batch (today)"]
    return bench.reused_today(today)


def test_a_record_with_todays_settings_is_reused(
    tmp_path: Path, bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = _stored(tmp_path, bench, monkeypatch, min_grade=2.5, seed=0, split_seed=0)
    assert found is not None
    assert "minimum grade, seed and split" in found[1]["reused"]


@pytest.mark.parametrize(
    "other", [{"min_grade": 2.0}, {"seed": 1}, {"split_seed": 3}, {"steps": 100}]
)
def test_another_grade_seed_split_or_steps_is_not_reused(
    tmp_path: Path, bench: ModuleType, monkeypatch: pytest.MonkeyPatch, other: dict[str, Any]
) -> None:
    settings = {"min_grade": 2.5, "seed": 0, "split_seed": 0, **other}
    assert _stored(tmp_path, bench, monkeypatch, **settings) is None


def test_an_older_record_is_reused_saying_what_was_assumed(
    tmp_path: Path, bench: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = _stored(tmp_path, bench, monkeypatch)
    assert found is not None
    assert "lacks min grade, seed, split seed" in found[1]["reused"]
