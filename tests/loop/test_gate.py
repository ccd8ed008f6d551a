"""The promotion gate: paired differences, and the decision rule on hand-made figures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.evaluate.ope.base import RoundTerms
from paretorec.loop.gate import WEIGHTED, Comparison, GateRule, compare, decide, replicate_values

RULE = GateRule(tolerance=0.02, n_bootstrap=200, seed=1)


def test_paired_difference_of_a_constant_gap_has_no_width() -> None:
    # every round gains exactly 0.1: each replicate's difference is 0.1, whatever it draws
    a = {"clicks": RoundTerms(base=np.array([0.5, 0.7, 0.2, 0.9]))}
    b = {"clicks": RoundTerms(base=np.array([0.4, 0.6, 0.1, 0.8]))}
    (c,) = compare(a, b, estimator="SNIPS", rule=RULE)
    assert c.candidate == pytest.approx(0.575)
    assert c.promoted == pytest.approx(0.475)
    assert (c.difference, c.lower, c.upper) == pytest.approx((0.1, 0.1, 0.1))


def test_self_normalized_terms_replicate_as_their_value() -> None:
    terms = RoundTerms(
        base=np.zeros(3), correction=np.array([1.0, 0.0, 2.0]), norm=np.array([1.0, 2.0, 1.0])
    )
    index = np.array([[0, 1, 2], [2, 2, 1], [1, 1, 1]])
    # (1 + 0 + 2) / 4; (2 + 2 + 0) / 4; 0 / 6
    assert replicate_values(terms, index) == pytest.approx([0.75, 1.0, 0.0])
    assert terms.value() == pytest.approx(0.75)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=5, max_size=30),
    st.lists(st.floats(0, 1), min_size=5, max_size=30),
)
def test_swapping_the_policies_negates_the_comparison(xs: list[float], ys: list[float]) -> None:
    n = min(len(xs), len(ys))
    a = {"k": RoundTerms(base=np.asarray(xs[:n]))}
    b = {"k": RoundTerms(base=np.asarray(ys[:n]))}
    (ab,) = compare(a, b, estimator="SNIPS", rule=RULE)
    (ba,) = compare(b, a, estimator="SNIPS", rule=RULE)
    assert ab.difference == pytest.approx(-ba.difference, abs=1e-12)
    assert ab.lower == pytest.approx(-ba.upper, abs=1e-12)
    assert ab.lower <= ab.upper


def test_compare_refuses_different_rounds_or_objectives() -> None:
    one = {"k": RoundTerms(base=np.ones(3))}
    with pytest.raises(ValueError, match="same rounds"):
        compare(one, {"k": RoundTerms(base=np.ones(4))}, estimator="DR", rule=RULE)
    with pytest.raises(ValueError, match="same objectives"):
        compare(one, {"j": RoundTerms(base=np.ones(3))}, estimator="DR", rule=RULE)


def _c(objective: str, promoted: float, lower: float, upper: float) -> Comparison:
    return Comparison(
        objective, "DR", promoted + (lower + upper) / 2, promoted, (lower + upper) / 2, lower, upper
    )


def test_promotes_a_better_weighted_objective_with_a_small_loss_inside_tolerance() -> None:
    # revenue may lose: its interval's top, -0.01, is above -2% of 1.0
    decision = decide(
        [
            _c("clicks", 0.3, 0.01, 0.05),
            _c("revenue", 1.0, -0.04, -0.01),
            _c(WEIGHTED, 0.5, 0.002, 0.03),
        ],
        RULE,
    )
    assert decision.promote
    assert decision.reason.startswith("the weighted objective is better")


def test_refuses_an_objective_worse_beyond_tolerance() -> None:
    decision = decide(
        [
            _c("clicks", 0.3, 0.01, 0.05),
            _c("revenue", 1.0, -0.06, -0.03),
            _c(WEIGHTED, 0.5, 0.01, 0.03),
        ],
        RULE,
    )
    assert not decision.promote
    assert decision.reason.startswith("revenue is worse by DR")


def test_refuses_a_weighted_gain_whose_interval_reaches_zero() -> None:
    decision = decide([_c("clicks", 0.3, 0.0, 0.05), _c(WEIGHTED, 0.5, -0.001, 0.03)], RULE)
    assert not decision.promote
    assert "the weighted objective is not better by DR" in decision.reason


def test_decide_needs_the_weighted_objective_and_rules_check_arguments() -> None:
    with pytest.raises(ValueError, match="'weighted'"):
        decide([_c("clicks", 0.3, 0.0, 0.05)], RULE)
    with pytest.raises(ValueError, match="tolerance"):
        GateRule(tolerance=1.5)
    with pytest.raises(ValueError, match="n_bootstrap"):
        GateRule(n_bootstrap=1)
