"""Typo- and unit-robust search: the catalog's spell corrector, the character n-gram
retriever and the hybrid retriever that carries the corrector (save/load included)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paretorec.retrieve import DenseIndex, HybridRetriever, LexicalIndex, ScoreFusion
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.fuzzy import (
    CharNgramIndex,
    NgramParams,
    char_ngrams,
    fuse_with_char,
    tune_char_share,
)
from paretorec.retrieve.spelling import SpellCorrector, SpellingParams, normalize_units
from paretorec.types import Catalog, Judgments
from tests.retrieve.conftest import make_catalog

TITLES = [
    "DEWALT 20V MAX cordless drill driver",
    "Ryobi cordless drill 18V kit",
    "Frigidaire 18 cu. ft. top freezer refrigerator",
    "Charlotte Pipe 1/2 in. PVC 90 degree elbow",
    "NIBCO 3/4 in. PVC elbow fitting",
    "Milwaukee M18 hammer drill",
]


@pytest.fixture
def shop() -> Catalog:
    return make_catalog([{"item_id": f"i{n}", "title": t} for n, t in enumerate(TITLES)])


@pytest.fixture
def speller() -> SpellCorrector:
    return SpellCorrector.build(TITLES)


# ------------------------------------------------------------------ spelling


@pytest.mark.parametrize(
    ("typed", "corrected", "changes"),
    [
        ("cordles drill", "cordless drill", (("cordles", "cordless"),)),
        ("frigidare", "frigidaire", (("frigidare", "frigidaire"),)),
        ("1/2 in pvc elbo", "1/2 in pvc elbow", (("elbo", "elbow"),)),
        # two edits (here two missing letters) reach only words of 6 letters or more
        ("refrigertr", "refrigerator", (("refrigertr", "refrigerator"),)),
        ("Hammer Dril", "hammer drill", (("dril", "drill"),)),
    ],
)
def test_hand_checked_corrections(
    speller: SpellCorrector, typed: str, corrected: str, changes: tuple[tuple[str, str], ...]
) -> None:
    found = speller.correct(typed)
    assert found.text == corrected
    assert found.changes == changes


def test_short_words_and_far_words_are_left_alone(speller: SpellCorrector) -> None:
    # "dril" (4 letters) takes one edit; "dri" is shorter than min_length 4 ("drl", with
    # no vowel, is read as the skeleton of "drill": tests/retrieve/test_abbreviations.py)
    assert speller.correct("dri").text == "dri"
    # "elbw" is one edit from "elbow"; "ebw" two, and too short anyway
    assert speller.correct("elbw").text == "elbow"
    # "pipr" is one edit from "pipe"; a word two edits from any, under 6 letters, stays
    assert speller.correct("pipr").text == "pipe"
    assert speller.correct("elxww").text == "elxww"  # 2 edits from elbow, 5 letters
    assert speller.correct("frezzzr").text == "freezer"  # 7 letters: two edits allowed
    assert SpellCorrector.build(TITLES, SpellingParams(long_word=8)).correct("frezzzr").text == (
        "frezzzr"
    )


def test_the_most_frequent_word_wins_among_equals() -> None:
    corrector = SpellCorrector({"drill": 5, "frill": 1})
    assert corrector.correct_word("xrill") == "drill"


def test_numbers_units_and_model_numbers_are_never_corrected(speller: SpellCorrector) -> None:
    # the catalog has 1/2 and 3/4, 18v and 20v, m18: none of these may move to them
    for typed in ("1/4 in pvc elbow", '3/8" pipe', "19v drill", "m19 drill", "dw745", "2x4"):
        assert speller.correct(typed).changes == ()
    assert speller.correct("1/4 in pvc elbw").text == "1/4 in pvc elbow"


numbers = st.one_of(
    st.integers(0, 5000).map(str),
    st.tuples(st.integers(1, 15), st.integers(2, 64)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda t: f"{t[0]}.{t[1]}"),
)
units = st.sampled_from(["", " in", "in", '"', " ft", "v", " volt", " gal", "-volt", " sq ft"])
words = st.sampled_from(["", " pvc", " drill", " elbo", " cordles", " refrigerator"])


@given(st.lists(st.tuples(numbers, units, words), min_size=1, max_size=4))
def test_every_number_survives_correction(parts: list[tuple[str, str, str]]) -> None:
    speller = SpellCorrector.build(TITLES)
    query = " ".join(n + u + w for n, u, w in parts)
    corrected = speller.correct(query).text
    for number, _, _ in parts:
        assert number in corrected.split() or any(
            token.startswith(number) for token in corrected.split()
        )
    assert all(typed.isalpha() for typed, _ in speller.correct(query).changes)


@given(st.lists(st.sampled_from(sorted(SpellCorrector.build(TITLES)._counts)), min_size=1))
def test_words_of_the_catalog_are_never_corrected(chosen: list[str]) -> None:
    speller = SpellCorrector.build(TITLES)
    query = " ".join(chosen)
    assert speller.correct(query) == speller.correct(query)  # deterministic
    assert speller.correct(query).changes == ()
    assert speller.correct(query).text == query


def test_a_plural_of_a_catalog_word_is_not_corrected(speller: SpellCorrector) -> None:
    assert speller.correct("elbows drills").changes == ()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("half inch pvc", "1/2 in pvc"),
        ("three quarter inch elbow", "3/4 in elbow"),
        ("a half-inch pipe", "1/2 in pipe"),
        ("two gallon bucket", "2 gal bucket"),
        ("half price", "half price"),  # no unit: not a quantity
    ],
)
def test_spelled_quantities_before_a_unit_become_numbers(typed: str, expected: str) -> None:
    assert normalize_units(typed) == expected


@pytest.mark.parametrize("query", ["", "   ", "!!!", "?-/ ."])
def test_empty_and_punctuation_queries_come_back_unchanged(
    speller: SpellCorrector, query: str
) -> None:
    assert speller.correct(query).text == query
    assert speller.correct(query).changes == ()


def test_bad_input_is_refused(speller: SpellCorrector) -> None:
    with pytest.raises(ValueError, match="query must be str"):
        speller.correct(b"drill")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_distance must be 1 or 2"):
        SpellingParams(max_distance=3)
    with pytest.raises(ValueError, match="word counts must be >= 1"):
        SpellCorrector({"drill": 0})


def test_new_words_join_the_vocabulary(speller: SpellCorrector) -> None:
    assert speller.correct("makita").text == "makita"
    assert speller.correct("makitta").text == "makitta"
    speller.add_texts(["Makita 18V impact driver"])
    assert "makita" in speller
    assert speller.correct("makitta").text == "makita"


def test_speller_save_load_round_trip(speller: SpellCorrector, tmp_path: Path) -> None:
    speller.save(tmp_path / "spelling")
    loaded = SpellCorrector.load(tmp_path / "spelling")
    assert len(loaded) == len(speller) and loaded.params == speller.params
    for query in ("cordles drill", "frigidare", "1/2 in pvc elbo", "dril"):
        assert loaded.correct(query) == speller.correct(query)


# ------------------------------------------------------------------ character n-grams


def test_char_ngrams_pad_each_word() -> None:
    trigrams = NgramParams(3, 3)
    assert char_ngrams("Drill bit", trigrams) == [
        *(" dr", "dri", "ril", "ill", "ll "),
        *(" bi", "bit", "it "),
    ]
    assert char_ngrams("a", trigrams) == [" a "]
    assert char_ngrams("ab") == [" a", "ab", "b ", " ab", "ab ", " ab "]  # 2 to 4
    assert char_ngrams("ab", NgramParams(2, 3)) == [" a", "ab", "b ", " ab", "ab "]
    assert char_ngrams("!!! ... -/-") == []
    assert char_ngrams("1/2-in.", trigrams) == [" 1/", "1/2", "/2-", "2-i", "-in", "in.", "n. "]


def test_the_ngram_index_finds_a_one_typo_query_that_bm25_misses(shop: Catalog) -> None:
    lexical = LexicalIndex.build(shop)
    fuzzy = CharNgramIndex.build(shop)
    assert len(lexical.search("frigidare refigerator")) == 0
    found = fuzzy.search("frigidare refigerator", k=3)
    assert found.item_ids[0] == "i2"
    assert list(found.indices) == sorted(
        found.indices, key=lambda i: -fuzzy.scores("frigidare refigerator")[i]
    )
    assert found.components["char"] == pytest.approx(found.scores)


def test_ngram_scores_are_cosines(shop: Catalog) -> None:
    fuzzy = CharNgramIndex.build(shop)
    scores = fuzzy.scores(TITLES[3])
    assert scores[3] == pytest.approx(1.0)  # an item's own text
    assert np.all((scores >= 0) & (scores <= 1 + 1e-6))


@pytest.mark.parametrize("query", ["", "   ", "§§§", "qqqq jjj"])
def test_an_ngram_query_with_nothing_known_finds_nothing(shop: Catalog, query: str) -> None:
    assert len(CharNgramIndex.build(shop).search(query)) == 0


def test_ngram_index_bad_input(shop: Catalog) -> None:
    fuzzy = CharNgramIndex.build(shop)
    with pytest.raises(ValueError, match="query must be str or bytes"):
        fuzzy.search(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_min <= n_max"):
        NgramParams(4, 3)


def test_ngram_index_save_load_round_trip(shop: Catalog, tmp_path: Path) -> None:
    fuzzy = CharNgramIndex.build(shop, params=NgramParams(3, 5))
    fuzzy.save(tmp_path / "char")
    loaded = CharNgramIndex.load(tmp_path / "char")
    assert loaded.item_ids == fuzzy.item_ids and loaded.params == fuzzy.params
    for query in ("cordles dril", "pvc elbo", "§"):
        a, b = fuzzy.search(query), loaded.search(query)
        assert a.item_ids == b.item_ids
        assert a.scores == pytest.approx(b.scores, rel=1e-6)


# ------------------------------------------------------------------ hybrid with a speller


def hybrid_of(shop: Catalog, *, speller: SpellCorrector | None) -> HybridRetriever:
    vectors = np.eye(len(shop), 8)
    return HybridRetriever(
        LexicalIndex.build(shop),
        DenseIndex.build(vectors, shop),
        fusion=ScoreFusion(weight=0.7),
        speller=speller,
    )


def test_the_hybrid_searches_the_corrected_query_lexically(
    shop: Catalog, speller: SpellCorrector
) -> None:
    plain, fixed = hybrid_of(shop, speller=None), hybrid_of(shop, speller=speller)
    vector = np.eye(len(shop), 8)[5]
    assert len(plain.search_components("frigidare", vector)["lexical"]) == 0
    assert fixed.search_components("frigidare", vector)["lexical"].item_ids == ("i2",)
    assert fixed.lexical_query("cordles drill") == "cordless drill"
    assert fixed.lexical_query(b"cordles drill") == "cordless drill"
    assert fixed.search_components("!!!", vector)["lexical"].item_ids == ()


def test_new_items_words_reach_the_hybrids_speller(shop: Catalog, speller: SpellCorrector) -> None:
    hybrid = hybrid_of(shop, speller=speller)
    new = make_catalog([{"item_id": "new", "title": "Makita impact driver"}])
    hybrid.add_items(new, np.ones((1, 8)))
    assert hybrid.lexical_query("makitta") == "makita"
    assert hybrid.search_components("makitta", np.ones(8))["lexical"].item_ids == ("new",)


def test_the_speller_is_saved_and_loaded_with_the_indexes(
    shop: Catalog, speller: SpellCorrector, tmp_path: Path
) -> None:
    hybrid_of(shop, speller=speller).save(tmp_path / "with")
    loaded = HybridRetriever.load(tmp_path / "with")
    assert loaded.speller is not None
    assert loaded.lexical_query("cordles drill") == "cordless drill"
    assert loaded.with_fusion(ScoreFusion(weight=0.5)).speller is loaded.speller


def test_an_index_saved_before_spelling_still_loads(shop: Catalog, tmp_path: Path) -> None:
    folder = tmp_path / "old"
    hybrid_of(shop, speller=None).save(folder)
    meta = json.loads((folder / "meta.json").read_text())
    del meta["spelling"]  # as written before the speller existed
    (folder / "meta.json").write_text(json.dumps(meta))
    loaded = HybridRetriever.load(folder)
    assert loaded.speller is None
    assert loaded.lexical_query("cordles drill") == "cordles drill"


# ------------------------------------------------------------------ n-grams as a third list


def run(ids: list[str], scores: list[float]) -> Candidates:
    positions = np.array([int(i[1:]) for i in ids], dtype=np.int64)
    return Candidates(tuple(ids), positions, np.array(scores, dtype=np.float64))


def test_fusing_with_char_by_hand() -> None:
    lexical, dense = run(["i0", "i1"], [4.0, 2.0]), run(["i1", "i2"], [0.9, 0.5])
    char = run(["i2", "i0"], [0.8, 0.2])
    # min-max: lexical i0 1, i1 0; dense i1 1, i2 0; char i2 1, i0 0 (missing: 0)
    # weight 0.5, share 0.2: lexical 0.4, dense 0.4, char 0.2
    fused = fuse_with_char(lexical, dense, char, weight=0.5, share=0.2)
    assert fused.item_ids == ("i0", "i1", "i2")
    assert fused.scores == pytest.approx([0.4, 0.4, 0.2])
    alone = fuse_with_char(lexical, dense, char, weight=0.5, share=1.0)
    assert alone.item_ids[0] == "i2"
    plain = ScoreFusion(weight=0.7).fuse(lexical, dense)
    none = fuse_with_char(lexical, dense, char, weight=0.7, share=0.0)
    assert none.item_ids[:2] == plain.item_ids[:2]
    with pytest.raises(ValueError, match="must lie in"):
        fuse_with_char(lexical, dense, char, weight=0.5, share=1.5)


def test_the_share_is_tuned_on_the_judged_queries() -> None:
    # only the n-grams find the relevant i2 near the top: a larger share wins
    runs_lex = {"q": run(["i0", "i1"], [4.0, 2.0])}
    runs_dense = {"q": run(["i1", "i0"], [0.9, 0.5])}
    runs_char = {"q": run(["i2", "i0"], [0.8, 0.2])}
    judged = Judgments(
        pl.DataFrame({"query_id": ["q"], "item_id": ["i2"], "grade": [1.0], "split": ["train"]})
    )
    share, values = tune_char_share(
        runs_lex, runs_dense, runs_char, judged, weight=0.5, grid=(0.0, 0.2, 0.6)
    )
    assert share == 0.6
    assert values[0.0] == pytest.approx(0.5)  # i2 third: 1 / log2(4)
    assert values[0.6] == pytest.approx(1.0)
