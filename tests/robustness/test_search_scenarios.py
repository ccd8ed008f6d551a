from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paretorec.robustness import get_scenario
from paretorec.robustness.search import (
    STUFF_REPEATS,
    STUFF_WORDS,
    abbreviate,
    edit_term,
    missing_attributes,
    popular_query_words,
    stuffing,
    touched_count,
    typos,
    wrong_attributes,
)
from paretorec.types import Catalog, Dataset, Judgments, Queries


def _dataset() -> Dataset:
    items = pl.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(10)],
            "title": [f"cordless drill model {k}" for k in range(5)]
            + [f"white door panel {k}" for k in range(5)],
            "price": [float(k) for k in range(10)],
            "brand": [f"b{k}" for k in range(10)],
        }
    )
    queries = pl.DataFrame(
        {
            "query_id": ["q1", "q2", "q3", "q4"],
            "text": ["cordless drill bit", "white door 30 in", "123", "drill battery charger"],
        }
    )
    judgments = pl.DataFrame(
        {"query_id": ["q1", "q2"], "item_id": ["i0", "i5"], "grade": [3.0, 2.0]}
    )
    return Dataset(Catalog(items), queries=Queries(queries), judgments=Judgments(judgments))


def _damerau_one(a: str, b: str) -> bool:
    """b is a from one drop, insert, substitution or adjacent swap."""
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(long) == len(short) + 1 and any(
        long[:i] + long[i + 1 :] == short for i in range(len(long))
    )


def test_touched_count_rounds_half_up_and_checks_the_share() -> None:
    assert touched_count(10, 0.25) == 3
    assert touched_count(10, 0.24) == 2
    assert touched_count(3, 1.0) == 3
    assert touched_count(0, 0.5) == 0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        touched_count(10, 1.5)


@given(
    st.text(alphabet="abcxyz019-", min_size=1, max_size=12).filter(
        lambda t: any(c.isalpha() for c in t)
    ),
    st.integers(0, 2**32 - 1),
)
def test_edit_term_is_one_edit_and_always_changes(term: str, seed: int) -> None:
    edited = edit_term(term, np.random.default_rng(seed))
    assert edited != term
    assert _damerau_one(term, edited)


def test_abbreviate_hand_cases() -> None:
    assert abbreviate("inch") == "in"
    assert abbreviate("Gallons") == "gal"
    assert abbreviate("cabinet") == "cbnt"
    assert abbreviate("door,") == "dr,"
    assert abbreviate("oak") is None  # too short
    assert abbreviate("2x4") is None
    assert abbreviate("rhythm") is None  # no vowel to drop


def test_typos_touch_the_share_of_eligible_terms_exactly() -> None:
    data = _dataset()
    # eligible (a letter): cordless drill bit | white door in | (none) | drill battery charger = 9
    out = typos(data, 0.34, seed=7)  # round(3.06) = 3
    before = [t.split(" ") for t in data.queries.frame["text"]]  # type: ignore[union-attr]
    after = [t.split(" ") for t in out.queries.frame["text"]]  # type: ignore[union-attr]
    changed = [
        (a, b)
        for x, y in zip(before, after, strict=True)
        for a, b in zip(x, y, strict=True)
        if a != b
    ]
    assert len(changed) == 3
    assert all(_damerau_one(a, b) for a, b in changed)
    assert [len(r) for r in after] == [len(r) for r in before]
    assert "30" in after[1] and after[2] == ["123"]  # numbers are never edited
    assert out.queries.frame["query_id"].to_list() == ["q1", "q2", "q3", "q4"]  # type: ignore[union-attr]
    assert out.judgments is data.judgments and out.items is data.items


