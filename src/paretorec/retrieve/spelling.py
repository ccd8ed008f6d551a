"""Query spelling correction over the catalog's own words, and unit phrases made canonical.

`SpellCorrector` holds every word of the catalog's text with its count and corrects a
query word by word, with SymSpell (`symspellpy`: Damerau-Levenshtein within a
distance, found through a deletion index). A word is left as it is when it

- is part of a chunk with a digit (``18v``, ``dw745``, ``rzr-250``, ``1/2in``): numbers,
  model numbers and units are never corrected, so ``3/4`` can never become ``1/4``;
- is a stop word or a unit word (``in``, ``ft``, ``gal``, ...), or shorter than
  `min_length` letters;
- is in the catalog's vocabulary, or its plural stem is (``elbows``: ``elbow``);
- has no catalog word within its distance (`max_distance`, 1 below `long_word` letters).

Otherwise it becomes the nearest catalog word, the most frequent one among equals
(``cordles`` → ``cordless``, ``frigidare`` → ``frigidaire``). Everything else of the query
(digits, punctuation, spacing) is kept as typed.

`normalize_units` first rewrites spelled-out quantities before a unit into numbers
(``half inch`` → ``1/2 in``, ``three quarter inch`` → ``3/4 in``); marks such as ``1/2"``
and ``1/2 in.`` are already read by `paretorec.retrieve.tokenize`.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from symspellpy import SymSpell, Verbosity

from paretorec.retrieve.stemming import stem_plural
from paretorec.retrieve.storage import read_json, read_meta, write_json, write_meta
from paretorec.retrieve.tokenize import STOP_WORDS, UNITS

__all__ = ["Correction", "SpellCorrector", "SpellingParams", "normalize_units"]

_KIND = "spelling"
_CHUNK_RE = re.compile(r"[^\W_]+(?:[-./'][^\W_]+)*")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_DIGIT_RE = re.compile(r"\d")
_PROTECTED = frozenset({*UNITS, "sq", "square", "cu", "cubic", *STOP_WORDS})

_QUANTITIES = {
    "half": "1/2",
    "quarter": "1/4",
    "three quarter": "3/4",
    "three quarters": "3/4",
    "three fourths": "3/4",
    "one and a half": "1-1/2",
    "one and half": "1-1/2",
    "eighth": "1/8",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "eight": "8",
    "ten": "10",
    "twelve": "12",
}
_QUANTITY_RE = re.compile(
    r"\b(?:(?:a|one)[ -])?("
    + "|".join(sorted((re.escape(q).replace(r"\ ", "[ -]") for q in _QUANTITIES), key=len)[::-1])
    + r")[ -]?("
    + "|".join(sorted(UNITS, key=len, reverse=True))
    + r")\b",
    re.IGNORECASE,
)


def normalize_units(text: str) -> str:
    """Spelled-out quantities before a unit as numbers: ``half inch pipe`` → ``1/2 in pipe``."""

    def number(match: re.Match[str]) -> str:
        quantity = re.sub(r"[ -]+", " ", match.group(1).lower())
        return f"{_QUANTITIES[quantity]} {UNITS[match.group(2).lower()]}"

    return _QUANTITY_RE.sub(number, text)


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", html.unescape(text)).lower()


def catalog_words(texts: Iterable[str]) -> Counter[str]:
    """Every letter run of the texts (lower case, NFKC) with how often it occurs."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(_LETTERS_RE.findall(_clean(text)))
    return counts


@dataclass(frozen=True)
class SpellingParams:
    """How far a correction may reach (see the module docstring)."""

    max_distance: int = 2
    # words this long or longer may take `max_distance` edits, others 1 (6: chosen on Home
    # Depot's valid queries against 8, with distance 1 only, min_length 5, min_count 2)
    long_word: int = 6
    min_length: int = 4  # shorter words are never corrected
    min_count: int = 1  # a catalog word must occur this often to be a correction

    def __post_init__(self) -> None:
        if self.max_distance not in (1, 2):
            raise ValueError(f"max_distance must be 1 or 2, got {self.max_distance}")
        if self.min_length < 2 or self.long_word < self.min_length:
            raise ValueError(
                f"need 2 <= min_length <= long_word, got {self.min_length} and {self.long_word}"
            )
        if self.min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count}")

    def to_dict(self) -> dict[str, int]:
        return {
            "max_distance": self.max_distance,
            "long_word": self.long_word,
            "min_length": self.min_length,
            "min_count": self.min_count,
        }


