from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paretorec.retrieve.lexical import LexicalIndex
from paretorec.retrieve.stuffing import PAD_TOKEN, StuffingGuard
from paretorec.types import Catalog

HONEST = "DeWalt cordless drill kit"
STUFFED = "garden hose nozzle cordless cordless cordless cordless drill drill drill drill"
FILLER = [
    "garden hose reel",
    "brass hose nozzle",
    "drill bit set",
    "paint roller cover",
    "white interior door",
    "cordless leaf blower",
]


def _catalog(titles: list[str], prefix: str = "i") -> Catalog:
    return Catalog(
        pl.DataFrame({"item_id": [f"{prefix}{k}" for k in range(len(titles))], "title": titles})
    )


def test_guard_hand_cases() -> None:
    guard = StuffingGuard(min_repeats=3)
    assert guard.stuffed_terms(["a", "b", "a", "a", "1/2in", "1/2in", "1/2in"]) == {"a"}
    assert guard.apply(["a", "b", "a", "a"]) == ["a", "b", PAD_TOKEN, PAD_TOKEN]
    assert guard.apply(["a", "b", "a"]) == ["a", "b", "a"]  # twice is not flagged
    assert guard.clean_text("Hose hose HOSE nozzle 1/2 in. x 1/2 in. x 1/2 in.") == (
        "nozzle 1/2 in. x 1/2 in. x 1/2 in."
    )
    assert guard.clean_text(HONEST) == HONEST
    with pytest.raises(ValueError, match="at least 2"):
        StuffingGuard(min_repeats=1)


@given(st.lists(st.sampled_from(["a", "b", "c", "7", "2in"]), max_size=20), st.integers(2, 5))
def test_guard_keeps_length_and_leaves_no_word_repeated_beyond_threshold(
    tokens: list[str], min_repeats: int
) -> None:
    guard = StuffingGuard(min_repeats)
    out = guard.apply(tokens)
    assert len(out) == len(tokens)
    assert not guard.is_stuffed([t for t in out if t != PAD_TOKEN])
    assert [t for t in out if t != PAD_TOKEN] == [
        t
        for k, t in enumerate(tokens)
        if t not in guard.stuffed_terms(tokens) or t not in tokens[:k]
    ]


def _ranking(index: LexicalIndex) -> list[str]:
    return list(index.search("cordless drill", k=10).item_ids)


def test_a_stuffed_title_no_longer_outranks_the_honest_one(tmp_path: Path) -> None:
    catalog = _catalog([STUFFED, HONEST, *FILLER])
    plain = LexicalIndex.build(catalog)
    assert _ranking(plain)[:2] == ["i0", "i1"]  # BM25's saturation alone lets it win
    guarded = LexicalIndex.build(catalog, guard=StuffingGuard())
    assert _ranking(guarded)[:2] == ["i1", "i0"]
    guarded.save(tmp_path / "index")
    loaded = LexicalIndex.load(tmp_path / "index")
    assert loaded.guard == StuffingGuard()
    assert _ranking(loaded) == _ranking(guarded)


def test_the_guard_covers_items_added_later() -> None:
    def honest_first(guard: StuffingGuard | None) -> tuple[bool, bool]:
        index = LexicalIndex.build(_catalog([HONEST, *FILLER]), guard=guard)
        index.add_items(_catalog([STUFFED], prefix="new"))
        before = _ranking(index)
        index.compact()
        after = _ranking(index)
        return (
            before.index("i0") < before.index("new0"),
            after.index("i0") < after.index("new0"),
        )

    assert honest_first(None) == (False, False)
    assert honest_first(StuffingGuard()) == (True, True)


def test_an_honest_catalog_ranks_the_same_with_the_guard() -> None:
    catalog = _catalog([HONEST, *FILLER, "drill drill press stand"])
    plain, guarded = LexicalIndex.build(catalog), LexicalIndex.build(catalog, guard=StuffingGuard())
    for query in ("cordless drill", "garden hose", "drill press"):
        a, b = plain.search(query), guarded.search(query)
        assert a.item_ids == b.item_ids
        assert list(a.scores) == list(b.scores)
