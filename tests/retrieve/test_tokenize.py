"""The product tokenizer: exact outputs for units, numbers, model numbers, stemming, bad input."""

from __future__ import annotations

import pytest

from paretorec.retrieve.stemming import stem_plural
from paretorec.retrieve.tokenize import STOP_WORDS, tokenize_product_text


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # units: every spelling of the same measure meets in one joined token (+ the number)
        ("18 v drill", ["18v", "18", "drill"]),
        ("18v drill", ["18v", "18", "drill"]),
        ("18V Drill", ["18v", "18", "drill"]),
        ("18-Volt drill", ["18v", "18", "drill"]),
        ("18 volts drill", ["18v", "18", "drill"]),
        ('10" saw', ["10in", "10", "saw"]),
        ("10'' saw", ["10in", "10", "saw"]),
        ("10 in. saw", ["10in", "10", "saw"]),
        ("10 inch saw", ["10in", "10", "saw"]),
        ("10-inches saw", ["10in", "10", "saw"]),
        ("6' ladder", ["6ft", "6", "ladder"]),
        ("6 ft. ladder", ["6ft", "6", "ladder"]),
        ("6 feet ladder", ["6ft", "6", "ladder"]),
        ("50 lb. bag", ["50lb", "50", "bag"]),
        ("50 lbs bag", ["50lb", "50", "bag"]),
        ("50 pounds bag", ["50lb", "50", "bag"]),
        ("50# bag", ["50lb", "50", "bag"]),
        ("5 gal. bucket", ["5gal", "5", "bucket"]),
        ("5 gallons bucket", ["5gal", "5", "bucket"]),
        ("60 w bulb", ["60w", "60", "bulb"]),
        ("60-Watt bulb", ["60w", "60", "bulb"]),
        ("60 watts bulb", ["60w", "60", "bulb"]),
        ("1.9 cu. ft. microwave", ["1.9cuft", "1.9", "microwave"]),
        ("(5 sq. ft./Box)", ["5sqft", "5", "box"]),
        ("120/240V", ["120/240v", "120/240"]),
        # fractions and mixed numbers
        ("1/2 in. pipe", ["1/2in", "1/2", "pipe"]),
        ("3/4in. copper", ["3/4in", "3/4", "copper"]),
        ("1-1/2 in. pipe", ["1-1/2in", "1-1/2", "pipe"]),
        ("1 1/2 inch pipe", ["1-1/2in", "1-1/2", "pipe"]),
        ('1½" pipe', ["1-1/2in", "1-1/2", "pipe"]),
        ("½ in pipe", ["1/2in", "1/2", "pipe"]),
        ("7.0 cu ft", ["7cuft", "7"]),
        ("1,000 Nails", ["1000", "nail"]),
        # model numbers: whole (without - . /) then their parts
        ("DeWalt DW745", ["dewalt", "dw745", "dw", "745"]),
        ("RZR-250 mower", ["rzr250", "rzr", "250", "mower"]),
        ("rzr250", ["rzr250", "rzr", "250"]),
        ("2x4 lumber", ["2x4", "2", "4", "lumber"]),
        ("Milwaukee M18 5.0Ah", ["milwaukee", "m18", "m", "18", "5ah", "5"]),
        ("BEHR #330C-1", ["behr", "330c1", "330", "c", "1"]),
        # words: stop words, plurals, HTML entities, with / without
        ("Batteries for the Drills", ["battery", "drill"]),
        ("boxes inches glasses hoses brushes", ["box", "inch", "glass", "hose", "brush"]),
        ("Knape &amp; Vogt", ["knape", "vogt"]),
        ("Vanity w/ Top w/o Faucet", ["vanity", "top", "without", "faucet"]),
        ("Men's 80's style", ["men", "80", "style"]),
        ("Self-Tapping Screws", ["self", "tapping", "screw"]),
        ("Café Crème", ["café", "crème"]),
        ("", []),
        ("   ", []),
        ("the of in and", []),
        ("!!! ??? ---", []),
    ],
)
def test_exact_tokens(text: str, tokens: list[str]) -> None:
    assert tokenize_product_text(text) == tokens


def test_documented_example() -> None:
    assert tokenize_product_text('DeWalt DW745 10" Table Saw, 18-Volt') == [
        *("dewalt", "dw745", "dw", "745", "10in", "10", "table", "saw", "18v", "18"),
    ]


def test_query_and_title_spellings_meet() -> None:
    title = set(tokenize_product_text("RYOBI ONE+ 18-Volt Lithium-Ion Cordless Drill/Driver"))
    for query in ("ryobi 18v drill", "18 volt ryobi drills", "Ryobi 18 V driver"):
        assert set(tokenize_product_text(query)) <= title


def test_bytes_are_decoded_and_bad_bytes_are_separators() -> None:
    assert tokenize_product_text(b"cordless drill") == ["cordless", "drill"]
    assert tokenize_product_text(b"\xff\xfe drill\xc3") == ["drill"]
    assert tokenize_product_text("drill\udcff bit".encode("utf-8", "surrogatepass")) == [
        "drill",
        "bit",
    ]


def test_long_text() -> None:
    text = "cordless drill 18v " * 600  # over 10,000 characters
    assert len(text) > 10_000
    tokens = tokenize_product_text(text)
    assert tokens[:4] == ["cordless", "drill", "18v", "18"]
    assert len(tokens) == 2400


def test_stop_words_are_lower_case_words() -> None:
    assert all(w == w.lower() and w.isalpha() for w in STOP_WORDS)
    assert "in" in STOP_WORDS and "without" not in STOP_WORDS


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("batteries", "battery"),
        ("series", "sery"),  # the rule, not English: it meets "sery" the same way each time
        ("bolts", "bolt"),
        ("boxes", "box"),
        ("glasses", "glass"),
        ("glass", "glass"),
        ("cactus", "cactus"),
        ("chassis", "chassis"),
        ("gas", "gas"),  # shorter than 4 letters: unchanged
        ("lights", "light"),
        ("lighting", "lighting"),
    ],
)
def test_stem_plural(word: str, stem: str) -> None:
    assert stem_plural(word) == stem
