"""Beyond-accuracy measures: hand-checked values, references, invariants, bad inputs."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import rel_entr
from scipy.stats import entropy
from sklearn.metrics.pairwise import cosine_distances

from paretorec.evaluate.beyond import (
    Discount,
    beyond_accuracy,
    calibration_kl,
    catalog_coverage,
    category_diversity,
    exposure_gini,
    gini_coefficient,
    intra_list_diversity,
    item_exposure,
    novelty,
    self_information,
    seller_exposure_gini,
)
from paretorec.objectives.base import ListContext
from paretorec.objectives.catalog import calibration_kl as list_calibration_kl

LOG3 = math.log2(3)


def test_coverage_by_hand() -> None:
    assert catalog_coverage([[0, 1], [1, 2]], n_items=10) == 3 / 10


def test_intra_list_diversity_by_hand() -> None:
    embeddings = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # pairs: (0,1) 1 - 0, (0,2) 1 - 1/sqrt2, (1,2) 1 - 1/sqrt2
    expected = (1 + 2 * (1 - 1 / math.sqrt(2))) / 3
    got = intra_list_diversity([[0, 1, 2], [2, 1, 0]], item_embeddings=embeddings)
    np.testing.assert_allclose(got, [expected, expected], rtol=0, atol=1e-15)


def test_category_diversity_by_hand() -> None:
    categories = np.array(["a", "a", "b", "c"])
    # [0, 1, 2, 3]: 6 pairs, one (a, a) the same -> 5/6; [0, 1]: 0
    got = category_diversity([[0, 1, 2, 3]], item_categories=categories)
    assert got.tolist() == pytest.approx([5 / 6], abs=1e-15)
    assert category_diversity([[0, 1]], item_categories=categories).tolist() == [0.0]


def test_novelty_by_hand() -> None:
    counts = np.array([3.0, 1.0, 0.0, 0.0])
    # add-one: p = (4, 2, 1, 1) / 8 -> 1, 2, 3, 3 bits; [0, 2] -> 2
    assert novelty([[0, 2]], item_counts=counts).tolist() == [2.0]
    # unsmoothed: p = (3/4, 1/4): [0, 1] -> (-log2 0.75 + 2) / 2
    unsmoothed = novelty([[0, 1]], item_counts=counts, smoothing=0.0)
    assert unsmoothed.tolist() == pytest.approx([(-math.log2(0.75) + 2) / 2], abs=1e-15)
    with pytest.raises(ValueError, match="no training interactions"):
        novelty([[0, 2]], item_counts=counts, smoothing=0.0)
    assert self_information(counts).tolist() == [1.0, 2.0, 3.0, 3.0]


def test_gini_by_hand() -> None:
    assert gini_coefficient([1, 1, 1, 1]) == 0.0
    assert gini_coefficient([0, 0, 0, 1]) == 0.75  # (n - 1) / n
    # sorted 1, 2, 3, 4: sum (2i - 5) x_i = -3 - 2 + 3 + 12 = 10; n sum x = 40
    assert gini_coefficient([4, 1, 3, 2]) == 0.25


@given(st.lists(st.floats(0, 100), min_size=1, max_size=30).filter(lambda v: sum(v) > 1e-3))
def test_gini_equals_the_mean_absolute_difference_formula(values: list[float]) -> None:
    x = np.asarray(values)
    # G = sum_i sum_j |x_i - x_j| / (2 n^2 mean)
    reference = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean())
    assert gini_coefficient(x) == pytest.approx(reference, abs=1e-12)


def test_exposure_and_its_concentration_by_hand() -> None:
    lists = [[0, 1], [1, 0]]
    a = 1 + 1 / LOG3  # each of items 0 and 1 is once at rank 1 and once at rank 2
    np.testing.assert_allclose(item_exposure(lists, n_items=3), [a, a, 0.0], atol=1e-15)
    assert item_exposure(lists, n_items=3, discount=Discount.NONE).tolist() == [2.0, 2.0, 0.0]
    # Gini of (0, a, a): (-2 * 0 + 0 * a + 2 * a) / (3 * 2a) = 1/3
    assert exposure_gini(lists, n_items=3) == pytest.approx(1 / 3, abs=1e-15)
    # sellers s1 (items 0, 1) and s2 (item 2): Gini of (2a, 0) = 1/2
    assert seller_exposure_gini(lists, item_sellers=["s1", "s1", "s2"]) == pytest.approx(
        0.5, abs=1e-15
    )


def test_calibration_by_hand() -> None:
    categories = np.array(["A", "A", "B"])
    history = sp.csr_array(np.array([[3.0, 0.0, 1.0]]))  # p = (3/4, 1/4)
    # list [0, 1] -> q = (1, 0); q~ = (0.9975, 0.0025)
    kl = 0.75 * math.log(0.75 / 0.9975) + 0.25 * math.log(0.25 / 0.0025)
    got = calibration_kl([[0, 1]], item_categories=categories, history=history)
    assert got.tolist() == pytest.approx([kl], abs=1e-15)
    # position-weighted list: q = (1, 1/log2 3) / (1 + 1/log2 3) over (A, B)
    q = np.array([1.0, 1 / LOG3]) / (1 + 1 / LOG3)
    p = np.array([0.75, 0.25])
    reference = entropy(p, 0.99 * q + 0.01 * p)
    got = calibration_kl(
        [[0, 2]], item_categories=categories, history=history, discount=Discount.LOG
    )
    assert got.tolist() == pytest.approx([reference], abs=1e-12)


@settings(max_examples=40)
@given(seed=st.integers(0, 2**31))
def test_batched_measures_equal_their_per_list_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_items, n_lists, length = 15, 6, 4
    top = np.stack([rng.permutation(n_items)[:length] for _ in range(n_lists)])
    embeddings = rng.standard_normal((n_items, 3))
    categories = rng.choice(["a", "b", "c", "d"], n_items)
    history = sp.random_array((n_lists, n_items), density=0.3, rng=rng, format="csr")
    history = history + sp.csr_array(
        (np.ones(n_lists), (np.arange(n_lists), np.zeros(n_lists, int))), shape=history.shape
    )
    ild = intra_list_diversity(top, item_embeddings=embeddings)
    cat = category_diversity(top, item_categories=categories)
    kl = calibration_kl(top, item_categories=categories, history=history)
    for row, items in enumerate(top):
        distances = cosine_distances(embeddings[items])
        assert ild[row] == pytest.approx(distances[np.triu_indices(length, 1)].mean(), abs=1e-12)
        pairs = list(combinations(categories[items], 2))
        assert cat[row] == pytest.approx(sum(a != b for a, b in pairs) / len(pairs), abs=1e-15)
        # Steck's KL from its definition: p weighs each history item by its value
        labels, codes = np.unique(categories, return_inverse=True)
        past = history[[row]]
        p = np.bincount(codes[past.indices], weights=past.data, minlength=labels.size)
        p = p / p.sum()
        q = np.bincount(codes[items], minlength=labels.size) / length
        # scipy's rel_entr(p, q) = p ln(p / q), 0 where p = 0 (entropy() would renormalize)
        assert kl[row] == pytest.approx(rel_entr(p, 0.99 * q + 0.01 * p).sum(), abs=1e-12)


def test_calibration_batch_equals_the_objective_with_unit_weights() -> None:
    categories = np.array(["a", "b", "b", "c", "a"])
    history = sp.csr_array(np.array([[1.0, 0, 1, 1, 0], [0, 1, 0, 0, 1]]))
    top = np.array([[0, 1], [3, 4]])
    batch = calibration_kl(top, item_categories=categories, history=history)
    for row in range(2):
        context = ListContext(
            categories=categories, history_categories=categories[history[[row]].indices]
        )
        assert batch[row] == pytest.approx(list_calibration_kl(top[row], context), abs=1e-15)


def test_beyond_accuracy_names_what_the_facts_allow() -> None:
    top = np.array([[0, 1], [1, 2]])
    out = beyond_accuracy(top, n_items=4, item_counts=[1, 2, 3, 4], item_categories=list("aabb"))
    assert set(out) == {"coverage", "gini_items", "novelty", "ild_category"}
    assert out["coverage"] == 0.75
    with pytest.raises(ValueError, match="item_counts has 3 rows"):
        beyond_accuracy(top, n_items=4, item_counts=[1, 2, 3])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: catalog_coverage([[0, 1]], n_items=0), "positive"),
        (lambda: catalog_coverage([0, 1], n_items=3), "2-D"),
        (lambda: catalog_coverage(np.empty((0, 2), dtype=int), n_items=3), "empty"),
        (lambda: catalog_coverage([[0, 3]], n_items=3), r"\[0, 3\)"),
        (lambda: catalog_coverage([[0.0, 1.0]], n_items=3), "integer"),
        (lambda: intra_list_diversity([[0]], item_embeddings=np.eye(2)), "at least two"),
        (lambda: intra_list_diversity([[0, 1]], item_embeddings=np.zeros((2, 2))), "zero norm"),
        (
            lambda: intra_list_diversity([[0, 1]], item_embeddings=[[np.nan, 1], [1, 1]]),
            "non-finite",
        ),
        (lambda: category_diversity([[0]], item_categories=["a"]), "at least two"),
        (lambda: novelty([[0]], item_counts=[-1.0, 2.0]), ">= 0"),
        (lambda: novelty([[0]], item_counts=[0.0, 0.0], smoothing=0.0), "all 0"),
        (lambda: novelty([[0]], item_counts=[1.0], smoothing=-1.0), "smoothing"),
        (lambda: gini_coefficient([0.0, 0.0]), "positive sum"),
        (lambda: gini_coefficient([1.0, -1.0]), ">= 0"),
        (
            lambda: calibration_kl([[0]], item_categories=["a", "b"], history=sp.csr_array((1, 2))),
            "empty",
        ),
        (
            lambda: calibration_kl([[0]], item_categories=["a", "b"], history=np.ones((1, 2))),
            "sparse",
        ),
        (
            lambda: calibration_kl(
                [[0]], item_categories=["a", "b"], history=sp.csr_array(np.ones((2, 2)))
            ),
            "shape",
        ),
        (
            lambda: calibration_kl(
                [[0]], item_categories=["a", "b"], history=sp.csr_array(np.ones((1, 2))), alpha=0
            ),
            "alpha",
        ),
    ],
)
def test_bad_inputs_raise(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
