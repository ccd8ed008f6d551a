"""Tokens of product text for lexical search: `tokenize_product_text`.

Queries and items go through the same function, so that ``18 v``, ``18v``, ``18-Volt`` and
``18 volts`` all become the token ``18v`` and meet. In order:

1. Bytes are decoded as UTF-8, an undecodable byte becoming U+FFFD (a separator); HTML
   entities are unescaped (``&amp;`` → ``&``); vulgar fractions become ``N/D`` (``1½`` →
   ``1 1/2``); NFKC normalization; lower case.
2. Marks after a number become units: ``"`` or ``''`` → ``in``, ``'`` → ``ft`` (``6'``, not
   the ``'s`` of ``80's``), ``#`` → ``lb`` (``50#``); ``w/o`` → ``without``, ``w/`` → ``with``;
   thousands separators go (``1,000`` → ``1000``).
3. Chunks are runs of letters and digits joined by ``-``, ``.`` or ``/`` (``rzr-250``,
   ``1-1/2``, ``3/4in``); each chunk is read as numbers (``12``, ``1.5``, ``1/2``) and
   letter runs (``dw745`` → ``dw``, ``745``).
4. A chunk with digits and a letter run that is not a unit is a model number: its whole form,
   without ``-``, ``.`` and ``/``, comes first (``DW745`` → ``dw745``, ``RZR-250`` →
   ``rzr250``, ``2x4`` → ``2x4``), then its parts.
5. Numbers: an integer followed by a fraction is a mixed number (``1 1/2`` and ``1-1/2`` →
   ``1-1/2``); decimals lose trailing zeros (``7.0`` → ``7``); a number followed by a unit
   (next to it, after a space or after a hyphen) gives the joined token and then the number
   alone (``1/2 in.`` → ``1/2in``, ``1/2``), so a query with the bare number still matches.
   Units and their spellings are in `UNITS`; ``sq ft`` / ``cu ft`` after a number join into
   ``sqft`` / ``cuft``.
6. Words: stop words (`STOP_WORDS`, checked before stemming; ``in`` is one, unless it follows
   a number) are dropped, the others go through `stem_plural` (a unit word standing alone,
   such as ``inches`` in ``inches of rain``, is an ordinary word).

`TOKENIZER_VERSION` changes whenever the output for some text changes; saved indexes record
it and refuse to load under another.
"""

from __future__ import annotations

import html
import re
import unicodedata

from paretorec.retrieve.stemming import stem_plural

__all__ = ["STOP_WORDS", "TOKENIZER_VERSION", "UNITS", "tokenize_product_text"]

TOKENIZER_VERSION = 1

UNITS: dict[str, str] = {
    **dict.fromkeys(("in", "inch", "inches"), "in"),
    **dict.fromkeys(("ft", "feet", "foot"), "ft"),
    **dict.fromkeys(("lb", "lbs", "pound", "pounds"), "lb"),
    **dict.fromkeys(("gal", "gallon", "gallons"), "gal"),
    **dict.fromkeys(("v", "volt", "volts"), "v"),
    **dict.fromkeys(("w", "watt", "watts"), "w"),
    **dict.fromkeys(("oz", "ounce", "ounces"), "oz"),
    **dict.fromkeys(("qt", "quart", "quarts"), "qt"),
    **dict.fromkeys(("amp", "amps", "ampere", "amperes"), "amp"),
    **dict.fromkeys(("ah",), "ah"),
    **dict.fromkeys(("mm",), "mm"),
    **dict.fromkeys(("cm",), "cm"),
    **dict.fromkeys(("hp", "horsepower"), "hp"),
    **dict.fromkeys(("btu", "btus"), "btu"),
}
_AREA_VOLUME = {"sq": "sq", "square": "sq", "cu": "cu", "cubic": "cu"}

STOP_WORDS = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "into"),
        *("is", "it", "its", "of", "on", "or", "the", "to", "with", "x", "s"),
    }
)

