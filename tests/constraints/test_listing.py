"""One list under FA*IR, caps and pins (the function the service and offline evaluation
share), and the rules file's fairness settings."""

from __future__ import annotations

import pytest

from paretorec.constraints import (
    Cap,
    FairTopK,
    ListConstraints,
    RuleError,
    RuleSet,
    constrained_list,
    shop_constraints,
)


def test_fair_topk_then_caps_each_item_naming_its_rules() -> None:
    sellers = ["big", "big", "big", "big", "small", "small"]
    fair = FairTopK("seller_id", frozenset({"small"}), p=0.5, adjust=False)  # m = 0,0,0,1,1
    cap = Cap("three per seller", "seller_id", 3, 5)
    out = constrained_list(
        [0, 1, 2, 3, 4, 5],
        {"seller_id": sellers},
        5,
        ListConstraints(RuleSet(caps=(cap,)), fair),
        {},
    )
    # FA*IR lifts 4 to position 4; the cap then keeps the fourth "big" (3) out of the top 5
    assert out.order == (0, 1, 2, 4, 5)
    assert out.moved_by == ((), (), (), ("fair top-k",), ())


def test_without_constraints_the_order_is_kept() -> None:
    out = constrained_list([2, 0, 1], {}, 2, ListConstraints(RuleSet()), {})
    assert out.order == (2, 0) and out.moved_by == ((), ())


def test_the_rules_file_reads_fair_topk() -> None:
    shop = shop_constraints(
        {"caps": [{"field": "brand", "most": 2}],
         "fair_topk": {"field": "brand", "protected": ["Acme"], "p": 0.3, "alpha": 0.05}}
    )  # fmt: skip
    assert shop.fair == FairTopK("brand", frozenset({"Acme"}), 0.3, 0.05, True)
    assert shop.exposure is None and shop.lists.fields == {"brand"}
    exposure = shop_constraints({"exposure": {"field": "seller_id", "half_life": 50}}).exposure
    assert exposure is not None and exposure.controller().field == "seller_id"


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"fair_topk": {"field": "brand", "p": 0.3}}, "protected must be a list"),
        ({"fair_topk": {"field": "brand", "protected": ["a"]}}, "needs p"),
        ({"fair_topk": {"field": "brand", "protected": ["a"], "p": "x"}}, "finite number"),
        ({"fair_topk": {"field": "brand", "protected": ["a"], "p": 0.3, "beta": 1}}, "beta"),
        ({"fair_topk": {"protected": ["a"], "p": 0.3}}, "needs a field"),
        ({"exposure": {"field": "brand", "strength": -1}}, "strength"),
        ({"exposure": {"field": "b"}, "fair_topk": {"field": "b"}}, "not both"),
        ([], "JSON object"),
    ],
)
def test_bad_fairness_settings_say_what_is_wrong(raw: object, says: str) -> None:
    with pytest.raises(RuleError, match=says):
        shop_constraints(raw)
