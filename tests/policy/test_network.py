"""The policy network: lists are permutations, w steers the scoring, explanations add up."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.policy import (
    INTERACTION,
    PolicyConfig,
    PolicyInput,
    PolicyVariant,
    PreferencePolicy,
    rank,
)
from paretorec.policy.network import route_credit
from tests.policy.conftest import random_input, small_config


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 9),
    data=st.data(),
    variant=st.sampled_from(list(PolicyVariant)),
    sample=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_lists_are_distinct_candidates(
    n: int, c: int, data: st.DataObject, variant: PolicyVariant, sample: bool, seed: int
) -> None:
    k = data.draw(st.integers(1, c))
    torch.manual_seed(seed)
    policy = PreferencePolicy(small_config(variant))
    w = np.random.default_rng(seed).dirichlet(np.ones(3), size=n)
    out = rank(policy, random_input(n, c, seed=seed), w, k, sample=sample, seed=seed)
    assert out.items.shape == (n, k)
    assert out.items.min() >= 0 and out.items.max() < c
    for row in out.items:
        assert len(set(row.tolist())) == k
    if k == c:
        assert (np.sort(out.items, axis=1) == np.arange(c)).all()


def _two_item_input() -> PolicyInput:
    # item 0: likely clicked, earns little; item 1: rarely clicked, earns a lot; item 2: middling
    return PolicyInput(
        context=np.zeros((1, 3)),
        item_features=np.zeros((1, 3, 4)),
        predictions={"click": np.array([[0.9, 0.1, 0.5]]), "revenue": np.array([[1.0, 9.0, 5.0]])},
        groups=np.zeros((1, 3, 2), dtype=np.int64),
    )


@pytest.mark.parametrize("variant", list(PolicyVariant))
def test_changing_w_moves_the_list_in_the_expected_direction(variant: PolicyVariant) -> None:
    torch.manual_seed(0)
    policy = PreferencePolicy(small_config(variant))
    with torch.no_grad():  # an untrained remainder small next to the linked terms
        for p in policy.parameters():
            p.mul_(0.01)
        policy.prior_raw.fill_(2.0)
    inputs = _two_item_input()
    clicks = rank(policy, inputs, [1.0, 0.0, 0.0], 3).items[0].tolist()
    revenue = rank(policy, inputs, [0.0, 1.0, 0.0], 3).items[0].tolist()
    assert clicks == [0, 2, 1]
    assert revenue == [1, 2, 0]


def test_w_conditions_every_layer_not_only_a_final_mix() -> None:
    torch.manual_seed(1)
    config = small_config(PolicyVariant.PLACKETT_LUCE)
    policy = PreferencePolicy(config)
    inputs = random_input(1, 6, seed=4)
    a = policy.batch(inputs, np.array([0.1, 0.1, 0.8]))
    b = policy.batch(inputs, np.array([0.8, 0.1, 0.1]))
    with torch.no_grad():
        assert not torch.allclose(policy.encode(a), policy.encode(b))


@pytest.mark.parametrize("variant", list(PolicyVariant))
def test_contributions_sum_to_the_scores(variant: PolicyVariant) -> None:
    torch.manual_seed(2)
    policy = PreferencePolicy(small_config(variant))
    out = rank(policy, random_input(3, 7, seed=5), [0.5, 0.3, 0.2], 4)
    # every part is an objective's (diversity has no linked prediction: its head's part)
    assert set(out.contributions) == {"clicks", "revenue", "diversity"}
    total = sum(out.contributions.values())
    np.testing.assert_allclose(total, out.scores, atol=1e-5)


@pytest.mark.parametrize("variant", list(PolicyVariant))
def test_an_objective_without_weight_contributes_nothing(variant: PolicyVariant) -> None:
    torch.manual_seed(2)
    policy = PreferencePolicy(small_config(variant))
    out = rank(policy, random_input(3, 7, seed=5), [0.6, 0.4, 0.0], 4)
    assert (out.contributions["diversity"] == 0).all()
    assert np.abs(out.contributions["clicks"]).sum() > 0


def test_one_head_reports_its_remainder_as_interaction() -> None:
    torch.manual_seed(2)
    config = dataclasses.replace(small_config(PolicyVariant.PLACKETT_LUCE), objective_heads=False)
    policy = PreferencePolicy(config)
    out = rank(policy, random_input(3, 7, seed=5), [0.5, 0.3, 0.2], 4)
    assert set(out.contributions) == {"clicks", "revenue", "diversity", INTERACTION}
    assert (out.contributions["diversity"] == 0).all()  # no link, no head of its own
    np.testing.assert_allclose(sum(out.contributions.values()), out.scores, atol=1e-5)


def test_list_aware_policy_sees_the_items_placed() -> None:
    torch.manual_seed(3)
    policy = PreferencePolicy(small_config(PolicyVariant.LIST_AWARE))
    batch = policy.batch(random_input(2, 5, seed=6), np.array([0.2, 0.2, 0.6]))
    with torch.no_grad():
        h = policy.encode(batch)
        state = policy.list_state(batch, h)
        empty = policy.list_remainder(batch, state, torch.zeros(2, 5, dtype=torch.bool), 0, 3)
        placed = torch.zeros(2, 5, dtype=torch.bool)
        placed[:, 0] = True
        after = policy.list_remainder(batch, state, placed, 1, 3)
    assert not torch.allclose(empty, after)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([0.5, 0.6, -0.1], "non-negative"),
        ([0.5, 0.5], "one weight per objective"),
        ([0.2, 0.2, 0.2], "sum to 1"),
        ([float("nan"), 0.5, 0.5], "finite"),
    ],
)
def test_bad_weights_are_refused(weights: list[float], message: str) -> None:
    policy = PreferencePolicy(small_config(PolicyVariant.PLACKETT_LUCE))
    with pytest.raises(ValueError, match=message):
        rank(policy, random_input(1, 4), weights, 2)


def test_zero_candidates_are_refused() -> None:
    with pytest.raises(ValueError, match="zero candidates"):
        PolicyInput(
            context=np.zeros((1, 3)),
            item_features=np.zeros((1, 0, 4)),
            predictions={"click": np.zeros((1, 0)), "revenue": np.zeros((1, 0))},
        )


def test_mismatched_inputs_are_refused() -> None:
    policy = PreferencePolicy(small_config(PolicyVariant.PLACKETT_LUCE))
    other = PolicyInput(
        context=np.zeros((1, 3)),
        item_features=np.zeros((1, 4, 4)),
        predictions={"click": np.zeros((1, 4))},
    )
    with pytest.raises(ValueError, match="reads predictions"):
        rank(policy, other, [0.4, 0.3, 0.3], 2)
    with pytest.raises(ValueError, match=r"must have shape \(1, 4\)"):
        PolicyInput(
            context=np.zeros((1, 3)),
            item_features=np.zeros((1, 4, 4)),
            predictions={"click": np.zeros((1, 5))},
        )
    with pytest.raises(ValueError, match=">= 0"):
        PolicyInput(
            context=np.zeros((1, 3)),
            item_features=np.zeros((1, 4, 4)),
            predictions={"click": -np.ones((1, 4))},
        )
    with pytest.raises(ValueError, match="list size must be between 1 and 4"):
        rank(policy, random_input(1, 4), [0.4, 0.3, 0.3], 5)


@pytest.mark.parametrize("variant", list(PolicyVariant))
def test_an_objective_weighted_zero_cannot_move_the_scores_through_its_head(
    variant: PolicyVariant,
) -> None:
    torch.manual_seed(4)
    policy = PreferencePolicy(small_config(variant))
    out = policy.list_out if variant is PolicyVariant.LIST_AWARE else policy.head
    batch = policy.batch(random_input(2, 6, seed=7), np.array([0.6, 0.4, 0.0]))
    with torch.no_grad():
        before = policy.first_scores(batch)
        out.weight[2].add_(5.0)  # the diversity head, whose weight is 0 here
        out.bias[2].add_(5.0)
        after = policy.first_scores(batch)
        assert torch.allclose(before, after)
        out.weight[0].add_(5.0)  # the clicks head, weighted 0.6, does move them
        assert not torch.allclose(before, policy.first_scores(batch))


def test_credit_routing_scales_each_objectives_gradient_only() -> None:
    x = torch.randn(2, 3, 2, requires_grad=True)
    credit = torch.tensor([[1.0, 0.0], [-2.0, 0.5]])
    y = route_credit(x, credit)
    assert torch.equal(y, x)
    torch.autograd.backward(y.sum())
    assert x.grad is not None
    assert torch.equal(x.grad, credit[:, None, :].expand(2, 3, 2))


def test_a_file_from_before_the_objective_heads_loads_as_one_head() -> None:
    data = small_config(PolicyVariant.PLACKETT_LUCE).to_json()
    assert data["objective_heads"] is True
    del data["objective_heads"]
    old = PolicyConfig.from_json(data)
    assert old.objective_heads is False
    assert PreferencePolicy(old).head.out_features == 1


def test_places_are_ranks_without_the_objective_part() -> None:
    torch.manual_seed(2)
    policy = PreferencePolicy(small_config(PolicyVariant.PLACKETT_LUCE))
    inputs = random_input(3, 7, seed=5)
    w = [0.5, 0.2, 0.3]
    top = rank(policy, inputs, w, 4)
    everything = rank(policy, inputs, w, 7)  # every candidate, with its parts
    for objective in ("clicks", "revenue", "diversity"):
        for r in range(3):
            without = everything.scores[r] - everything.contributions[objective][r]
            order = everything.items[r][np.argsort(-without, kind="stable")]
            rank_without = {int(item): place for place, item in enumerate(order)}
            expected = [rank_without[int(item)] - p for p, item in enumerate(top.items[r])]
            assert top.places[objective][r].tolist() == expected


def test_an_objective_at_weight_zero_moves_nothing() -> None:
    torch.manual_seed(2)
    policy = PreferencePolicy(small_config(PolicyVariant.PLACKETT_LUCE))
    out = rank(policy, random_input(3, 7, seed=5), [0.7, 0.3, 0.0], 4)
    assert (out.places["diversity"] == 0).all()
    list_aware = PreferencePolicy(small_config(PolicyVariant.LIST_AWARE))
    assert rank(list_aware, random_input(3, 7, seed=5), [0.7, 0.3, 0.0], 4).places == {}