def test_scenarios_are_seeded_and_identity_at_zero() -> None:
    data = _dataset()
    for name in ("typos", "abbreviations", "stuffing", "missing-attributes", "wrong-attributes"):
        scenario = get_scenario(name)
        assert scenario.apply(data, 0.0, seed=3) is data
        a, b = scenario.apply(data, 0.5, seed=3), scenario.apply(data, 0.5, seed=3)
        for x, y in zip(a.tables().values(), b.tables().values(), strict=True):
            assert x.equals(y)
        assert a.judgments is data.judgments
        assert a.items.item_ids.to_list() == data.items.item_ids.to_list()
    assert not typos(data, 0.5, seed=1).queries.frame.equals(typos(data, 0.5, seed=2).queries.frame)  # type: ignore[union-attr]


def test_stuffing_appends_the_words_searched_beside_the_title() -> None:
    data = _dataset()
    out = stuffing(data, 0.2, seed=0)  # 2 of 10 items
    before, after = data.items.frame["title"].to_list(), out.items.frame["title"].to_list()
    touched = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(touched) == 2
    for old, new in touched:
        assert new.startswith(old + " ")
        extra = new[len(old) + 1 :].split(" ")
        assert len(extra) == STUFF_WORDS * STUFF_REPEATS
        words = extra[::STUFF_REPEATS]
        assert all(extra[i] == words[i // STUFF_REPEATS] for i in range(len(extra)))
        if "drill" in old:  # drill is searched with bit, battery, charger (not cordless: own)
            assert sorted(words) == ["battery", "bit", "charger"]
        else:  # white door is searched with nothing else: the most searched words fill in
            assert words == popular_query_words(data.queries, 3)  # type: ignore[arg-type]


def test_missing_and_wrong_attributes() -> None:
    data = _dataset()
    out = missing_attributes(data, 0.3, seed=1)
    nulls = out.items.frame["price"].is_null()
    assert int(nulls.sum()) == 3
    assert (out.items.frame["brand"].is_null() == nulls).all()
    assert out.items.frame["title"].equals(data.items.frame["title"])
    wrong = wrong_attributes(data, 0.4, seed=1)
    moved = wrong.items.frame["price"] != data.items.frame["price"]
    assert int(moved.sum()) == 4  # prices are distinct, so a rotation of 4 moves 4
    assert sorted(wrong.items.frame["price"].to_list()) == sorted(
        data.items.frame["price"].to_list()
    )
    # price and brand travel together: each row's pair comes from one original row
    pairs = set(zip(data.items.frame["price"], data.items.frame["brand"], strict=True))
    assert set(zip(wrong.items.frame["price"], wrong.items.frame["brand"], strict=True)) == pairs
    bare = Dataset(Catalog(data.items.frame.select("item_id", "title")))
    with pytest.raises(ValueError, match="none of the attributes"):
        missing_attributes(bare, 0.5, seed=0)


def test_query_scenarios_need_queries() -> None:
    bare = Dataset(_dataset().items)
    with pytest.raises(ValueError, match="no queries table"):
        typos(bare, 0.5, seed=0)
    with pytest.raises(ValueError, match="queries table"):
        stuffing(bare, 0.5, seed=0)


@given(st.floats(0.0, 1.0), st.integers(0, 2**16))
def test_every_scenario_touches_exactly_its_share(strength: float, seed: int) -> None:
    data = _dataset()
    assert data.queries is not None
    before = [t.split(" ") for t in data.queries.frame["text"]]
    eligible = sum(any(c.isalpha() for c in term) for row in before for term in row)
    out = typos(data, strength, seed)
    assert out.queries is not None
    after = [t.split(" ") for t in out.queries.frame["text"]]
    changed = sum(
        a != b for x, y in zip(before, after, strict=True) for a, b in zip(x, y, strict=True)
    )
    assert changed == touched_count(eligible, strength)
    titles = stuffing(data, strength, seed).items.frame["title"]
    assert int((titles != data.items.frame["title"]).sum()) == touched_count(10, strength)
    blanked = missing_attributes(data, strength, seed).items.frame["price"].null_count()
    assert blanked == touched_count(10, strength)