@dataclass(frozen=True)
class Correction:
    """A query as corrected, and each (typed, corrected) word pair in query order."""

    text: str
    changes: tuple[tuple[str, str], ...]


class SpellCorrector:
    """Corrects query words towards the catalog's vocabulary (see the module docstring)."""

    def __init__(self, counts: Mapping[str, int], params: SpellingParams | None = None) -> None:
        self.params = params or SpellingParams()
        self._counts: Counter[str] = Counter()
        self._stems: set[str] = set()
        self._symspell = SymSpell(
            max_dictionary_edit_distance=self.params.max_distance,
            count_threshold=self.params.min_count,
        )
        self.add_counts(counts)

    @classmethod
    def build(cls, texts: Iterable[str], params: SpellingParams | None = None) -> SpellCorrector:
        """A corrector whose vocabulary is the words of `texts` (an item's text each)."""
        return cls(catalog_words(texts), params)

    def add_counts(self, counts: Mapping[str, int]) -> None:
        """Count more words (new items' text): they are in the vocabulary at once."""
        for word, count in counts.items():
            if count < 1 or not word:
                raise ValueError(f"word counts must be >= 1 and words non-empty: {word!r}")
            self._counts[word] += count
            self._stems.add(stem_plural(word))
            self._symspell.create_dictionary_entry(word, count)

    def add_texts(self, texts: Iterable[str]) -> None:
        self.add_counts(catalog_words(texts))

    def __len__(self) -> int:
        return len(self._counts)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self._counts

    # ------------------------------------------------------------ correcting

    def correct_word(self, word: str) -> str:
        """The catalog word `word` stands for: itself unless the rules above correct it."""
        p = self.params
        if (
            len(word) < p.min_length
            or word in _PROTECTED
            or word in self._counts
            or stem_plural(word) in self._stems
            or not word.isalpha()
        ):
            return word
        reach = p.max_distance if len(word) >= p.long_word else 1
        found = self._symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=reach)
        return str(found[0].term) if found else word

    def correct(self, query: str) -> Correction:
        """The query with its misspelt words replaced, units canonical; ``changes`` lists
        the corrected words. Empty or punctuation-only queries come back unchanged."""
        if not isinstance(query, str):
            raise ValueError(f"query must be str, got {type(query).__name__}")
        text = normalize_units(_clean(query))
        changes: list[tuple[str, str]] = []
        pieces: list[str] = []
        last = 0
        for chunk in _CHUNK_RE.finditer(text):
            if _DIGIT_RE.search(chunk.group()):
                continue
            for run in _LETTERS_RE.finditer(chunk.group()):
                word = run.group()
                fixed = self.correct_word(word)
                if fixed != word:
                    start = chunk.start() + run.start()
                    pieces += [text[last:start], fixed]
                    last = start + len(word)
                    changes.append((word, fixed))
        pieces.append(text[last:])
        return Correction("".join(pieces), tuple(changes))

    # ------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        """The vocabulary and its counts as JSON (the deletion index is rebuilt on load)."""
        folder = Path(folder)
        write_meta(folder, _KIND, {"params": self.params.to_dict()})
        words = sorted(self._counts)
        write_json(
            folder / "vocabulary.json", {"words": words, "counts": [self._counts[w] for w in words]}
        )

    @classmethod
    def load(cls, folder: str | Path) -> SpellCorrector:
        folder = Path(folder)
        meta = read_meta(folder, _KIND)
        stored = read_json(folder / "vocabulary.json")
        counts = dict(zip(stored["words"], (int(c) for c in stored["counts"]), strict=True))
        return cls(counts, SpellingParams(**{k: int(v) for k, v in meta["params"].items()}))
