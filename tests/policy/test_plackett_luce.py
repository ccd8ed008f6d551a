"""Plackett-Luce: exact probabilities on hand-checked cases and exhaustive enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from paretorec.policy import (
    PolicyVariant,
    PreferencePolicy,
    pl_greedy,
    pl_log_prob,
    pl_sample,
    top_k_multiplier,
)
from tests.policy.conftest import random_input, small_config


def test_log_prob_of_a_hand_checked_list() -> None:
    scores = torch.tensor([[0.0, math.log(2.0), math.log(3.0)]], dtype=torch.float64)
    # weights 1, 2, 3: P(2, 0, 1) = 3/6 * 1/3 * 2/2 = 1/6
    got = pl_log_prob(scores, torch.tensor([[2, 0, 1]]))
    assert float(got.exp()) == pytest.approx(1 / 6, abs=1e-12)
    # P(top 2 = (1, 2)) = 2/6 * 3/4 = 1/4
    assert float(pl_log_prob(scores, torch.tensor([[1, 2]])).exp()) == pytest.approx(
        0.25, abs=1e-12
    )


@pytest.mark.parametrize("k", [1, 2, 4])
def test_probabilities_of_all_lists_sum_to_one(k: int) -> None:
    scores = torch.tensor([[0.3, -1.2, 2.0, 0.7]], dtype=torch.float64)
    lists = torch.tensor(list(itertools.permutations(range(4), k)))
    total = pl_log_prob(scores.expand(len(lists), -1), lists).exp().sum()
    assert float(total) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("variant", list(PolicyVariant))
def test_policy_probabilities_of_all_lists_sum_to_one(variant: PolicyVariant) -> None:
    torch.manual_seed(0)
    policy = PreferencePolicy(small_config(variant))
    inputs = random_input(1, 4, seed=2)
    w = np.array([0.2, 0.5, 0.3])
    lists = torch.tensor(list(itertools.permutations(range(4), 3)))
    rows = np.zeros(len(lists), dtype=np.int64)
    batch = policy.batch(inputs.select(rows), w)
    with torch.no_grad():
        total = policy.log_prob(batch, lists).double().exp().sum()
    assert float(total) == pytest.approx(1.0, abs=1e-5)


def test_sampling_frequencies_match_the_probabilities() -> None:
    scores = torch.tensor([[0.0, 1.0, 2.0]])
    draws = pl_sample(scores.expand(20000, -1), 1, torch.Generator().manual_seed(0))[:, 0]
    freq = torch.bincount(draws, minlength=3).double() / 20000
    expected = torch.softmax(scores[0].double(), 0)
    assert torch.allclose(freq, expected, atol=0.015)


def test_greedy_takes_the_highest_scores_and_breaks_ties_by_index() -> None:
    scores = torch.tensor([[1.0, 3.0, 3.0, 0.0]])
    assert pl_greedy(scores, 3).tolist() == [[1, 2, 0]]


def test_list_size_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="between 1 and 3"):
        pl_greedy(torch.zeros(1, 3), 4)
    with pytest.raises(ValueError, match="zero candidates"):
        pl_sample(torch.zeros(1, 0), 1)


def test_top_k_multiplier_exact_values() -> None:
    pi = torch.tensor([0.0, 0.5, 1.0])
    assert top_k_multiplier(pi, 3).tolist() == [3.0, 0.75, 0.0]
    assert top_k_multiplier(pi, 1).tolist() == [1.0, 1.0, 1.0]
