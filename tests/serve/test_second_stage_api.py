"""The index version's learned second stage, served by /search: the model's order (not the
fused one), on filtered requests too (every item passing) and after catalog changes (new and
updated items ranked by their new text, removed ones never back), the same service without
it, and a model it cannot serve refused at load or switched off with its reason."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paretorec.retrieve import Filters, ScoreFusion
from paretorec.retrieve.second_stage import SECOND_STAGE_FOLDER, SecondStageConfig
from paretorec.retrieve.second_stage_features import ItemSide
from paretorec.serve import ModelRegistry
from paretorec.serve.encoders import EncoderRef
from paretorec.serve.index_version import SecondStageData, build_index_version
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.pipeline import SearchQuery, ServingPipeline
from paretorec.serve.second_stage import ServedSecondStage, scaled_scores
from paretorec.stages import Stage
from paretorec.types import Catalog
from tests.serve.conftest import AUTH, AppFactory, HashingEncoder, shop_catalog

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


def _model_order(second: ServedSecondStage, text: str, filters: Filters | None = None) -> list[str]:
    """The second stage's own order of the query's union (the served depth, all of it)."""
    vector = HashingEncoder().encode_queries([text])[0]
    found = second.search.search(text, vector, k=None, depth=second.depth, filters=filters)
    return list(found.item_ids)


def _served_ids(pipeline: ServingPipeline, text: str, **extra: object) -> list[str]:
    found = pipeline.search(SearchQuery(text=text, **extra))  # type: ignore[arg-type]
    return [item.item_id for item in found.items]


def _assert_side_is_rebuilt(pipeline: ServingPipeline, second: ServedSecondStage) -> None:
    """The served item side, at the live items' positions, equals one built afresh from the
    store's current catalog, as benchmarks/bench_second_stage_changes.py checks: tokens,
    vectors, idf, brands, descriptions and categories (the same grouping: the codes of
    paths added later differ)."""
    side = second.search.side
    live = [i for i in second.retriever.lexical.item_ids if i in pipeline.store]
    fresh = ItemSide.build(pipeline.store.catalog(live), pipeline.store.vectors(live))
    at = second.retriever.lexical.positions(live).tolist()
    assert [side.items[p] for p in at] == fresh.items
    assert np.allclose(side.vectors[at], fresh.vectors, atol=1e-6)
    assert dict(side.idf) == pytest.approx(dict(fresh.idf))
    assert side.default_idf == pytest.approx(fresh.default_idf)
    for mine, theirs in ((side.brands, fresh.brands), (side.descriptions, fresh.descriptions)):
        assert (mine is None) == (theirs is None)  # the shop has brands, no descriptions
        assert mine is None or [mine[p] for p in at] == theirs
    assert side.categories is not None and fresh.categories is not None
    pairs = set(zip(side.categories[at].tolist(), fresh.categories.tolist(), strict=True))
    assert len(pairs) == len(set(side.categories[at].tolist())) == len(set(fresh.categories))
    assert np.array_equal(side.categories[at] < 0, fresh.categories < 0)


def test_a_filtered_request_is_re_ranked_and_every_item_passes(
    ranked_models: Path, make_client: AppFactory
) -> None:
    pipeline, second = _served(ranked_models)
    cheap = Filters(max_price=100.0)
    vector = HashingEncoder().encode_queries(["drill"])[0]
    fused = pipeline.retriever.search("drill", vector, k=50, filters=cheap)
    served = _served_ids(pipeline, "drill", k=12, filters=cheap)
    # the model's order of the filtered union, not the fused one, as long as the fused list
    assert served == _model_order(second, "drill", cheap)
    assert served[:2] == ["d3", "d2"] and list(fused.item_ids[:2]) == ["d2", "d3"]
    assert len(served) == len(fused) == 9  # the shop's nine items at 100 or less
    prices = dict(
        zip(pipeline.store.column("item_id"), pipeline.store.column("price"), strict=True)
    )
    assert all(prices[i] <= 100.0 for i in served)
    # the same through HTTP, with every kind of filter at once
    client = make_client(pipeline=pipeline)
    brands = ["makita", "bosch", "dewalt"]
    filters = {"category": "tools", "in_stock": True, "brands": brands}
    body = client.post("/search", json={"query": "drill", "k": 10, "filters": filters}).json()
    got = [item["item_id"] for item in body["items"]]
    passing = Filters(category="tools", in_stock=True, brands=frozenset(brands))
    assert got == _model_order(second, "drill", passing)
    assert sorted(got) == ["d1", "d3", "s1"]  # d2 is out of stock, s2 a Stanley
    nobody = Filters(brands=frozenset({"no such brand"}))
    assert _served_ids(pipeline, "drill", filters=nobody) == []


def test_an_upserted_item_is_found_and_re_ranked_by_its_new_text(ranked_models: Path) -> None:
    pipeline, second = _served(ranked_models)
    new = (
        shop_catalog()
        .frame.head(1)
        .with_columns(
            pl.lit("x1").alias("item_id"),
            pl.lit("Cordless leaf blower 40V").alias("title"),
            pl.lit("Outdoor > Garden").alias("category"),
        )
    )
    changed = shop_catalog().frame.filter(pl.col("item_id") == "p1")
    changed = changed.with_columns(pl.lit("Cordless drill driver 12V").alias("title"))
    added, updated = pipeline.upsert_items(Catalog(pl.concat([new, changed])))
    assert (added, updated) == (["x1"], ["p1"])
    assert second.active and len(second.search.side) == 13
    detail = pipeline.stages()[Stage.INDEX].detail
    assert "re-ranked by its second stage (top 100 of each run); item side updated for 2" in detail
    blower = _served_ids(pipeline, "leaf blower", k=5)
    assert "x1" in blower[:2] and blower == _model_order(second, "leaf blower")[:5]
    drills = _served_ids(pipeline, "cordless drill", k=12)
    assert "p1" in drills[:3] and drills == _model_order(second, "cordless drill")[:12]
    # the updated item's features read its new title, not the gallon of paint it was
    side = second.search.side
    assert "gallon" not in side.items[5].tokens and "driver" in side.items[5].tokens
    assert side.idf["cordless"] < ItemSide.build(shop_catalog(), np.eye(12, 64)).idf["cordless"]
    outdoor = _served_ids(pipeline, "blower", k=10, filters=Filters(category="outdoor"))
    assert "x1" in outdoor[:2] and sorted(outdoor) == ["g1", "g2", "g3", "x1"]
    _assert_side_is_rebuilt(pipeline, second)


def test_a_removed_item_never_comes_back(ranked_models: Path, make_client: AppFactory) -> None:
    pipeline, second = _served(ranked_models)
    client = make_client(pipeline=pipeline)
    assert "d2" in _ids(client.post("/search", json={"query": "drill", "k": 12}))
    assert client.delete("/items/d2", headers=AUTH).status_code == 200
    assert second.active and second.changed == 1
    # out of the idf's counts (re-adding it below would hide a removal that did nothing)
    _assert_side_is_rebuilt(pipeline, second)
    for text in ("drill", "hammer drill corded 7 amp", "makita", "cordless tool"):
        served = _ids(client.post("/search", json={"query": text, "k": 12}))
        assert "d2" not in served and served == _model_order(second, text)[:12]
        filtered = client.post(
            "/search", json={"query": text, "k": 12, "filters": {"brands": ["makita"]}}
        )
        assert _ids(filtered) == ["s1"]  # the other Makita was d2
    # added back, it is found again (its old position, its new text)
    again = {"item_id": "d2", "title": "Hammer drill corded 8 amp", "price": 95.0}
    assert client.put("/items", json={"items": [again]}, headers=AUTH).status_code == 200
    _assert_side_is_rebuilt(pipeline, second)  # its old row rewritten: no brand, new title
    served = _ids(client.post("/search", json={"query": "hammer drill 8 amp", "k": 12}))
    assert "d2" in served and served == _model_order(second, "hammer drill 8 amp")[:12]
    health = json.dumps(client.get("/healthz").json())
    assert "item side updated for 2 changed items" in health


def test_a_change_the_item_side_cannot_take_switches_it_off_with_the_reason(
    ranked_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, second = _served(ranked_models)

    def refuse(*args: object) -> None:
        raise ValueError("the model reads a column these items lack")

    monkeypatch.setattr(second.search.side, "update", refuse)
    pipeline.upsert_items(shop_catalog().frame.head(1).pipe(Catalog))
    assert not second.active
    assert second.describe() == (
        "second stage off: the item side could not take the upserted items (the model "
        "reads a column these items lack); search serves the fused order"
    )
    assert second.describe() in pipeline.stages()[Stage.INDEX].detail
    vector = HashingEncoder().encode_queries(["cordless"])[0]
    fused = pipeline.retriever.search("cordless", vector, k=3)
    assert _served_ids(pipeline, "cordless", k=3) == list(fused.item_ids)
    pipeline.remove_item("d2")  # stays off: the item side no longer follows the catalog
    assert "could not take the upserted items" in second.describe()


def test_an_item_side_refusal_changes_nothing_and_reaches_healthz(
    ranked_models: Path, make_client: AppFactory
) -> None:
    pipeline, second = _served(ranked_models)
    side = second.search.side
    before = (list(side.items), side.vectors.copy(), dict(side.idf), side.default_idf)
    assert side.brands is not None and side.categories is not None
    brands, categories = list(side.brands), side.categories.copy()
    # vectors of another dimension than the index's (the store refuses these before any
    # change, so here straight to the second stage), for two items the index holds
    rows = shop_catalog().frame.head(2).with_columns(pl.lit("Cordless blower").alias("title"))
    ids = [str(i) for i in rows["item_id"]]
    second.items_upserted(ids, Catalog(rows), np.ones((2, 3), dtype=np.float32))
    assert not second.active and second.changed == 0
    assert (list(side.items), dict(side.idf), side.default_idf) == (
        before[0],
        before[2],
        before[3],
    )
    assert side.vectors.shape == before[1].shape and np.array_equal(side.vectors, before[1])
    assert side.brands == brands and np.array_equal(side.categories, categories)
    said = second.describe()
    assert said.startswith("second stage off: the item side could not take the upserted ")
    assert "dimension" in said and said.endswith("; search serves the fused order")
    assert said in json.dumps(make_client(pipeline=pipeline).get("/healthz").json())


def test_a_depth_below_the_candidates_asked_for_is_warned_at_load(
    ranked_models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="paretorec.serve.second_stage"):
        options = LoadOptions(encoder=HashingEncoder(), second_stage_depth=3)
        second = load_pipeline(ModelRegistry(ranked_models), options).second_stage
    assert second is not None
    said = "depth of 3 a run is below the 100 candidates a request can ask for"
    assert said in caplog.text and said in second.describe()
    # the service's default depth (100) covers `k` up to 100 and the 50 candidates
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="paretorec.serve.second_stage"):
        second = load_pipeline(
            ModelRegistry(ranked_models), LoadOptions(encoder=HashingEncoder())
        ).second_stage
    assert second is not None and second.shortfall() is None and caplog.text == ""
    # a deeper candidate pool than any `k` raises the bar
    deep = LoadOptions(encoder=HashingEncoder(), depth=150)
    second = load_pipeline(ModelRegistry(ranked_models), deep).second_stage
    assert second is not None and "below the 150 candidates" in second.describe()


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
