"""Abbreviated queries: the spell corrector's consonant-skeleton expansion (``cbnt`` →
``cabinet``), its choice among several expansions, the units the tokenizer reads, and the
saved corrector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretorec.retrieve.dense import DenseIndex
from paretorec.retrieve.hybrid import HybridRetriever
from paretorec.retrieve.lexical import LexicalIndex, item_texts
from paretorec.retrieve.spelling import SpellCorrector, SpellingParams, skeleton
from paretorec.retrieve.tokenize import tokenize_product_text
from paretorec.types import Catalog

TITLES = [
    "Charlotte Pipe 1/2 in. PVC 90 degree elbow",
    "NIBCO 3/4 in. PVC elbow fitting",
    "Milwaukee M18 cordless drill driver",
    "Hampton Bay white kitchen cabinet 30 in.",
    "white shaker bathroom vanity",
    "bathroom vanity with top",
    "vanity mirror 24 in.",
    "Broan bathroom exhaust fan with vent",
    "dryer vent hose 4 in. x 8 ft.",
]


@pytest.fixture
def speller() -> SpellCorrector:
    return SpellCorrector.build(TITLES)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("cabinet", "cbnt"),
        ("drill", "drl"),  # a doubled letter counts once
        ("vinyl", "vnl"),  # y is dropped as a vowel, unless kept (below)
        ("oven", "ovn"),  # the first letter stays, vowel or not
        ("milwaukee", "mlwk"),
        ("cbnt", "cbnt"),  # a skeleton is its own skeleton
        ("a", "a"),
    ],
)
def test_skeleton(word: str, expected: str) -> None:
    assert skeleton(word) == expected


def test_the_skeleton_keeping_y() -> None:
    assert skeleton("vinyl", keep_y=True) == "vnyl"
    assert skeleton("heavy", keep_y=True) == "hvy"
    assert skeleton("cabinet", keep_y=True) == "cbnt"


def test_the_skeleton_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="empty word"):
        skeleton("")


@pytest.mark.parametrize(
    ("typed", "corrected", "changes"),
    [
        ("wht kitchen cbnt", "white kitchen cabinet", (("wht", "white"), ("cbnt", "cabinet"))),
        ("mlwk crdlss drll", "milwaukee cordless drill", None),
        ("PVC ELBW", "pvc elbow", (("elbw", "elbow"),)),
        # the typo correction still reaches what the skeletons do not
        ("1/2 in pvc elbo", "1/2 in pvc elbow", (("elbo", "elbow"),)),
        ("cordles drill", "cordless drill", (("cordles", "cordless"),)),
    ],
)
def test_hand_checked_expansions(
    speller: SpellCorrector,
    typed: str,
    corrected: str,
    changes: tuple[tuple[str, str], ...] | None,
) -> None:
    found = speller.correct(typed)
    assert found.text == corrected
    if changes is not None:
        assert found.changes == changes


def test_1_2_in_pvc_elbo_gives_the_tokens_of_the_title(speller: SpellCorrector) -> None:
    # every spelling of the unit meets the title's "1/2 in." once corrected and tokenized
    title = tokenize_product_text(TITLES[0])
    assert title[:4] == ["charlotte", "pipe", "1/2in", "1/2"]
    for typed in ("1/2 in pvc elbo", '1/2" pvc elbo', "1/2in pvc elbo", "1/2 inch PVC elbw"):
        tokens = tokenize_product_text(speller.correct(typed).text)
        assert tokens == ["1/2in", "1/2", "pvc", "elbow"], typed
    assert tokenize_product_text(speller.correct("half inch pvc elbo").text) == [
        "1/2in",
        "1/2",
        "pvc",
        "elbow",
    ]
    assert tokenize_product_text("4 ft x 8 ft") == ["4ft", "4", "8ft", "8"]


def test_the_query_s_other_words_choose_among_expansions(speller: SpellCorrector) -> None:
    # "vnt" is the skeleton of "vanity" (4 titles) and "vent" (2 titles)
    assert speller.expand("vnt") == "vanity"  # alone: the more frequent
    assert speller.correct("vnt").text == "vanity"
    assert speller.correct("exhaust fan vnt").text == "exhaust fan vent"
    assert speller.correct("dryer vnt hose").text == "dryer vent hose"
    assert speller.correct("vnt mirror").text == "vanity mirror"
    # unknown context words are no evidence
    assert speller.correct("qqqq vnt").text == "qqqq vanity"


def test_ties_go_to_the_more_frequent_word_then_a_to_z() -> None:
    corrector = SpellCorrector({"bolt": 3, "belt": 5, "bilt": 5})
    assert corrector.expand("blt") == "belt"


def test_a_rare_catalog_word_is_expanded_only_far_below_its_expansion() -> None:
    rare = SpellCorrector({"dr": 1, "door": 150})
    assert rare.expand("dr") == "door"  # 150 >= 100 x 1
    common = SpellCorrector({"dr": 2, "door": 150})
    assert common.expand("dr") is None  # 150 < 100 x 2
    assert common.correct("dr").text == "dr"
    looser = SpellCorrector({"dr": 2, "door": 150}, SpellingParams(abbreviation_ratio=50))
    assert looser.expand("dr") == "door"
    # a word the catalog does not have needs no margin, only min_count
    assert SpellCorrector({"door": 1}).expand("dr") == "door"
    strict = SpellCorrector({"door": 1}, SpellingParams(min_count=2))
    assert strict.expand("dr") is None


@pytest.mark.parametrize(
    "typed",
    [
        "cabnet",  # has vowels: a typo, not a skeleton
        "ft",  # units and stop words are never expanded
        "in",
        "sq",
        "lb",
        "with",
        "ss",  # a skeleton of one letter ("s") would stand for every word
        "dw745",  # model numbers, numbers and units are never touched
        "m18",
        "2x4",
        "18v",
        "pvc",  # no catalog word has this skeleton
        "pvcs",  # the plural of a catalog word
        "xyzq",  # no catalog word has this skeleton
    ],
)
def test_what_is_never_expanded(speller: SpellCorrector, typed: str) -> None:
    assert speller.expand(typed) is None


def test_a_catalog_word_is_kept_unless_its_expansion_is_far_more_frequent() -> None:
    # "wht" is now a catalog word (1 title), "white" is in 2: far below the 100x margin
    guarded = SpellCorrector.build([*TITLES, "Hampton Bay wht finish cabinet door"])
    assert guarded.correct("wht cbnt").text == "wht cabinet"
    loose = SpellCorrector.build(
        [*TITLES, "Hampton Bay wht finish cabinet door"], SpellingParams(abbreviation_ratio=2)
    )
    assert loose.correct("wht cbnt").text == "white cabinet"


@pytest.mark.parametrize(
    "typed",
    [
        "pry bar",  # y is a consonant as typed: "pry" is no skeleton of "pro"
        "syn",
        "cyst",
        "olly",  # starts with a vowel and is a catalog word
        "ess",
        "astm",  # starts with a vowel, no catalog word has its skeleton
        "12 kwh meter",  # a unit's place: right after a number
        "1-1/2 kwh",
        "3.5 kwh",
    ],
)
def test_real_words_acronyms_and_units_are_not_expanded(typed: str) -> None:
    # each word of these has an expansion under the frequency rule as it was: pry -> pro,
    # syn -> sun, cyst -> cast, olly -> oil, ess -> easy, kwh -> kiawah (Home Depot's)
    counts = {"pro": 500, "pry": 1, "bar": 40, "sun": 300, "syn": 1, "cast": 200, "cyst": 1}
    counts |= {"oil": 400, "olly": 1, "easy": 216, "ess": 1, "asm": 2, "kiawah": 3, "meter": 9}
    corrector = SpellCorrector(counts, SpellingParams(typos=False))
    assert corrector.correct(typed).text == typed
    assert corrector.correct(typed).changes == ()


def test_y_as_typed_and_words_starting_with_a_vowel() -> None:
    corrector = SpellCorrector({"heavy": 9, "vinyl": 5, "vanity": 7, "aluminum": 4, "abase": 3})
    assert corrector.correct("hvy vnyl").text == "heavy vinyl"  # a typed y must be there
    assert corrector.correct("vnt").text == "vanity"  # and may have been dropped
    assert corrector.expand("almnm") == "aluminum"  # 4+ letters, no catalog word
    assert corrector.expand("abs") is None  # 3 letters: an acronym as likely
    assert corrector.correct("kwh").text == "kwh"  # nothing has its skeleton here
    with_kiawah = SpellCorrector({"kiawah": 3})
    assert with_kiawah.correct("kwh").text == "kiawah"  # not after a number: expanded
    assert with_kiawah.correct("12 kwh").text == "12 kwh"
    assert with_kiawah.correct("m18 kwh").text == "m18 kiawah"  # a model number, no unit
    assert with_kiawah.correct("12 x kwh").text == "12 x kiawah"


def test_expansions_are_only_for_words_without_a_vowel(speller: SpellCorrector) -> None:
    # "cabnet" has no skeleton reading, the typo correction takes it
    assert speller.correct("cabnet").text == "cabinet"
    # numbers and model numbers come back as typed beside an expansion
    assert speller.correct("m18 drll 3/4in").text == "m18 drill 3/4in"


def test_the_switches() -> None:
    off = SpellCorrector.build(TITLES, SpellingParams(abbreviations=False))
    assert off.correct("wht cbnt").text == "wht cbnt"
    assert off.correct("cordles").text == "cordless"
    only = SpellCorrector.build(TITLES, SpellingParams(typos=False))
    assert only.correct("wht cbnt").text == "white cabinet"
    assert only.correct("cordles").text == "cordles"
    neither = SpellCorrector.build(TITLES, SpellingParams(typos=False, abbreviations=False))
    assert neither.correct("wht cordles half inch").text == "wht cordles 1/2 in"


def test_new_items_bring_new_expansions(speller: SpellCorrector) -> None:
    assert speller.correct("mkt drll").text == "mkt drill"
    speller.add_texts(["Makita 18V impact driver"])
    assert speller.correct("mkt drll").text == "makita drill"


skeleton_words = st.sampled_from(sorted(w for w in SpellCorrector.build(TITLES)._skeletons))
catalog_words = st.sampled_from(sorted(SpellCorrector.build(TITLES)._counts))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(skeleton_words, catalog_words), min_size=1, max_size=5))
def test_expansions_are_catalog_words_of_the_same_skeleton(words: list[str]) -> None:
    speller = SpellCorrector.build(TITLES)
    query = " ".join(words)
    found = speller.correct(query)
    for typed, fixed in found.changes:
        assert fixed in speller
        assert skeleton(fixed) == skeleton(typed)
    assert speller.correct(found.text).text == found.text  # a second pass changes nothing
    assert len(found.text.split()) == len(words)


def test_save_load_keeps_the_choice_by_context(speller: SpellCorrector, tmp_path: Path) -> None:
    speller.save(tmp_path / "spelling")
    loaded = SpellCorrector.load(tmp_path / "spelling")
    assert loaded.params == speller.params
    for query in ("dryer vnt hose", "vnt mirror", "wht kitchen cbnt", "cordles drll"):
        assert loaded.correct(query) == speller.correct(query)
    loaded.add_texts(["Makita 18V impact driver"])
    assert loaded.correct("mkt drll").text == "makita drill"


def test_a_corrector_saved_before_abbreviations_loads_without_them(
    speller: SpellCorrector, tmp_path: Path
) -> None:
    folder = tmp_path / "spelling"
    speller.save(folder)
    meta = json.loads((folder / "meta.json").read_text())
    meta["params"] = {k: meta["params"][k] for k in ("max_distance", "long_word", "min_length")}
    meta["params"]["min_count"] = 1
    del meta["n_documents"]
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "posting_offsets.npy").unlink()
    (folder / "posting_documents.npy").unlink()
    old = SpellCorrector.load(folder)
    assert old.params == SpellingParams(abbreviations=False)
    assert old.correct("wht cbnt elbo").text == "wht cbnt elbow"


def test_bad_saved_postings_and_parameters_are_refused(
    speller: SpellCorrector, tmp_path: Path
) -> None:
    folder = tmp_path / "spelling"
    speller.save(folder)
    offsets = np.load(folder / "posting_offsets.npy")
    offsets[-1] += 1
    np.save(folder / "posting_offsets.npy", offsets)
    with pytest.raises(ValueError, match="posting arrays do not fit"):
        SpellCorrector.load(folder)
    with pytest.raises(ValueError, match="unknown spelling parameters"):
        SpellingParams.from_dict({"max_distance": 2, "stemming": True})
    with pytest.raises(ValueError, match="must be an integer"):
        SpellingParams.from_dict({"abbreviation_ratio": "100"})
    with pytest.raises(ValueError, match="must be true or false"):
        SpellingParams.from_dict({"abbreviations": 1})
    with pytest.raises(ValueError, match="abbreviation_ratio must be >= 1"):
        SpellingParams(abbreviation_ratio=0)
    assert SpellingParams.from_dict(SpellingParams().to_dict()) == SpellingParams()


def test_index_saves_the_expansion_and_no_abbreviations_turns_it_off(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from paretorec.cli import app
    from tests.retrieve.test_pipeline_cli import ITEMS

    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "items.csv").write_text(ITEMS)
    cache = ["--cache", str(tmp_path / "cache")]
    runner = CliRunner()
    for flag, on in (([], True), (["--no-abbreviations"], False)):
        index = tmp_path / f"index-{on}"
        built = runner.invoke(app, ["index", str(shop), "--out", str(index), *cache, *flag])
        assert built.exit_code == 0, built.output
        speller = SpellCorrector.load(index / "spelling")
        assert speller.params.abbreviations is on
        assert speller.correct("crdls drl").text == ("cordless drill" if on else "crdls drl")


# ------------------------------------------------------------------ catalog changes

CHANGING = ["bathroom exhaust vent", "bathroom vent fan", "vanity mirror", "white vanity"]


def _same_counts(corrector: SpellCorrector, texts: list[str]) -> None:
    """The corrector's counts, vocabulary, skeletons and postings are those of a corrector
    built afresh from `texts` (whose documents are numbered 0, 1, ... in the same order as
    the keys `corrector` holds them under, sorted)."""
    fresh = SpellCorrector.build(texts)
    assert corrector._counts == fresh._counts
    assert corrector._stems == fresh._stems
    assert {k: sorted(v) for k, v in corrector._skeletons.items()} == {
        k: sorted(v) for k, v in fresh._skeletons.items()
    }
    keys = sorted(corrector._documents_words)
    assert {w: sorted(keys.index(d) for d in ds) for w, ds in corrector._postings.items()} == {
        w: sorted(ds) for w, ds in fresh._postings.items()
    }


def test_an_updated_document_replaces_its_old_words() -> None:
    corrector = SpellCorrector.build(CHANGING)
    assert corrector.correct("bathroom vnt").text == "bathroom vent"  # 2 items to 0
    for _ in range(3):  # the same item upserted three times counts once
        corrector.add_texts(["white vanity bathroom"], documents=[3])
    # vent shares 2 items with bathroom, vanity 1: counted once, vent still wins
    assert corrector.correct("bathroom vnt").text == "bathroom vent"
    _same_counts(corrector, [*CHANGING[:3], "white vanity bathroom"])
    assert corrector._counts["vanity"] == 2 and corrector._counts["white"] == 1


def test_removed_documents_leave_the_vocabulary() -> None:
    corrector = SpellCorrector.build(CHANGING)
    corrector.remove_documents([0, 1])
    assert "vent" not in corrector and "exhaust" not in corrector
    assert corrector.correct("bathroom vnt").text == "bathroom vanity"  # no vent left
    assert corrector.correct("exhast").text == "exhast"  # nor its typo correction
    _same_counts(corrector, CHANGING[2:])
    corrector.remove_documents([0, 7])  # keys no longer (or never) held change nothing
    _same_counts(corrector, CHANGING[2:])
    corrector.add_texts(["bathroom vent cover"], documents=[0])
    assert corrector.correct("bathroom vnt").text == "bathroom vent"
    _same_counts(corrector, ["bathroom vent cover", *CHANGING[2:]])
    with pytest.raises(ValueError, match="distinct"):
        corrector.add_texts(["a", "b"], documents=[5, 5])
    with pytest.raises(ValueError, match="2 texts but 1"):
        corrector.add_texts(["a", "b"], documents=[5])


def test_changes_after_save_and_load(tmp_path: Path) -> None:
    corrector = SpellCorrector.build([*CHANGING, "vent vent vent hood"])
    corrector.add_texts(["white vanity bathroom"], documents=[3])
    corrector.save(tmp_path / "spelling")
    loaded = SpellCorrector.load(tmp_path / "spelling")
    assert loaded._counts == corrector._counts
    for c in (loaded, corrector):  # a word's count in a document is saved too (vent x3)
        c.remove_documents([4, 0])
        assert c._counts["vent"] == 1
        _same_counts(c, [CHANGING[1], CHANGING[2], "white vanity bathroom"])


def _hybrid(catalog: Catalog) -> HybridRetriever:
    vectors = np.eye(len(catalog), 8)[:, :8] + 0.01
    lexical = LexicalIndex.build(catalog)
    return HybridRetriever(
        lexical,
        DenseIndex.build(vectors, catalog),
        speller=SpellCorrector.build(item_texts(catalog, lexical.fields)),
    )


def _catalog(rows: list[tuple[str, str]]) -> Catalog:
    return Catalog(pl.DataFrame({"item_id": [i for i, _ in rows], "title": [t for _, t in rows]}))


SHOP = [
    ("vent1", "bathroom exhaust vent"),
    ("vent2", "bathroom vent fan"),
    ("mirror", "vanity mirror"),
    ("vanity", "white vanity"),
    ("cabinet", "white kitchen cabinet"),
    ("drill", "cordless drill"),
]


def _lexical_run(hybrid: HybridRetriever, query: str) -> tuple[str, ...]:
    return hybrid.search_components(query, np.full(8, 0.1))["lexical"].item_ids


def test_the_served_path_expands_and_follows_catalog_changes(tmp_path: Path) -> None:
    hybrid = _hybrid(_catalog(SHOP))
    assert hybrid.lexical_query("wht cbnt") == "white cabinet"
    # BM25's run (what search fuses) finds the white cabinet; without the speller, nothing
    assert _lexical_run(hybrid, "wht cbnt")[0] == "cabinet"
    assert (
        HybridRetriever(hybrid.lexical, hybrid.dense)
        .search_components("wht cbnt", np.full(8, 0.1))["lexical"]
        .item_ids
        == ()
    )
    for _ in range(3):
        hybrid.update_items(_catalog([("vanity", "white vanity bathroom")]), np.ones((1, 8)))
    assert hybrid.lexical_query("bathroom vnt") == "bathroom vent"
    hybrid.remove_items(["vent1", "vent2"])
    assert hybrid.speller is not None and "vent" not in hybrid.speller
    assert hybrid.lexical_query("bathroom vnt") == "bathroom vanity"
    hybrid.add_items(_catalog([("hood", "range hood vent")]), np.ones((1, 8)))
    assert hybrid.lexical_query("range vnt") == "range vent"
    hybrid.save(tmp_path / "index")
    loaded = HybridRetriever.load(tmp_path / "index")
    assert _lexical_run(loaded, "wht cbnt")[0] == "cabinet"
    assert loaded.lexical_query("bathroom vnt") == "bathroom vanity"
    loaded.remove_items(["hood"])
    assert loaded.lexical_query("range vnt") == "range vanity"
    current = [t for i, t in SHOP[2:] if i != "vanity"] + ["white vanity bathroom"]
    assert loaded.speller is not None
    assert loaded.speller._counts == SpellCorrector.build(current)._counts
