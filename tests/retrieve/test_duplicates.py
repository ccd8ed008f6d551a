"""Near-duplicate collapse: hand-built lists, invariants, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.retrieve.duplicates import collapse, duplicate_key, top_distinct


def test_keys_fold_case_punctuation_accents_and_entities() -> None:
    assert duplicate_key("Jason Industrial Dual V-Belt") == "|jasonindustrialdualvbelt"
    assert duplicate_key("  jason industrial DUAL v belt ") == "|jasonindustrialdualvbelt"
    assert duplicate_key("Drill 18-V", "DeWalt") == duplicate_key("drill 18v", "De Walt")
    assert duplicate_key("Contractor&#39;s Choice", "Café") == "cafe|contractorschoice"
    assert duplicate_key("Drill", "Ryobi") != duplicate_key("Drill", "Makita")
    assert duplicate_key("", "Ryobi") is None and duplicate_key(None) is None


def test_a_hand_built_list_keeps_the_first_of_each_product() -> None:
    titles = [
        ("Lund 60 in. Cross Bed Truck Tool Box", "Lund"),
        ("Cordless Drill 18V", "Ryobi"),
        ("LUND 60 in Cross-Bed Truck Tool Box", "lund"),  # same as 0
        ("Cordless Drill 18V", "Makita"),  # another brand: kept
        ("Lund 60 in. Cross Bed Truck Tool Box", "Lund"),  # same as 0
        (None, None),  # no title: never a key duplicate
        (None, None),
    ]
    out = collapse([duplicate_key(t, b) for t, b in titles])
    assert out.kept == (0, 1, 3, 5, 6)
    assert out.duplicate_of == {2: 0, 4: 0}
    assert out.n_dropped == 2


def test_near_identical_vectors_collapse_and_zero_vectors_do_not() -> None:
    vectors = np.array(
        [[1.0, 0.0], [0.995, np.sqrt(1 - 0.995**2)], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]
    )
    keys = ["a", "b", "c", "d", "e"]
    assert collapse(keys, vectors, threshold=0.99).kept == (0, 2, 3, 4)
    assert collapse(keys, vectors, threshold=0.999).kept == (0, 1, 2, 3, 4)
    assert collapse(keys).kept == (0, 1, 2, 3, 4)


def test_top_distinct_counts_the_duplicates_passed_over() -> None:
    keys = ["a", "a", "b", "c", "b", "d"]
    assert top_distinct(keys, 2) == ((0, 2), 1)  # position 1 skipped to fill two slots
    assert top_distinct(keys, 3) == ((0, 2, 3), 1)  # the later "b" is past the list
    assert top_distinct(keys, 9) == ((0, 2, 3, 5), 2)  # short list: every duplicate counts
    with pytest.raises(ValueError, match="k must be"):
        top_distinct(keys, 0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        collapse(["a"], threshold=0.0)
    with pytest.raises(ValueError, match="vectors must be"):
        collapse(["a", "b"], np.ones((3, 2)))
    assert collapse([]).kept == ()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", None]), max_size=25))
def test_collapse_invariants(keys: list[str | None]) -> None:
    out = collapse(keys)
    kept_keys = [keys[p] for p in out.kept if keys[p] is not None]
    assert len(kept_keys) == len(set(kept_keys))  # no product twice
    assert list(out.kept) == sorted(out.kept)  # list order kept
    assert sorted([*out.kept, *out.duplicate_of]) == list(range(len(keys)))
    for dropped, twin in out.duplicate_of.items():
        assert twin < dropped and twin in out.kept and keys[twin] == keys[dropped]
    again = collapse([keys[p] for p in out.kept])
    assert again.n_dropped == 0  # idempotent
