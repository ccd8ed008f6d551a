"""The cross-encoder re-ranker: training pairs, the blend, choosing it, training and loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.cross_encoder import (
    COMPONENT,
    CrossEncoder,
    CrossEncoderBlend,
    CrossEncoderConfig,
    GradedPair,
    blend_rerank,
    choose_blend,
    graded_pairs,
    train_cross_encoder,
)
from tests.retrieve.test_pipeline_cli import shop  # noqa: F401  (the tiny judged catalog)


def listed(scores: list[float], ids: list[str] | None = None) -> Candidates:
    ids = ids or [f"i{n}" for n in range(len(scores))]
    return Candidates(tuple(ids), np.arange(len(ids)), np.asarray(scores), {"lexical": scores})


def test_graded_pairs_grade_over_top_grade_and_unjudged_negatives() -> None:
    judged = {"q1": {"a": 3.0, "b": 1.5}, "q2": {"c": 2.0}}
    candidates = {"q1": ["a", "x", "y", "b"], "q2": ["z", "c"]}
    texts = {"q1": "drill", "q2": "elbow"}
    items = {i: f"title {i}" for i in "abcxyz"}
    pairs = graded_pairs(judged, candidates, texts, items, negatives_per_query=1, seed=0)
    positives = [(p.query, p.item, p.target) for p in pairs if p.target > 0]
    assert positives == [
        ("drill", "title a", 1.0),
        ("drill", "title b", 0.5),
        ("elbow", "title c", 2.0 / 3.0),
    ]
    negatives = [(p.query, p.item) for p in pairs if p.target == 0]
    # one unjudged candidate per query, never a judged one
    assert [q for q, _ in negatives] == ["drill", "elbow"]
    assert negatives[0][1] in {"title x", "title y"} and negatives[1][1] == "title z"


def test_graded_pairs_refuses_no_relevant_judgment_and_zeroes_judged_irrelevant() -> None:
    with pytest.raises(ValueError, match="no judged relevant pair"):
        graded_pairs({}, {}, {}, {}, negatives_per_query=1)
    with pytest.raises(ValueError, match="no judged relevant pair"):
        graded_pairs({"q": {"a": 0.0}}, {}, {"q": "x"}, {"a": "t"}, negatives_per_query=1)
    pairs = graded_pairs(
        {"q": {"a": 2.0, "b": -1.0}}, {}, {"q": "x"}, {"a": "t", "b": "u"}, negatives_per_query=1
    )
    assert [(p.item, p.target) for p in pairs] == [("t", 1.0), ("u", 0.0)]


def test_blend_weight_one_orders_top_by_logits_and_keeps_the_rest() -> None:
    found = listed([5.0, 4.0, 3.0, 2.0, 1.0])
    out = blend_rerank(found, np.array([0.0, 2.0, 1.0]), CrossEncoderBlend(depth=3, weight=1.0))
    assert out.item_ids == ("i1", "i2", "i0", "i3", "i4")
    assert list(out.components["lexical"]) == [4.0, 3.0, 5.0, 2.0, 1.0]
    ce = out.components[COMPONENT]
    assert list(ce[:3]) == [2.0, 1.0, 0.0] and np.isnan(ce[3:]).all()
    assert out.scores[2] > out.scores[3]  # the re-ordered top stays above the rest


def test_blend_mixes_standardised_scores() -> None:
    # list z-scores (1.22, 0, -1.22); logits z-scores (-1.22, 0, 1.22): at weight 0.5 all
    # tie and the list's order stands; at 0.6 the logits win and the order flips.
    found = listed([3.0, 2.0, 1.0])
    logits = np.array([10.0, 20.0, 30.0])
    assert blend_rerank(found, logits, CrossEncoderBlend(3, 0.5)).item_ids == ("i0", "i1", "i2")
    assert blend_rerank(found, logits, CrossEncoderBlend(3, 0.6)).item_ids == ("i2", "i1", "i0")


@given(
    st.lists(st.floats(-5, 5), min_size=1, max_size=12),
    st.integers(1, 15),
    st.floats(0, 1),
    st.integers(0, 2**16),
)
def test_blend_only_permutes_the_top(
    scores: list[float], depth: int, weight: float, seed: int
) -> None:
    found = listed(sorted(scores, reverse=True))
    logits = np.random.default_rng(seed).normal(size=len(scores))
    out = blend_rerank(found, logits, CrossEncoderBlend(depth, weight))
    n = min(depth, len(found))
    assert sorted(out.item_ids[:n]) == sorted(found.item_ids[:n])
    assert out.item_ids[n:] == found.item_ids[n:]
    assert (np.diff(out.scores) <= 0).all()
    if weight == 0.0:
        assert out.item_ids == found.item_ids


def test_blend_needs_logits_for_the_top_and_valid_settings() -> None:
    with pytest.raises(ValueError, match="2 logits for the top 3"):
        blend_rerank(listed([3.0, 2.0, 1.0]), np.zeros(2), CrossEncoderBlend(3, 1.0))
    with pytest.raises(ValueError, match="depth"):
        CrossEncoderBlend(0, 0.5)
    with pytest.raises(ValueError, match="weight"):
        CrossEncoderBlend(3, 1.5)


def test_choose_blend_picks_the_best_on_valid_and_prefers_the_list_on_ties() -> None:
    lists = {"q": listed([3.0, 2.0, 1.0], ["bad", "mid", "good"])}
    logits = {"q": np.array([0.0, 1.0, 2.0])}

    def first_is_good(runs: dict[str, Candidates]) -> float:
        return float(runs["q"].item_ids[0] == "good")

    choice = choose_blend(lists, logits, first_is_good, depths=(2, 3), weights=(0.0, 0.5, 1.0))
    assert choice.blend == CrossEncoderBlend(3, 1.0)
    assert (choice.valid_ndcg, choice.list_alone) == (1.0, 0.0)
    flat = choose_blend(lists, logits, lambda runs: 0.5, depths=(2, 3), weights=(0.0, 1.0))
    assert flat.blend == CrossEncoderBlend(2, 0.0)
    with pytest.raises(ValueError, match="no valid queries"):
        choose_blend({}, {}, first_is_good)


def test_config_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="max_steps"):
        CrossEncoderConfig(max_steps=0)
    with pytest.raises(ValueError, match="learning_rate"):
        CrossEncoderConfig(learning_rate=0.0)
    with pytest.raises(ValueError, match="negatives_per_query"):
        CrossEncoderConfig(negatives_per_query=-1)


def test_training_learns_a_tiny_task_and_round_trips(tmp_path: Path) -> None:
    # relevant: the title names the query's tool; a few dozen steps of the real MiniLM
    tools = ["drill", "hammer", "ladder", "faucet"]
    pairs = [GradedPair(q, f"{t} with case", 1.0 if q == t else 0.0) for q in tools for t in tools]
    config = CrossEncoderConfig(max_steps=40, batch_size=8, learning_rate=2e-4, threads=1)
    run = train_cross_encoder(pairs, tmp_path / "ce", config=config)
    assert run.steps == 40 and run.n_pairs == 16
    assert run.last_loss < run.first_loss
    meta = json.loads((tmp_path / "ce" / "paretorec-cross-encoder.json").read_text())
    assert meta["config"]["max_steps"] == 40
    model = CrossEncoder.load(tmp_path / "ce")
    for q in tools:
        logits = model.score(q, [f"{t} with case" for t in tools])
        assert int(np.argmax(logits)) == tools.index(q)
    assert model.score("drill", []).shape == (0,)


def test_training_and_loading_refuse_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 2 pairs"):
        train_cross_encoder([GradedPair("q", "t", 1.0)], tmp_path / "x")
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        train_cross_encoder([GradedPair("q", "t", 1.0), GradedPair("q", "u", 3.0)], tmp_path)
    with pytest.raises(ValueError, match="not a cross-encoder folder"):
        CrossEncoder.load(tmp_path)


def test_train_then_eval_search_with_the_cross_encoder(shop: Path, tmp_path: Path) -> None:  # noqa: F811
    cache = ["--cache", str(tmp_path / "cache")]
    model = tmp_path / "ce"
    train = ["train", "cross-encoder", "--data", str(shop), "--out", str(model), "--steps", "3"]
    trained = CliRunner().invoke(app, [*train, "--batch-size", "4", *cache])
    assert trained.exit_code == 0, trained.output
    meta = json.loads((model / "paretorec-cross-encoder.json").read_text())
    # two train queries, one carved out as valid as the second stage carves it: q1's or
    # q2's two judged items and up to 6 unjudged of its fused top 30 (8 items: all 6)
    assert (meta["steps"], meta["n_pairs"]) == (3, 8)
    report_file = tmp_path / "search.json"
    evaluate = ["evaluate", "search", "--data", str(shop), "--json", str(report_file)]
    result = CliRunner().invoke(app, [*evaluate, "--cross-encoder", str(model), *cache])
    assert result.exit_code == 0, result.output
    report = json.loads(report_file.read_text())
    chosen = report["cross_encoder"]
    assert chosen["depth"] in (10, 20, 30, 50) and 0.0 <= chosen["weight"] <= 1.0
    assert chosen["n_valid_queries"] == 1
    assert chosen["valid_ndcg@10"] >= chosen["valid_ndcg@10_second_stage"]
    methods = {row["method"] for row in report["metrics"]}
    assert "hybrid + LTR + cross-encoder" in methods
    refused = CliRunner().invoke(
        app, [*evaluate, "--cross-encoder", str(model), "--no-second-stage", *cache]
    )
    assert refused.exit_code == 1 and "drop --no-second-stage" in refused.output
