"""Rank and score fusion: exact values on hand-made lists."""

from __future__ import annotations

import math

import numpy as np
import pytest

from paretorec.retrieve import (
    Candidates,
    Normalization,
    ReciprocalRankFusion,
    ScoreFusion,
    reciprocal_rank_fusion,
    score_fusion,
)

POSITION = {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}


def run(ids: str, scores: list[float], name: str) -> Candidates:
    values = np.asarray(scores, dtype=np.float64)
    return Candidates(tuple(ids), np.array([POSITION[i] for i in ids]), values, {name: values})


LEXICAL = run("abc", [9.0, 6.0, 3.0], "lexical")  # ranks a1 b2 c3
DENSE = run("cbd", [0.9, 0.8, 0.4], "dense")  # ranks c1 b2 d3


def test_rrf_exact_scores() -> None:
    fused = reciprocal_rank_fusion({"lexical": LEXICAL, "dense": DENSE})
    expected = {
        "b": 1 / 62 + 1 / 62,
        "c": 1 / 63 + 1 / 61,
        "a": 1 / 61,
        "d": 1 / 63,
    }
    assert fused.item_ids == ("c", "b", "a", "d")  # 1/61 + 1/63 > 2/62
    assert fused.scores == pytest.approx([expected[i] for i in fused.item_ids], rel=1e-12)
    assert fused.indices.tolist() == [2, 1, 0, 3]
    assert fused.components["lexical"] == pytest.approx([3.0, 6.0, 9.0, math.nan], nan_ok=True)
    assert fused.components["dense"] == pytest.approx([0.9, 0.8, math.nan, 0.4], nan_ok=True)


def test_rrf_weights_and_k() -> None:
    fused = reciprocal_rank_fusion(
        {"lexical": LEXICAL, "dense": DENSE}, weights={"lexical": 3.0, "dense": 1.0}, k_rrf=0, k=2
    )
    # a: 3/1; b: 3/2 + 1/2 = 2; c: 3/3 + 1/1 = 2 (tie: b has the smaller position); d: 1/3
    assert fused.item_ids == ("a", "b")
    assert fused.scores == pytest.approx([3.0, 2.0])


def test_rrf_config_uses_twice_the_weight() -> None:
    classic = reciprocal_rank_fusion({"lexical": LEXICAL, "dense": DENSE})
    half = ReciprocalRankFusion().fuse(LEXICAL, DENSE)
    assert half.item_ids == classic.item_ids
    assert half.scores == pytest.approx(classic.scores)
    lexical_only = ReciprocalRankFusion(weight=1.0).fuse(LEXICAL, DENSE)
    assert lexical_only.item_ids[:3] == ("a", "b", "c")
    assert lexical_only.scores[:3] == pytest.approx([2 / 61, 2 / 62, 2 / 63])


def test_minmax_score_fusion_exact_values() -> None:
    # lexical min-max: a 1, b 0.5, c 0; dense: c 1, b 0.8, d 0 (0.4 is the min); missing: 0
    fused = score_fusion(
        {"lexical": LEXICAL, "dense": DENSE}, weights={"lexical": 0.3, "dense": 0.7}
    )
    expected = {
        "a": 0.3 * 1.0 + 0.7 * 0.0,
        "b": 0.3 * 0.5 + 0.7 * (0.8 - 0.4) / 0.5,
        "c": 0.3 * 0.0 + 0.7 * 1.0,
        "d": 0.3 * 0.0 + 0.7 * 0.0,
    }
    assert fused.item_ids == ("b", "c", "a", "d")
    assert fused.scores == pytest.approx([expected[i] for i in fused.item_ids], rel=1e-12)
    assert ScoreFusion(weight=0.3).fuse(LEXICAL, DENSE).scores == pytest.approx(fused.scores)


def test_zscore_score_fusion_exact_values() -> None:
    fused = score_fusion({"lexical": LEXICAL, "dense": DENSE}, normalization="zscore")
    lex = np.array([9.0, 6.0, 3.0])
    lex_z = (lex - lex.mean()) / lex.std()  # a 1.2247, b 0, c -1.2247
    den = np.array([0.9, 0.8, 0.4])
    den_z = (den - den.mean()) / den.std()  # c, b, d
    expected = {
        "a": lex_z[0] + den_z.min(),  # missing from dense: dense's floor
        "b": lex_z[1] + den_z[1],
        "c": lex_z[2] + den_z[0],
        "d": lex_z.min() + den_z[2],
    }
    order = sorted(expected, key=lambda i: (-expected[i], POSITION[i]))
    assert fused.item_ids == tuple(order)
    assert fused.scores == pytest.approx([expected[i] for i in order], rel=1e-12)


def test_degenerate_lists() -> None:
    single = run("a", [5.0], "lexical")
    empty = Candidates.empty(("dense",))
    fused = score_fusion({"lexical": single, "dense": empty})
    assert fused.item_ids == ("a",) and fused.scores.tolist() == [1.0]  # equal scores: 1
    fused = score_fusion(
        {"lexical": run("ab", [2.0, 2.0], "lexical")}, normalization=Normalization.ZSCORE
    )
    assert fused.scores.tolist() == [0.0, 0.0]
    assert len(reciprocal_rank_fusion({"lexical": empty, "dense": empty})) == 0


def test_scores_equal_up_to_rounding_normalize_equal() -> None:
    # a new copy of an item scored by the float64 delta part against its float32 original
    lexical = run("ab", [0.81161827, 0.81161821], "lexical")
    dense = run("ba", [0.2774, 0.2774], "dense")
    fused = score_fusion(
        {"lexical": lexical, "dense": dense}, weights={"lexical": 0.7, "dense": 0.3}
    )
    assert fused.scores.tolist() == [1.0, 1.0]
    z = score_fusion({"lexical": lexical}, normalization=Normalization.ZSCORE)
    assert z.scores.tolist() == [0.0, 0.0]
    # a real difference is still stretched to [0, 1]
    apart = score_fusion({"lexical": run("ab", [0.8116, 0.8115], "lexical")})
    assert apart.scores.tolist() == [1.0, 0.0]


def test_bad_fusion_input() -> None:
    with pytest.raises(ValueError, match="no runs"):
        reciprocal_rank_fusion({})
    with pytest.raises(ValueError, match="weights name"):
        score_fusion({"lexical": LEXICAL}, weights={"dense": 1.0})
    with pytest.raises(ValueError, match=">= 0"):
        score_fusion({"lexical": LEXICAL}, weights={"lexical": -1.0})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ScoreFusion(weight=1.5)
    with pytest.raises(ValueError, match="k_rrf"):
        ReciprocalRankFusion(k_rrf=-1)
    other = Candidates(("a",), np.array([7]), np.array([1.0]))
    with pytest.raises(ValueError, match="do not share one item table"):
        reciprocal_rank_fusion({"lexical": LEXICAL, "dense": other})


def test_candidates_checks() -> None:
    with pytest.raises(ValueError, match="non-increasing"):
        Candidates(("a", "b"), np.array([0, 1]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="one length"):
        Candidates(("a",), np.array([0, 1]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="NaN"):
        Candidates(("a",), np.array([0]), np.array([np.nan]))
    found = LEXICAL.top(2)
    assert found.item_ids == ("a", "b") and found.components["lexical"].tolist() == [9.0, 6.0]
    with pytest.raises(ValueError, match="read-only"):
        LEXICAL.scores[0] = 1.0