_VULGAR_FRACTIONS = "¼½¾⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞"
_FRACTION_TABLE = str.maketrans(
    {c: " " + unicodedata.normalize("NFKC", c).replace("⁄", "/") for c in _VULGAR_FRACTIONS}
)
_QUOTE_TABLE = str.maketrans({"“": '"', "”": '"', "″": '"', "‘": "'", "’": "'", "′": "'"})

_INCH_MARK = re.compile(r"(\d)\s*(?:\"|'')")
_FOOT_MARK = re.compile(r"(\d)\s*'(?![^\W\d_])")
_POUND_MARK = re.compile(r"(\d)\s*#")
_WITHOUT = re.compile(r"\bw/o\b")
_WITH = re.compile(r"\bw/")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")

_NUMBER = r"\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?"
_NUMBER_RE = re.compile(_NUMBER)
_CHUNK_RE = re.compile(r"[^\W_]+(?:[-./][^\W_]+)*")
_RUN_RE = re.compile(rf"{_NUMBER}|[^\W\d_]+")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_DIGIT_RE = re.compile(r"\d")
_SEPARATORS_RE = re.compile(r"[-./]")


def _normalize(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = html.unescape(text).translate(_FRACTION_TABLE)
    text = unicodedata.normalize("NFKC", text).lower().replace("⁄", "/")
    text = text.translate(_QUOTE_TABLE)
    text = _INCH_MARK.sub(r"\1 in ", text)
    text = _FOOT_MARK.sub(r"\1 ft ", text)
    text = _POUND_MARK.sub(r"\1 lb ", text)
    text = _WITHOUT.sub(" without ", text)
    text = _WITH.sub(" with ", text)
    return _THOUSANDS.sub("", text)


def _runs(text: str) -> tuple[list[str], dict[int, str]]:
    """Every chunk's runs in order, and the model numbers' whole forms by the position of
    their chunk's first run."""
    runs: list[str] = []
    wholes: dict[int, str] = {}
    for chunk in _CHUNK_RE.findall(text):
        parts = _RUN_RE.findall(chunk)
        if _DIGIT_RE.search(chunk) and any(
            w not in UNITS and w not in _AREA_VOLUME for w in _LETTERS_RE.findall(chunk)
        ):
            wholes[len(runs)] = _SEPARATORS_RE.sub("", chunk)
        runs.extend(parts)
    return runs, wholes


def _is_number(run: str) -> bool:
    return run[0].isdigit()


def _canonical_number(number: str) -> str:
    if "." in number and "/" not in number:
        number = number.rstrip("0").rstrip(".")
    return number


def _unit_at(runs: list[str], j: int) -> tuple[str | None, int]:
    """The unit starting at run `j` (if any) and the position after it."""
    if j >= len(runs):
        return None, j
    run = runs[j]
    if run in _AREA_VOLUME and j + 1 < len(runs) and UNITS.get(runs[j + 1]) == "ft":
        return _AREA_VOLUME[run] + "ft", j + 2
    if run in UNITS:
        return UNITS[run], j + 1
    return None, j


def tokenize_product_text(text: str | bytes) -> list[str]:
    """The tokens of a product title or query (see the module docstring), in text order.

    >>> tokenize_product_text('DeWalt DW745 10" Table Saw, 18-Volt')
    ['dewalt', 'dw745', 'dw', '745', '10in', '10', 'table', 'saw', '18v', '18']
    """
    runs, wholes = _runs(_normalize(text))
    out: list[str] = []
    i = 0
    while i < len(runs):
        run = runs[i]
        if not _is_number(run):
            if i in wholes:
                out.append(wholes[i])
            if run not in STOP_WORDS:
                out.append(stem_plural(run))
            i += 1
            continue
        number, j = run, i + 1
        if run.isdigit() and j < len(runs) and "/" in runs[j] and _is_number(runs[j]):
            number, j = f"{run}-{runs[j]}", j + 1
        number = _canonical_number(number)
        unit, after = _unit_at(runs, j)
        out.extend(wholes[p] for p in range(i, after) if p in wholes)
        if unit is None:
            out.append(number)
            i = j
        else:
            out.extend((number + unit, number))
            i = after
    return out
