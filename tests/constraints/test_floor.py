"""The relevance floor: passing items first, whatever the scores; named where it acts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.constraints import (
    RELEVANCE_FLOOR,
    ListConstraints,
    RuleError,
    RuleSet,
    apply_floor,
    constrained_list,
    list_arranger,
    shop_constraints,
)
from paretorec.constraints.fair_topk import FairTopK
from paretorec.constraints.floor import check_floor

NO_RULES = RuleSet.from_json({})


def test_apply_floor_moves_only_items_with_a_passing_item_below() -> None:
    relevance = [0.9, 0.1, 0.6, 0.2, float("nan"), 0.5]
    floored = apply_floor([1, 0, 3, 2, 4, 5], relevance, 0.5)
    assert floored.order == (0, 2, 5, 1, 3, 4)
    # 1 and 3 had passing items after them; 4 (NaN counts as below) had 5 after it
    assert floored.demoted == frozenset({1, 3, 4})
    assert apply_floor([0, 2, 1], relevance, 0.5).demoted == frozenset()  # already in order
    assert apply_floor([1, 3], relevance, 0.5).order == (1, 3)  # nothing passes: unchanged


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, "0.3", True, None])
def test_check_floor_refuses_what_is_not_a_share(bad: object) -> None:
    with pytest.raises(ValueError, match="relevance_floor must be"):
        check_floor(bad)


def test_rules_file_sets_the_floor_and_names_a_bad_one() -> None:
    assert shop_constraints({"relevance_floor": 0.3}).lists.relevance_floor == 0.3
    assert shop_constraints({}).lists.relevance_floor is None
    assert not shop_constraints({"relevance_floor": 0}).lists.empty
    with pytest.raises(RuleError, match=r"relevance_floor must be in \[0, 1\]"):
        shop_constraints({"relevance_floor": 2})


def test_constrained_list_names_the_floor_and_counts_each_demoted_item() -> None:
    lists = ListConstraints(NO_RULES, relevance_floor=0.5)
    relevance = [0.1, 0.8, 0.2, 0.7, 0.9]
    out = constrained_list([0, 1, 2, 3, 4], {}, 4, lists, {}, relevance)
    assert out.order == (1, 3, 4, 0)
    assert out.moved_by == ((), (), (), (RELEVANCE_FLOOR,))
    assert out.hits() == [RELEVANCE_FLOOR, RELEVANCE_FLOOR]  # 0 shown lower, 2 pushed out
    with pytest.raises(ValueError, match="needs each candidate's relevance"):
        constrained_list([0, 1], {}, 2, lists, {})


def test_the_floor_counts_only_what_it_moved_from_the_top_k() -> None:
    lists = ListConstraints(NO_RULES, relevance_floor=0.5)
    # the model's top 3 all pass; 40 items below the floor sit further down among passing
    # ones: demoted in the full order, but the list is the model's own
    relevance = [0.9, 0.9, 0.9] + [0.1, 0.9] * 40
    out = constrained_list(list(range(83)), {}, 3, lists, {}, relevance)
    assert out.order == (0, 1, 2)
    assert out.hits() == []


def test_fair_top_k_cannot_lift_an_item_below_the_floor() -> None:
    fair = FairTopK(field="seller_id", protected=frozenset({"small"}), p=0.5)
    lists = ListConstraints(NO_RULES, fair=fair, relevance_floor=0.5)
    sellers = ["big"] * 4 + ["small"] * 2
    relevance = [0.9, 0.9, 0.9, 0.9, 0.1, 0.1]  # the protected items are off-topic
    out = constrained_list(list(range(6)), {"seller_id": sellers}, 4, lists, {}, relevance)
    assert out.order == (0, 1, 2, 3)
    # a protected item that passes is still lifted by FA*IR
    relevance[5] = 0.6
    out = constrained_list(list(range(6)), {"seller_id": sellers}, 4, lists, {}, relevance)
    assert out.order == (0, 1, 2, 5)


def test_offline_arranger_reads_merit_as_relevance() -> None:
    lists = ListConstraints(NO_RULES, relevance_floor=0.5)
    records = [[{"item_id": f"i{j}"} for j in range(4)]]
    with pytest.raises(ValueError, match="needs each request's candidates' relevance"):
        list_arranger(lists, records, ["q"])
    arranger = list_arranger(lists, records, ["q"], merit=[np.array([0.2, 0.9, 0.4, 0.6])])
    scores = np.array([4.0, 1.0, 3.0, 2.0])  # the weights prefer the off-topic items
    assert arranger(0, scores, 3).tolist() == [3, 1, 0]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=25),
    st.floats(0, 1),
    st.integers(0, 2**32 - 1),
    st.integers(1, 30),
)
def test_no_item_below_the_floor_precedes_a_passing_one(
    relevance: list[float], floor: float, seed: int, k: int
) -> None:
    order = np.random.default_rng(seed).permutation(len(relevance)).tolist()
    lists = ListConstraints(NO_RULES, relevance_floor=floor)
    out = constrained_list(order, {}, k, lists, {}, relevance)
    passes = [relevance[i] >= floor for i in out.order]
    assert passes == sorted(passes, reverse=True)  # every True before every False
    assert len(out.order) == min(k, len(relevance))
    kept = [i for i in order if relevance[i] >= floor]
    assert list(out.order[: len(kept)]) == kept[: len(out.order)]  # passing keep their order
    for index, names in zip(out.order, out.moved_by, strict=True):
        assert (RELEVANCE_FLOOR in names) == (index in apply_floor(order, relevance, floor).demoted)
