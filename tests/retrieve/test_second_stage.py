"""The learned second stage: exact features on a hand-built catalog, learning a clear
signal, save/load, and its bad-input paths."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.second_stage import (
    FittedSecondStage,
    GradeLabels,
    SecondStage,
    SecondStageConfig,
    train_second_stage,
)
from paretorec.retrieve.second_stage_features import (
    MISSING_RANK,
    ItemSide,
    QueryInput,
    pair_features,
)
from paretorec.types import Catalog

TITLES = ["DeWalt 18-Volt Cordless Drill", "Makita 12-Volt Drill Driver", "Garden Hose 50 ft"]
VECTORS = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.6, 0.8, 0.0]], dtype=np.float32)
RUNS = ("lexical", "dense", "hybrid")


def catalog(titles: list[str]) -> Catalog:
    return Catalog(
        pl.DataFrame({"item_id": [f"i{n}" for n in range(len(titles))], "title": titles})
    )


def run(positions: list[int], scores: list[float], name: str) -> Candidates:
    return Candidates(
        tuple(f"i{p}" for p in positions),
        np.asarray(positions, dtype=np.int64),
        np.asarray(scores),
        {name: np.asarray(scores)},
    )


def query(text: str, vector: list[float] | None = None) -> QueryInput:
    runs = {
        "lexical": run([0, 1], [3.0, 1.0], "lexical"),
        "dense": run([2, 0], [0.9, 0.8], "dense"),
        "hybrid": run([0, 2, 1], [1.5, 0.9, 0.5], "hybrid"),
    }
    return QueryInput(text, np.asarray(vector or [1.0, 0.0, 0.0], dtype=np.float32), runs)


def features(text: str) -> dict[str, list[float]]:
    side = ItemSide.build(catalog(TITLES), VECTORS)
    found = pair_features(query(text), side, runs=RUNS, prf_run="hybrid", prf_depth=2)
    assert found.item_ids == ("i0", "i1", "i2")  # the union in first-seen order
    return {n: found.matrix[:, j].tolist() for j, n in enumerate(found.names)}


def test_run_scores_ranks_and_gaps_with_missing_items() -> None:
    f = features("dewalt 18v drill")
    assert f["lexical:rank"] == [1, 2, MISSING_RANK]
    assert f["dense:rank"] == [2, MISSING_RANK, 1]
    assert f["hybrid:rank"] == [1, 3, 2]
    assert f["lexical:score"][:2] == [3.0, 1.0] and math.isnan(f["lexical:score"][2])
    assert f["dense:gap"][0] == pytest.approx(0.1) and math.isnan(f["dense:gap"][1])
    assert f["cosine"] == pytest.approx([1.0, 0.0, 0.6])
    assert f["cosine_gap"] == pytest.approx([0.0, 1.0, 0.4])


def test_coverage_numbers_and_units() -> None:
    # query tokens: dewalt, 18v, 18, drill
    f = features("dewalt 18v drill")
    assert f["coverage"] == [1.0, 0.25, 0.0]
    assert f["missing"] == [0, 3, 4]
    assert f["number_coverage"] == [1.0, 0.0, 0.0]
    assert f["unit_match"] == [1.0, 0.0, 0.0]
    assert f["unit_conflict"] == [0, 1, 0]  # the Makita says 12 V; the hose names no volts
    assert f["first_token_match"] == [1.0, 0.0, 0.0]
    assert f["last_word_match"] == [1.0, 1.0, 0.0]
    # pairs dewalt-18v, 18v-18, 18-drill: "cordless" parts the last one in the DeWalt title
    assert f["bigram_coverage"] == pytest.approx([2 / 3, 0.0, 0.0])
    assert f["query_tokens"] == [4, 4, 4] and f["item_tokens"] == [5, 5, 4]
    # idf over the 3 items: drill is in 2, dewalt / 18v / 18 in 1 each
    rare, common = math.log1p(2.5 / 1.5), math.log1p(1.5 / 2.5)
    assert f["idf_coverage"][1] == pytest.approx(common / (3 * rare + common))
    assert math.isnan(f["model_coverage"][0])  # no model number in the query
    assert all(math.isnan(v) for v in f["brand_match"] + f["category_agreement"])


def test_prefix_tolerant_coverage_and_model_numbers() -> None:
    f = features("cordles drill")  # tokens: cordle, drill
    assert f["coverage"] == [0.5, 0.5, 0.0]
    assert f["soft_coverage"] == [1.0, 0.5, 0.0]
    assert math.isnan(f["number_coverage"][0]) and math.isnan(f["bigram_coverage"][0]) is False


def test_agreement_with_the_top_hits() -> None:
    f = features("drill")
    # the hybrid's top 2 are items 0 and 2: centroid (0.8, 0.4) / |.|
    centroid = np.array([0.8, 0.4, 0.0]) / math.hypot(0.8, 0.4)
    assert f["prf_cosine"] == pytest.approx((VECTORS @ centroid).tolist(), rel=1e-6)
    # item 1 holds makita 12v 12 drill driver: only "drill" is in one of the two top items
    assert f["prf_terms"][1] == pytest.approx(1 / (5 * 2))


def test_category_and_popularity_when_the_catalog_has_them() -> None:
    frame = catalog(TITLES).frame.with_columns(
        pl.Series("category", ["Tools>Drills", "Tools>Drills", "Garden"])
    )
    side = ItemSide.build(Catalog(frame), VECTORS, popularity=[0, 3, 10])
    found = pair_features(query("drill"), side, runs=RUNS, prf_run="hybrid", prf_depth=2)
    f = {n: found.matrix[:, j].tolist() for j, n in enumerate(found.names)}
    assert f["category_agreement"] == [0.5, 0.5, 0.5]  # one of the top 2 shares each's path
    assert f["popularity"] == pytest.approx([0.0, math.log1p(3), math.log1p(10)])


def synthetic(
    n_queries: int, seed: int
) -> tuple[ItemSide, dict[str, QueryInput], dict[str, dict[str, float]]]:
    """Items "<colour> <thing>"; query "<colour> <thing>": the one item with both words is
    relevant; the first stage returns every item sharing a word, in random order with
    random scores, so only the text features can find it."""
    colours = ["red", "blue", "green", "black", "white", "yellow"]
    things = ["chair", "table", "lamp", "shelf", "sofa", "desk", "bench", "stool"]
    titles = [f"{c} {t}" for c in colours for t in things]
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(len(titles), 8)).astype(np.float32)
    side = ItemSide.build(catalog(titles), vectors)
    inputs, judged = {}, {}
    for n in range(n_queries):
        target = int(rng.integers(len(titles)))
        words = set(titles[target].split())
        shared = [i for i, t in enumerate(titles) if words & set(t.split())]
        order = rng.permutation(shared).tolist()
        scores = sorted(rng.uniform(size=len(order)).tolist(), reverse=True)
        runs = {name: run(order, scores, name) for name in RUNS}
        qid = f"q{n}"
        inputs[qid] = QueryInput(titles[target], rng.normal(size=8).astype(np.float32), runs)
        judged[qid] = {f"i{target}": 3.0}
    return side, inputs, judged


SMALL = SecondStageConfig(min_data_in_leaf=5, num_leaves=7, max_rounds=60, early_stopping_rounds=20)


def test_the_trained_ranker_puts_the_relevant_item_first(tmp_path: Path) -> None:
    side, inputs, judged = synthetic(90, seed=1)
    ids = list(inputs)
    train = {q: inputs[q] for q in ids[:60]}
    valid = {q: inputs[q] for q in ids[60:75]}
    stage, report = train_second_stage(train, valid, judged, side, config=SMALL)
    assert report.n_train_queries == 60 and report.best_round >= 1
    for q in ids[75:]:
        ranked = stage.rerank(inputs[q], side)
        assert ranked.item_ids[0] in judged[q]
        assert len(ranked) == len(inputs[q].runs["lexical"])
        assert (np.diff(ranked.scores) <= 0).all()

    stage.save(tmp_path / "ltr")
    again = SecondStage.load(tmp_path / "ltr")
    for q in ids[75:]:
        found = stage.features(inputs[q], side)
        np.testing.assert_array_equal(stage.score(found), again.score(found))
    assert again.config == stage.config and again.labels == stage.labels


def test_a_query_without_candidates_gets_an_empty_list() -> None:
    side, inputs, judged = synthetic(40, seed=2)
    ids = list(inputs)
    stage, _ = train_second_stage(
        {q: inputs[q] for q in ids[:30]},
        {q: inputs[q] for q in ids[30:]},
        judged,
        side,
        config=SMALL,
    )
    nothing = QueryInput("zzz", np.ones(8, np.float32), {n: Candidates.empty((n,)) for n in RUNS})
    ranked = stage.rerank(nothing, side, k=10)
    assert len(ranked) == 0 and set(ranked.components) == {"ltr", *RUNS}


def test_training_without_judged_train_queries_fails_clearly() -> None:
    side, inputs, judged = synthetic(20, seed=3)
    ids = list(inputs)
    valid_only = {q: judged[q] for q in ids[10:]}
    with pytest.raises(ValueError, match="no train query has a judged relevant item"):
        train_second_stage(
            {q: inputs[q] for q in ids[:10]}, {q: inputs[q] for q in ids[10:]}, valid_only, side
        )


def test_bad_inputs_say_what_is_wrong() -> None:
    side = ItemSide.build(catalog(TITLES), VECTORS)
    with pytest.raises(ValueError, match="lacks the first-stage runs"):
        pair_features(
            query("drill"), side, runs=("lexical", "fuzzy"), prf_run="hybrid", prf_depth=2
        )
    small = ItemSide.build(catalog(TITLES[:2]), VECTORS[:2])
    with pytest.raises(ValueError, match="past the 2 items"):
        pair_features(query("drill"), small, runs=RUNS, prf_run="hybrid", prf_depth=2)
    with pytest.raises(ValueError, match="distinct"):
        SecondStageConfig(runs=("lexical", "lexical"))
    with pytest.raises(ValueError, match="depth"):
        SecondStageConfig(depth=0)
    with pytest.raises(ValueError, match="2 vectors"):
        ItemSide.build(catalog(TITLES), VECTORS[:2])


def test_grade_labels_carry_the_metrics_gain() -> None:
    labels = GradeLabels.fit([1.0, 2.33, 3.0, 2.33, 0.0])
    assert labels.grades == (1.0, 2.33, 3.0)
    assert [labels.label(g) for g in (0.0, 1.0, 2.33, 3.0)] == [0, 1, 2, 3]
    assert labels.gains == pytest.approx([0.0, 1.0, 2**2.33 - 1, 7.0])
    many = GradeLabels.fit(np.linspace(0.1, 5, 100).tolist())
    assert len(many.grades) == 30 and list(many.grades) == sorted(many.grades)


def test_eval_search_saves_the_second_stage_or_skips_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from paretorec.cli import app
    from tests.retrieve.test_pipeline_cli import ITEMS, JUDGMENTS, QUERIES

    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "items.csv").write_text(ITEMS)
    (shop / "queries.csv").write_text(QUERIES)
    (shop / "judgments.csv").write_text(JUDGMENTS)
    common = ["evaluate", "search", "--data", str(shop), "--cache", str(tmp_path / "cache")]
    saved = tmp_path / "index" / "second_stage"
    result = CliRunner().invoke(app, [*common, "--save-second-stage", str(saved)])
    assert result.exit_code == 0, result.output
    assert "hybrid + LTR" in result.output and (saved / "model.txt").is_file()
    assert SecondStage.load(saved).config.runs == RUNS
    out = tmp_path / "plain.json"
    result = CliRunner().invoke(app, [*common, "--no-second-stage", "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert {r["method"] for r in report["metrics"]} == {"BM25", "dense", "hybrid"}
    assert report["second_stage"] is None
    # a char n-gram model cannot be served by `search` or the service: refused before work
    refused = CliRunner().invoke(
        app, [*common, "--char-ngrams", "--save-second-stage", str(tmp_path / "char")]
    )
    assert refused.exit_code != 0
    assert "trained without --char-ngrams" in " ".join(refused.output.split())
    assert not (tmp_path / "char").exists()


class _Hashing:
    """Bag-of-words vectors (no model): shared words make texts close."""

    dimension = 16
    name = "test-hashing-16"

    def encode_queries(self, texts: Iterable[str | bytes]) -> np.ndarray:
        rows = []
        for text in texts:
            text = text.decode() if isinstance(text, bytes) else text
            vector = np.full(self.dimension, 1e-3, dtype=np.float32)
            for word in text.lower().split():
                vector[sum(map(ord, word)) % self.dimension] += 1.0
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, dtype=np.float32)

    encode_items = encode_queries


def test_fit_on_judgments_with_char_ngrams_in_the_union() -> None:
    from paretorec.retrieve import DenseIndex, HybridRetriever, LexicalIndex, ScoreFusion
    from paretorec.retrieve.fuzzy import CharNgramIndex
    from paretorec.retrieve.second_stage import fit_second_stage

    colours = ["red", "blue", "green", "black", "white"]
    things = ["chair", "table", "lamp", "shelf", "sofa", "desk"]
    shop = catalog([f"{c} {t}" for c in colours for t in things])
    encoder = _Hashing()
    vectors = encoder.encode_items(shop.frame["title"].to_list())
    search = HybridRetriever(LexicalIndex.build(shop), DenseIndex.build(vectors, shop))
    texts, rows = {}, []
    for n, (c, t) in enumerate((c, t) for c in colours for t in things):
        qid = f"q{n}"
        texts[qid] = f"{c}s {t}"  # a plural BM25 folds and the n-grams share
        split = "valid" if n % 6 == 0 else "test" if n % 6 == 1 else "train"
        rows.append((qid, f"i{n}", 3.0, split))
    judgments = pl.DataFrame(rows, schema=["query_id", "item_id", "grade", "split"], orient="row")
    more = {"char": CharNgramIndex.build(shop)}
    fitted = fit_second_stage(
        shop, vectors, encoder, search, ScoreFusion(), judgments, texts, more=more
    )
    assert fitted.stage.config.runs == ("lexical", "dense", "hybrid", "char")
    assert fitted.valid_source == "from the data" and fitted.report.n_valid_queries == 5
    assert fitted.report.n_train_queries == 20  # the test queries are never read
    ranked = fitted.rerank(encoder, {"q1": texts["q1"]}, k=5)
    assert len(ranked["q1"]) == 5 and set(ranked["q1"].components) >= {"ltr", "char"}
    with pytest.raises(ValueError, match="lack the retrievers"):
        fit_second_stage(
            shop, vectors, encoder, search, ScoreFusion(), judgments, texts,
            more=more, config=SecondStageConfig(),
        )  # fmt: skip


def _trained_shop(
    spelling: bool = True,
) -> tuple[Catalog, np.ndarray, _Hashing, dict[str, str], FittedSecondStage]:
    """A 30-item shop, its judged queries and a second stage fitted through a score
    fusion at lexical weight 0.9 (the index it is served over may fuse otherwise)."""
    from paretorec.retrieve import DenseIndex, HybridRetriever, LexicalIndex, ScoreFusion
    from paretorec.retrieve.lexical import item_texts
    from paretorec.retrieve.second_stage import fit_second_stage
    from paretorec.retrieve.spelling import SpellCorrector

    colours = ["red", "blue", "green", "black", "white"]
    things = ["chair", "table", "lamp", "shelf", "sofa", "desk"]
    shop = catalog([f"{c} {t}" for c in colours for t in things])
    encoder = _Hashing()
    vectors = encoder.encode_items(shop.frame["title"].to_list())
    lexical = LexicalIndex.build(shop)
    speller = SpellCorrector.build(item_texts(shop, lexical.fields)) if spelling else None
    fusion = ScoreFusion(weight=0.9)
    search = HybridRetriever(
        lexical, DenseIndex.build(vectors, shop), fusion=fusion, speller=speller
    )
    texts, rows = {}, []
    for n, (c, t) in enumerate((c, t) for c in colours for t in things):
        qid = f"q{n}"
        texts[qid] = f"{c} {t}s" if n % 2 else f"{t} {c}"
        split = "valid" if n % 6 == 0 else "test" if n % 6 == 1 else "train"
        rows.append((qid, f"i{n}", 3.0, split))
        rows.append((qid, f"i{(n + 1) % 30}", 1.0, split))
    judgments = pl.DataFrame(rows, schema=["query_id", "item_id", "grade", "split"], orient="row")
    config = SecondStageConfig(min_data_in_leaf=2, num_leaves=8, max_rounds=40, depth=30)
    fitted = fit_second_stage(
        shop, vectors, encoder, search, fusion, judgments, texts, config=config
    )
    return shop, vectors, encoder, texts, fitted


def test_served_search_rebuilds_the_runs_the_model_was_trained_on(tmp_path: Path) -> None:
    from paretorec.retrieve import HybridRetriever, ReciprocalRankFusion
    from paretorec.retrieve.second_stage import RerankedSearch

    shop, vectors, encoder, texts, fitted = _trained_shop()
    fitted.stage.save(tmp_path / "index" / "second_stage")
    saved = json.loads((tmp_path / "index" / "second_stage" / "settings.json").read_text())
    assert saved["first_stage"] == {
        "fusion": {"kind": "ScoreFusion", "weight": 0.9, "normalization": "minmax"},
        "spelling": True,
        "encoder": "test-hashing-16",
        "abbreviations": True,
    }
    # the index folder's own fusion is another one: the model's must be used
    index = HybridRetriever(
        fitted.search.lexical,
        fitted.search.dense,
        fusion=ReciprocalRankFusion(),
        speller=fitted.search.speller,
    )
    served = RerankedSearch.load(tmp_path / "index", index, shop, vectors, encoder=encoder.name)
    for query_id in ("q1", "q7", "q13"):
        trained = fitted.rerank(encoder, {query_id: texts[query_id]}, k=10)[query_id]
        vector = encoder.encode_queries([texts[query_id]])[0]
        found = served.search(texts[query_id], vector, k=10)
        assert found.item_ids == trained.item_ids
        assert found.scores == pytest.approx(trained.scores)


def test_served_search_expands_abbreviations_as_the_model_was_trained(tmp_path: Path) -> None:
    from paretorec.retrieve.second_stage import FirstStageSettings, RerankedSearch
    from paretorec.retrieve.spelling import SpellCorrector

    shop, vectors, encoder, _, fitted = _trained_shop()
    assert fitted.stage.first_stage is not None and fitted.stage.first_stage.abbreviations
    served = RerankedSearch(fitted.search, fitted.stage, fitted.side, encoder=encoder.name)
    assert served._lexical_query("grn tbl") == "green table"
    # a model saved before the expansion existed records none: served without it, as trained
    settings = fitted.stage.first_stage.to_dict()
    del settings["abbreviations"]
    old = FirstStageSettings.from_dict(settings)
    assert not old.abbreviations
    stage = SecondStage(fitted.stage.booster, fitted.stage.config, fitted.stage.labels, old)
    stage.save(tmp_path / "old" / "second_stage")
    loaded = RerankedSearch.load(
        tmp_path / "old", fitted.search, shop, vectors, encoder=encoder.name
    )
    assert loaded._lexical_query("grn tbl") == "grn tbl"
    assert fitted.search.lexical_query("grn tbl") == "green table"  # the index's own default
    found = loaded.search("grn tbl", encoder.encode_queries(["grn tbl"])[0], k=5)
    assert found.item_ids  # the dense run still finds items for it
    # trained with the expansion over a speller saved before it (no postings): refused
    assert fitted.search.speller is not None
    fitted.search.speller.save(tmp_path / "spelling")
    (tmp_path / "spelling" / "posting_offsets.npy").unlink()
    bare_speller = SpellCorrector.load(tmp_path / "spelling")
    assert not bare_speller.has_documents()
    from paretorec.retrieve import HybridRetriever

    bare = HybridRetriever(fitted.search.lexical, fitted.search.dense, speller=bare_speller)
    with pytest.raises(ValueError, match=r"abbreviation expansion.*saved before"):
        RerankedSearch(bare, fitted.stage, fitted.side, encoder=encoder.name)
    with pytest.raises(ValueError, match="unreadable abbreviations"):
        FirstStageSettings.from_dict({**settings, "abbreviations": "yes"})


def test_served_search_refuses_another_encoder_or_a_missing_speller(tmp_path: Path) -> None:
    from paretorec.retrieve import HybridRetriever
    from paretorec.retrieve.second_stage import RerankedSearch

    shop, vectors, encoder, _, fitted = _trained_shop()
    fitted.stage.save(tmp_path / "index" / "second_stage")
    with pytest.raises(ValueError, match=r"encoder 'test-hashing-16'.*'other-model'"):
        RerankedSearch.load(tmp_path / "index", fitted.search, shop, vectors, encoder="other-model")
    unspelled = HybridRetriever(fitted.search.lexical, fitted.search.dense)
    with pytest.raises(ValueError, match=r"spell-corrected.*no spell corrector"):
        RerankedSearch.load(tmp_path / "index", unspelled, shop, vectors, encoder=encoder.name)
    # a model saved without its first-stage settings cannot be served faithfully
    bare = SecondStage(fitted.stage.booster, fitted.stage.config, fitted.stage.labels)
    bare.save(tmp_path / "bare" / "second_stage")
    with pytest.raises(ValueError, match="records no first-stage settings"):
        RerankedSearch.load(tmp_path / "bare", fitted.search, shop, vectors, encoder=encoder.name)


def test_search_uses_the_second_stage_saved_beside_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from paretorec.cli import app
    from paretorec.evaluate.trec_runs import run_file_name
    from tests.retrieve.test_pipeline_cli import ITEMS, JUDGMENTS, QUERIES

    monkeypatch.setenv("PARETOREC_CACHE", str(tmp_path / "cache"))
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "items.csv").write_text(ITEMS)
    (shop / "queries.csv").write_text(QUERIES)
    (shop / "judgments.csv").write_text(JUDGMENTS)
    index = tmp_path / "index"
    runner = CliRunner()
    assert runner.invoke(app, ["index", str(shop), "--out", str(index)]).exit_code == 0
    plain = runner.invoke(app, ["search", str(shop), "saw", "--index", str(index), "--json"])
    assert plain.exit_code == 0, plain.output
    assert "ltr" not in json.loads(plain.output.splitlines()[-1])["items"][0]
    saved = runner.invoke(
        app,
        [
            "evaluate",
            "search",
            "--data",
            str(shop),
            "--save-second-stage",
            str(index / "second_stage"),
            "--runs",
            str(tmp_path / "runs"),
        ],
    )
    assert saved.exit_code == 0, saved.output
    # the trained model's order of a test query, as eval search ranked it (its run file)
    run = (tmp_path / "runs" / run_file_name("hybrid+LTR")).read_text().splitlines()
    trained = [line.split()[2] for line in run if line.split()[0] == "q3"]
    asked = ["search", str(shop), "circular saw", "--index", str(index), "--json"]
    found = runner.invoke(app, [*asked, "--k", "8", "--keep-duplicates"])
    assert found.exit_code == 0, found.output
    items = json.loads(found.output.splitlines()[-1])["items"]
    assert items and all("ltr" in row for row in items)
    assert [row["item_id"] for row in items] == trained[:8]
    assert {"s1", "s2"} <= set(trained[:8])  # both saws are candidates
