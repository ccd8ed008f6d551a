"""Drift watch: PSI on hand-checked histograms, its binning, and the service's gauges
tripping on a shifted stream of requests."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.loop.drift import DriftMonitor, DriftReference, psi
from paretorec.serve.drift import (
    EVENT,
    FEATURES,
    DriftWatch,
    reference_from_queries,
    watch_from_registry,
)
from paretorec.serve.encoders import EncoderRef
from paretorec.serve.index_version import build_index_version
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.registry import ModelRegistry
from tests.serve.conftest import AppFactory, HashingEncoder, shop_catalog


def test_psi_of_a_hand_checked_shift() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    expected = 0.25 * math.log(2) + 0.25 * math.log(1.5)
    assert psi([50, 50], [25, 75]) == pytest.approx(expected, rel=1e-12)
    assert psi([50, 50], [25, 75]) == pytest.approx(0.2746530721670274)
    assert psi([1, 2, 3], [2, 4, 6]) == 0.0  # shares, not counts


def test_psi_floors_an_empty_bin() -> None:
    # the live second bin is empty: its share counts as 1e-4 (the first keeps its 1)
    p, q = np.array([0.5, 0.5]), np.array([1.0, 1e-4])
    assert psi([1, 1], [4, 0]) == pytest.approx(float(((q - p) * np.log(q / p)).sum()))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 100), st.floats(0.01, 100)), min_size=2, max_size=12))
def test_psi_is_symmetric_and_not_negative(pairs: list[tuple[float, float]]) -> None:
    a, b = zip(*pairs, strict=True)
    assert psi(a, b) >= 0
    assert psi(a, b) == pytest.approx(psi(b, a), rel=1e-9, abs=1e-12)
    assert psi(a, a) == pytest.approx(0.0, abs=1e-12)


def test_psi_refuses_bad_histograms() -> None:
    with pytest.raises(ValueError, match="same >= 2 bins"):
        psi([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="non-negative"):
        psi([1, -1], [1, 1])
    with pytest.raises(ValueError, match="some mass"):
        psi([0, 0], [1, 1])


def test_numeric_reference_bins_at_deciles_and_catches_a_shift() -> None:
    rng = np.random.default_rng(0)
    reference = DriftReference.numeric("x", rng.normal(size=5000))
    assert reference.n_bins == 10
    assert reference.counts == (500.0,) * 10
    monitor = DriftMonitor([reference], min_count=100)
    assert monitor.psi() == {"x": None}  # too few live values yet
    monitor.observe("x", list(rng.normal(size=2000)))
    same = monitor.psi()["x"]
    assert same is not None and same < 0.02
    monitor.reset()
    monitor.observe("x", list(rng.normal(loc=1.0, size=2000)))
    shifted = monitor.psi()["x"]
    assert shifted is not None and shifted > 0.25


def test_categorical_reference_puts_unseen_levels_in_one_bin() -> None:
    reference = DriftReference.categorical("category", ["a", "a", "b", None])
    assert reference.levels == ("", "a", "b")
    assert reference.counts == (1.0, 2.0, 1.0, 0.0)
    assert reference.bin_of(["b", "zzz", None]).tolist() == [2, 3, 0]


def _gauges(text: str, name: str) -> dict[str, float]:
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(rf'^{name}{{feature="([a-z_]+)"}} (\S+)$', text, re.MULTILINE)
    }


def test_service_exports_psi_and_warns_on_a_shifted_stream(
    make_client: AppFactory, models_dir: Path
) -> None:
    pipeline = load_pipeline(ModelRegistry(models_dir), LoadOptions(encoder=HashingEncoder()))
    training = ["cordless drill", "paint roller", "garden hose", "light bulb", "saw"] * 4
    watch = DriftWatch(
        DriftMonitor(reference_from_queries(pipeline, training, k=3), min_count=20),
        threshold=0.25,
    )
    client = make_client(pipeline=pipeline, drift=watch)
    metrics = client.get("/metrics").text
    assert "paretorec_drift_threshold 0.25" in metrics
    assert _gauges(metrics, "paretorec_drift_psi") == {}  # nothing served yet
    for text in training:  # the same traffic as the training window
        assert client.post("/search", json={"query": text, "k": 3}).status_code == 200
    calm = _gauges(client.get("/metrics").text, "paretorec_drift_psi")
    assert set(calm) == {"query_words", "score", "category", "log_price"}
    assert max(calm.values()) < 0.05
    assert set(_gauges(client.get("/metrics").text, "paretorec_drift_warning").values()) == {0.0}
    watch.monitor.reset()
    for _ in range(20):  # long queries for outdoor power tools only
        body = {"query": "cordless lawn mower and hedge trimmer for the garden", "k": 3}
        assert client.post("/search", json=body).status_code == 200
    shifted = _gauges(client.get("/metrics").text, "paretorec_drift_psi")
    warnings = _gauges(client.get("/metrics").text, "paretorec_drift_warning")
    assert shifted["query_words"] > 0.25 and warnings["query_words"] == 1.0
    assert shifted["category"] > 0.25 and warnings["category"] == 1.0


def test_watch_from_the_index_dataset_tracks_the_event_mix(
    make_client: AppFactory, tmp_path: Path
) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    shop_catalog().frame.write_csv(data / "items.csv")
    pl.DataFrame(
        {"query_id": ["q1", "q2", "q3"], "text": ["drill", "paint roller", "hose"]}
    ).write_csv(data / "queries.csv")
    events = ["impression"] * 90 + ["click"] * 9 + ["purchase"]
    pl.DataFrame({"user_id": ["u"] * 100, "item_id": ["d1"] * 100, "event": events}).write_csv(
        data / "events.csv"
    )
    registry = ModelRegistry(tmp_path / "models")
    encoder = HashingEncoder()
    build_index_version(
        registry, shop_catalog(), encoder, cache=tmp_path / "cache",
        reference=EncoderRef.bundled(item_vectors_by=encoder.name), data=data,
    )  # fmt: skip
    pipeline = load_pipeline(registry, LoadOptions(encoder=HashingEncoder()))
    watch = watch_from_registry(pipeline, registry, n_queries=2, threshold=0.25)
    assert watch is not None
    assert set(watch.monitor.references) == {*FEATURES, EVENT}
    assert watch.monitor.references[EVENT].levels == ("click", "impression", "purchase")
    assert watch.monitor.references[EVENT].counts == (9.0, 90.0, 1.0, 0.0)
    client = make_client(models=tmp_path / "models", pipeline=pipeline, drift=watch)
    posted = [{"user_id": "u", "item_id": "d1", "event": "impression"}] * 70 + [
        {"user_id": "u", "item_id": "d1", "event": "click"}
    ] * 30  # three times the training window's click rate
    assert client.post("/events", json={"events": posted}).status_code == 200
    # (0.3 - 0.09) ln(0.3 / 0.09) + (0.7 - 0.9) ln(0.7 / 0.9) + (1e-4 - 0.01) ln(1e-4 / 0.01)
    expected = psi([9, 90, 1, 0], [30, 70, 0, 0])
    assert expected == pytest.approx(
        0.21 * math.log(0.3 / 0.09) + 0.2 * math.log(0.9 / 0.7) + 0.0099 * math.log(100), rel=1e-3
    )
    gauges = _gauges(client.get("/metrics").text, "paretorec_drift_psi")
    assert gauges[EVENT] == pytest.approx(expected)
    assert _gauges(client.get("/metrics").text, "paretorec_drift_warning")[EVENT] == 1.0


def test_no_watch_without_training_queries(models_dir: Path) -> None:
    pipeline = load_pipeline(ModelRegistry(models_dir), LoadOptions(encoder=HashingEncoder()))
    assert (
        watch_from_registry(pipeline, ModelRegistry(models_dir), n_queries=5, threshold=0.25)
        is None
    )
