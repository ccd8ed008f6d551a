"""FA*IR (Zehlike et al. 2017): the m(k) table against the paper's Table 2, the exact
failure probability against exhaustive enumeration, the significance adjustment, and
the re-ranking's guarantee on random lists (hypothesis)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.constraints.fair_topk import (
    FairTopK,
    adjusted_alpha,
    fail_probability,
    fair_rerank,
    minimum_table,
)

# Zehlike et al. (2017), Table 2: m(k) for alpha = 0.1, k = 1..12, one row per p.
PAPER_TABLE = {
    0.1: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    0.2: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1),
    0.3: (0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2),
    0.4: (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3),
    0.5: (0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4),
    0.6: (0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5),
    0.7: (0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6),
}


@pytest.mark.parametrize("p", sorted(PAPER_TABLE))
def test_the_table_is_the_papers(p: float) -> None:
    assert minimum_table(12, p, 0.1) == PAPER_TABLE[p]


def _enumerated_failure(table: tuple[int, ...], p: float) -> float:
    """P(some prefix falls below the table) by summing over all 2^k protected patterns."""
    failed = 0.0
    for bits in itertools.product((0, 1), repeat=len(table)):
        prefix = itertools.accumulate(bits)
        if any(c < m for c, m in zip(prefix, table, strict=True)):
            failed += p ** sum(bits) * (1 - p) ** (len(bits) - sum(bits))
    return failed


@pytest.mark.parametrize(("k", "p", "alpha"), [(10, 0.5, 0.1), (12, 0.3, 0.1), (8, 0.7, 0.05)])
def test_fail_probability_is_exact(k: int, p: float, alpha: float) -> None:
    table = minimum_table(k, p, alpha)
    assert fail_probability(table, p) == pytest.approx(_enumerated_failure(table, p), abs=1e-12)


def test_hand_checked_failure_probabilities() -> None:
    # k = 2, p = 0.5, table (0, 1): fails only when both are unprotected: 1/4
    assert fail_probability((0, 1), 0.5) == pytest.approx(0.25)
    # the unadjusted k = 10, p = 0.5 table rejects a fair ranking 12.9% of the time
    assert fail_probability(minimum_table(10, 0.5, 0.1), 0.5) == pytest.approx(0.12890625)


def test_the_adjustment_keeps_the_rejection_rate_within_alpha_and_is_the_largest() -> None:
    alpha_c, table = adjusted_alpha(10, 0.5, 0.1)
    assert table == (0, 0, 0, 0, 1, 1, 1, 2, 2, 3)
    assert fail_probability(table, 0.5) == pytest.approx(0.0751953125)  # <= alpha
    # the next table up (any alpha just above alpha_c) rejects fair rankings too often
    assert fail_probability(minimum_table(10, 0.5, alpha_c + 1e-6), 0.5) > 0.1
    # a table that already holds alpha is kept as it is
    assert adjusted_alpha(3, 0.5, 0.1) == (0.1, minimum_table(3, 0.5, 0.1))


def test_rerank_promotes_the_best_protected_item_when_a_prefix_needs_it() -> None:
    # p = 0.5, alpha = 0.1, k = 6: prefix 4 needs one protected item (m = 0,0,0,1,1,1)
    protected = [False, False, False, False, True, True]
    out = fair_rerank([0, 1, 2, 3, 4, 5], protected, 6, minimum_table(6, 0.5, 0.1))
    assert out.order == (0, 1, 2, 4, 3, 5)
    assert out.promoted == frozenset({4}) and out.feasible


def test_a_fair_list_is_left_as_it_is() -> None:
    protected = [False, True, False, True, False, True]
    table = minimum_table(6, 0.5, 0.1)
    assert fair_rerank(range(6), protected, 6, table).order == (0, 1, 2, 3, 4, 5)


def test_too_few_protected_items_is_marked_infeasible() -> None:
    out = fair_rerank([0, 1, 2, 3, 4], [False] * 5, 5, (0, 0, 0, 1, 1))
    assert out.order == (0, 1, 2, 3, 4) and not out.feasible


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"p": 0.0}, "p"),
        ({"p": 1.0}, "p"),
        ({"alpha": 0.0}, "alpha"),
        ({"protected": frozenset()}, "protected"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], says: str) -> None:
    base: dict[str, object] = {"field": "seller_id", "protected": frozenset({"s1"}), "p": 0.5}
    with pytest.raises(ValueError, match=says):
        FairTopK(**{**base, **kwargs})  # type: ignore[arg-type]


def test_a_table_shorter_than_the_list_is_refused() -> None:
    with pytest.raises(ValueError, match="table covers"):
        fair_rerank([0, 1, 2], [True, False, True], 3, (0, 0))


@settings(max_examples=200, deadline=None)
@given(
    protected=st.lists(st.booleans(), min_size=1, max_size=30),
    k=st.integers(1, 30),
    p=st.sampled_from([0.1, 0.3, 0.5, 0.7, 0.9]),
    alpha=st.sampled_from([0.05, 0.1, 0.2]),
    seed=st.randoms(use_true_random=False),
)
def test_the_guarantee_holds_at_every_prefix_and_groups_keep_their_order(
    protected: list[bool], k: int, p: float, alpha: float, seed: object
) -> None:
    order = list(range(len(protected)))
    seed.shuffle(order)  # type: ignore[attr-defined]
    n = min(k, len(order))
    table = adjusted_alpha(n, p, alpha)[1]
    out = fair_rerank(order, protected, n, table)
    assert len(out.order) == n and len(set(out.order)) == n and set(out.order) <= set(order)
    for group in (True, False):
        shown = [i for i in out.order if protected[i] is group]
        assert shown == [i for i in order if protected[i] is group][: len(shown)]
    counts = list(itertools.accumulate(protected[i] for i in out.order))
    enough = sum(protected) >= table[n - 1]
    if enough:
        assert out.feasible
        assert all(c >= m for c, m in zip(counts, table, strict=False))
    before = itertools.accumulate(protected[i] for i in order[:n])
    if all(c >= m for c, m in zip(before, table, strict=True)):
        assert out.order == tuple(order[:n])  # already fair: nothing moves


def test_fair_topk_reranks_by_field_values() -> None:
    fair = FairTopK("seller_id", frozenset({"small"}), p=0.5, alpha=0.1, adjust=False)
    values = ["big", "big", "big", "big", "small", None]
    out = fair.rerank([0, 1, 2, 3, 4, 5], values, 6)
    assert out.order == (0, 1, 2, 4, 3, 5) and out.promoted == frozenset({4})
    assert fair.rerank([], values, 5).order == ()
