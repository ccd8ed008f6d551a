"""Business rules hold on every list, by construction: checked on hand-made cases and on
random lists (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.constraints import Cap, Pin, RuleError, RuleSet, arrange


def test_a_cap_pushes_the_third_item_of_a_seller_below_its_window() -> None:
    sellers = ["a", "a", "a", "b", "c"]
    out = arrange(
        [0, 1, 2, 3, 4], {"seller_id": sellers}, 5, [Cap("two per seller", "seller_id", 2, 3)], {}
    )
    assert out.order == (0, 1, 3, 2, 4)
    assert out.moved_by == ((), (), (), ("two per seller",), ())


def test_a_pin_takes_its_position_and_says_so() -> None:
    out = arrange([0, 1, 2, 3], {"seller_id": [None] * 4}, 3, [], {3: Pin("promo", "x", 1)})
    assert out.order == (3, 0, 1) and out.moved_by == (("promo",), (), ())


def test_a_pin_that_would_break_a_cap_is_not_applied() -> None:
    sellers = ["a", "b", "c", "a"]
    cap = Cap("one per seller", "seller_id", 1)
    out = arrange([0, 1, 2, 3], {"seller_id": sellers}, 3, [cap], {3: Pin("promo", "x", 2)})
    # position 2 would hold a second "a": the pin is not applied, the order goes on
    assert out.order == (0, 1, 2) and out.moved_by == ((), (), ())


def test_a_pin_beyond_a_short_list_comes_up_to_its_end() -> None:
    out = arrange([0, 1], {"seller_id": [None, None]}, 5, [], {1: Pin("promo", "x", 4)})
    assert out.order == (0, 1) and out.moved_by == ((), ("promo",))


def test_rules_from_json_block_and_hide_out_of_stock() -> None:
    rules = RuleSet.from_json(
        {
            "block": {"item_ids": ["x1"], "brands": [" Acme "], "categories": ["Toys > Recalled"]},
            "hide_out_of_stock": True,
            "caps": [{"field": "brand", "most": 2, "within": 10}],
            "pins": [{"name": "promo", "item_id": "p", "position": 1, "queries": ["Garden  Hose"]}],
        }
    )
    assert not rules.allowed({"item_id": "x1"})
    assert not rules.allowed({"item_id": "y", "brand": "ACME"})
    assert not rules.allowed({"item_id": "y", "category": "toys > recalled > cars"})
    assert rules.allowed({"item_id": "y", "category": "Toys > Recalls"})  # whole segments
    assert not rules.allowed({"item_id": "y", "stock": 0})
    assert rules.allowed({"item_id": "y", "stock": None, "brand": "Other"})
    assert rules.caps[0].name == "cap 1"
    assert rules.pins_for("garden hose") == rules.pins and rules.pins_for("hose") == ()


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ([], "JSON object"),
        ({"bans": {}}, "unknown rule key"),
        ({"block": {"colours": ["red"]}}, "block must be"),
        ({"block": {"brands": "Acme"}}, "list of strings"),
        ({"caps": [{"field": "price", "most": 1}]}, "field must be one of"),
        ({"caps": [{"field": "brand", "most": 0}]}, "most must be >= 1"),
        ({"caps": [{"field": "brand"}]}, "malformed"),
        ({"pins": [{"item_id": "x", "position": 0}]}, "position must be >= 1"),
        (
            {
                "caps": [{"name": "a", "field": "brand", "most": 1}],
                "pins": [{"name": "a", "item_id": "x", "position": 1}],
            },
            "repeat",
        ),
        ({"hide_out_of_stock": "yes"}, "true or false"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(raw: object, says: str) -> None:
    with pytest.raises(RuleError, match=says):
        RuleSet.from_json(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 12).flatmap(
        lambda n: st.tuples(
            st.permutations(list(range(n))),
            st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n),
            st.integers(1, 10),
            st.lists(
                st.tuples(st.integers(1, 3), st.one_of(st.none(), st.integers(1, 8))), max_size=2
            ),
            st.dictionaries(st.integers(0, n - 1), st.integers(1, 8), max_size=3),
        )
    )
)
def test_no_list_breaks_a_cap_repeats_an_item_or_misplaces_a_pin(case: tuple) -> None:  # type: ignore[type-arg]
    order, sellers, k, cap_specs, pin_specs = case
    caps = [Cap(f"cap{n}", "seller_id", most, within) for n, (most, within) in enumerate(cap_specs)]
    pins = {i: Pin(f"pin{i}", str(i), position) for i, position in pin_specs.items()}
    out = arrange(order, {"seller_id": sellers}, k, caps, pins)
    assert len(out.order) == len(set(out.order)) <= k
    assert set(out.order) <= set(order)
    for cap in caps:
        window = out.order if cap.within is None else out.order[: cap.within]
        for seller in "abc":
            assert sum(sellers[i] == seller for i in window) <= cap.most
    for position, index in enumerate(out.order):
        if index in pins and pins[index].name in out.moved_by[position]:
            # a pin holds its place, or comes up when the list is too short for it
            assert position + 1 <= pins[index].position
            if len(pins) == 1 and not caps and len(order) >= pins[index].position <= k:
                assert position + 1 == pins[index].position
    if not caps:  # without caps every slot fills
        assert len(out.order) == min(k, len(order))


def test_a_cap_that_pushes_an_item_out_of_the_list_is_counted() -> None:
    cap = Cap("one per seller", "seller_id", 1)
    out = arrange([0, 1, 2], {"seller_id": ["a", "a", "b"]}, 2, [cap], {})
    # item 1 never shows, so no item carries the cap's name, yet the cap acted once
    assert out.order == (0, 2) and out.moved_by == ((), ())
    assert out.displaced == (("one per seller", 1),) and out.hits() == ["one per seller"]
    pinned = arrange([0, 1, 2], {"seller_id": ["a", "a", "b"]}, 3, [cap], {2: Pin("p", "x", 1)})
    assert pinned.order == (2, 0) and pinned.hits() == ["p", "one per seller"]
