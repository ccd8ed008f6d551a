"""The index version's learned second stage, served by /search: the model's order (not the
fused one), the same service without it, and a model it cannot serve refused at load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paretorec.retrieve import ScoreFusion
from paretorec.retrieve.second_stage import SECOND_STAGE_FOLDER, SecondStageConfig
from paretorec.serve import ModelRegistry
from paretorec.serve.encoders import EncoderRef
from paretorec.serve.index_version import SecondStageData, build_index_version
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.pipeline import SearchQuery, ServingPipeline
from paretorec.serve.second_stage import ServedSecondStage, scaled_scores
from paretorec.stages import Stage
from tests.serve.conftest import AppFactory, HashingEncoder, shop_catalog

# each query's relevant item is not the one BM25 and the vectors put first
JUDGED = {
    "cordless": "g3",
    "cordless tool": "g3",
    "cordless 40v": "g2",
    "drill": "d3",
    "drill set": "d3",
    "saw": "s2",
    "hand saw": "s2",
    "paint": "p2",
    "paint kit": "p2",
    "light": "l2",
    "outdoor light": "l2",
    "garden": "g3",
}
# small leaves, few rounds: the tiny shop has a dozen queries
CONFIG = SecondStageConfig(min_data_in_leaf=1, num_leaves=4, max_rounds=30, depth=12)


def _with_second_stage(root: Path) -> Path:
    texts = {f"q{n}": text for n, text in enumerate(JUDGED)}
    judgments = pl.DataFrame(
        {
            "query_id": list(texts),
            "item_id": list(JUDGED.values()),
            "grade": [2.0] * len(texts),
            "split": ["train"] * len(texts),
        }
    )
    encoder = HashingEncoder()
    build_index_version(
        ModelRegistry(root),
        shop_catalog(),
        encoder,
        cache=root.parent / "cache",
        reference=EncoderRef.bundled(item_vectors_by=encoder.name),
        second_stage=SecondStageData(judgments, texts, config=CONFIG),
    )
    return root


@pytest.fixture(scope="module")
def ranked_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _with_second_stage(tmp_path_factory.mktemp("ranked") / "models")


def _served(models: Path) -> tuple[ServingPipeline, ServedSecondStage]:
    """The pipeline served from `models` with the default options, and its second stage."""
    pipeline = load_pipeline(ModelRegistry(models), LoadOptions(encoder=HashingEncoder()))
    assert pipeline.second_stage is not None
    return pipeline, pipeline.second_stage


def _ids(response: object) -> list[str]:
    return [item["item_id"] for item in response.json()["items"]]  # type: ignore[attr-defined]


def test_search_serves_the_second_stages_order(
    ranked_models: Path, make_client: AppFactory
) -> None:
    default = load_pipeline(ModelRegistry(ranked_models), LoadOptions(encoder=HashingEncoder()))
    assert default.second_stage is not None and default.second_stage.depth == 100
    # None: the depth the model was trained at (the client's pipeline: the same)
    options = LoadOptions(encoder=HashingEncoder(), second_stage_depth=None)
    pipeline = load_pipeline(ModelRegistry(ranked_models), options)
    second = pipeline.second_stage
    assert second is not None and second.depth == CONFIG.depth
    client = make_client(models=ranked_models)
    vector = HashingEncoder().encode_queries(["cordless"])[0]
    # the model itself over the same union, and the fused first stage
    model = second.search.search("cordless", vector, k=12, depth=12)
    fused = pipeline.retriever.search("cordless", vector, k=12)
    served = _ids(client.post("/search", json={"query": "cordless", "k": 3}))
    assert served == list(model.item_ids[:3])
    assert list(model.item_ids) != list(fused.item_ids)  # the model re-orders
    assert set(model.item_ids) == set(fused.item_ids)  # the same union here
    stages = client.get("/healthz").json()
    assert "second stage (top 100 of each run)" in json.dumps(stages)


def test_the_relevance_the_service_weighs_is_the_scaled_second_stage_score(
    ranked_models: Path,
) -> None:
    _, second = _served(ranked_models)
    vector = HashingEncoder().encode_queries(["drill"])[0]
    raw = second.search.search("drill", vector, k=12, depth=12)
    served = second.rerank("drill", vector, k=12)
    assert served.item_ids == raw.item_ids
    assert served.scores[0] == 1.0 and served.scores[-1] == 0.0
    spread = raw.scores.max() - raw.scores.min()
    assert served.scores == pytest.approx((raw.scores - raw.scores.min()) / spread)
    assert scaled_scores(np.array([2.0, 2.0])).tolist() == [1.0, 1.0]


def test_filters_and_catalog_changes_fall_back_to_the_fused_order(
    ranked_models: Path,
) -> None:
    pipeline, second = _served(ranked_models)
    vector = HashingEncoder().encode_queries(["cordless"])[0]
    fused = pipeline.retriever.search("cordless", vector, k=12)
    pipeline.remove_item("d2")
    assert not second.active
    assert "second stage off" in pipeline.stages()[Stage.INDEX].detail
    found = pipeline.search(SearchQuery(text="cordless", k=3))
    assert [item.item_id for item in found.items] == [i for i in fused.item_ids if i != "d2"][:3]


def test_an_index_without_a_second_stage_serves_the_fused_order(
    models_dir: Path, make_client: AppFactory
) -> None:
    pipeline = load_pipeline(ModelRegistry(models_dir), LoadOptions(encoder=HashingEncoder()))
    assert pipeline.second_stage is None
    vector = HashingEncoder().encode_queries(["cordless"])[0]
    fused = pipeline.retriever.search("cordless", vector, k=3)
    served = _ids(make_client().post("/search", json={"query": "cordless", "k": 3}))
    assert served == list(fused.item_ids)


def test_a_model_of_another_feature_layout_is_refused_at_load(tmp_path: Path) -> None:
    root = _with_second_stage(tmp_path / "models")
    registry = ModelRegistry(root)
    (folder,) = (root / "index").iterdir()
    meta = folder / SECOND_STAGE_FOLDER / "meta.json"
    raw = json.loads(meta.read_text())
    raw["features"] = raw["features"][:-1]  # a layout one feature short
    meta.write_text(json.dumps(raw))
    options = LoadOptions(encoder=HashingEncoder(), verify=False)
    with pytest.raises(ValueError, match=r"cannot serve this second stage.*feature layout"):
        load_pipeline(registry, options)


def test_the_served_depth_is_a_setting(ranked_models: Path) -> None:
    options = LoadOptions(encoder=HashingEncoder(), second_stage_depth=3)
    second = load_pipeline(ModelRegistry(ranked_models), options).second_stage
    assert second is not None and second.depth == 3
    vector = HashingEncoder().encode_queries(["cordless"])[0]
    served = second.rerank("cordless", vector, k=12)
    assert 3 <= len(served) <= 6  # the union of BM25's and dense's top 3
    assert served.item_ids == second.search.search("cordless", vector, k=12, depth=3).item_ids


def test_a_bad_served_depth_is_refused(ranked_models: Path) -> None:
    options = LoadOptions(encoder=HashingEncoder(), second_stage_depth=0)
    with pytest.raises(ValueError, match="depth must be an integer >= 1"):
        load_pipeline(ModelRegistry(ranked_models), options)


def test_build_index_second_stage_needs_judgments(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from paretorec.cli import app

    data = tmp_path / "shop"
    data.mkdir()
    shop_catalog().frame.write_csv(data / "items.csv")
    result = CliRunner().invoke(
        app, ["serve", "build-index", "--data", str(data), "--models", str(tmp_path / "m"),
              "--second-stage"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--second-stage needs the dataset's queries and judgments" in result.output
    assert not (tmp_path / "m" / "index").exists()


def test_the_served_scores_are_scaled_over_the_whole_union_before_the_cut(
    ranked_models: Path,
) -> None:
    _, second = _served(ranked_models)
    vector = HashingEncoder().encode_queries(["drill"])[0]
    union = second.search.search("drill", vector, k=None, depth=second.depth)
    assert len(union) > 2 and len(set(union.scores.tolist())) > 2
    served = second.rerank("drill", vector, k=2)
    assert served.item_ids == union.item_ids[:2] and len(served.components["ltr"]) == 2
    # min-max over the whole union, then cut: the second item is not the floor (0)
    assert served.scores == pytest.approx(scaled_scores(union.scores)[:2])
    assert served.scores[-1] > 0.0


def test_the_served_model_records_the_first_stage_it_was_trained_on(
    ranked_models: Path,
) -> None:
    _, second = _served(ranked_models)
    first = second.search.stage.first_stage
    assert first is not None and first.encoder == HashingEncoder().name
    assert first.spelling and first.fusion == second.retriever.fusion == ScoreFusion(weight=0.7)


def test_a_model_trained_on_another_encoder_is_refused_at_load(tmp_path: Path) -> None:
    root = _with_second_stage(tmp_path / "models")
    (folder,) = (root / "index").iterdir()
    settings = folder / SECOND_STAGE_FOLDER / "settings.json"
    raw = json.loads(settings.read_text())
    raw["first_stage"]["encoder"] = "another-encoder"
    settings.write_text(json.dumps(raw))
    options = LoadOptions(encoder=HashingEncoder(), verify=False)
    with pytest.raises(ValueError, match=r"cannot serve.*'another-encoder'.*hashing"):
        load_pipeline(ModelRegistry(root), options)
