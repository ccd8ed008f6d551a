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

Abbreviations (`SpellingParams.abbreviations`, on by default): a word with no vowel
(``a e i o u``) after its first letter (``cbnt``, ``flr``, ``wht``, ``drll``, ``hvy``) is first
read as the consonant skeleton of a catalog word: the catalog words whose skeleton (first
letter, then the other letters without vowels, a letter that then follows itself kept once,
`skeleton`) is the word's own are its expansions (``cbnt`` → ``cabinet``, ``mlwk`` →
``milwaukee``). ``y`` is read as typed: a typed ``y`` is a consonant the expansion must have
(``hvy`` → ``heavy``, ``vnyl`` → ``vinyl``; ``pry``, ``syn``, ``cyst`` are the skeleton of no
catalog word and stay), while a typed word without one may have dropped it (``vnt`` →
``vanity``): a catalog word with a ``y`` is found under its skeleton with and without it. Among several, the one found in the most items together with the query's
other catalog words wins (on Home Depot ``dryer vnt hose`` → ``vent``, ``vnt mirror`` →
``vanity``), then the most frequent (``vnt`` alone → ``vanity``).
Such a word is expanded even when the catalog has it, as long as the expansion is at least
`abbreviation_ratio` times more frequent (``dr`` → ``door``: on Home Depot 12 titles have
``dr``, 3,413 ``door``); a word without an expansion goes on to the typo correction above.
A word that starts with a vowel is expanded only when the catalog does not have it and it
has 4 letters or more (``almnm`` → ``aluminum``): short vowel-initial words are mostly
acronyms and real words (``ess``, ``abs``, ``olly``), never their vowels dropped. A word
right after a number (``12 kwh``) is a unit's place and is never expanded. The
vocabulary alone decides: no list of abbreviations is involved, so a user's ``blk`` (the
skeleton of ``bulk``; ``black``'s is ``blck``) is read wrong. Prefixes (``galv`` →
``galvanized``) are not expanded: tried after the typo correction, as a last resort, they
did not help on Home Depot's valid queries (`benchmarks/bench_abbreviations.py`); the typo
correction already reaches ``elbo`` → ``elbow``.

Documents: the corrector counts each item's words under a document key (the item's
position in the index, `add_texts`); adding text under a key it holds replaces that
document, and `remove_documents` takes documents' words out of the counts, the vocabulary
and the postings the choice among expansions reads, so a catalog's changes leave the
corrector as one built from the catalog as it now is.

`normalize_units` first rewrites spelled-out quantities before a unit into numbers
(``half inch`` → ``1/2 in``, ``three quarter inch`` → ``3/4 in``); marks such as ``1/2"``
and ``1/2 in.`` are already read by `paretorec.retrieve.tokenize`.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from symspellpy import SymSpell, Verbosity

from paretorec.retrieve.stemming import stem_plural
from paretorec.retrieve.storage import (
    read_json,
    read_meta,
    read_npy,
    write_json,
    write_meta,
    write_npy,
)
from paretorec.retrieve.tokenize import STOP_WORDS, UNITS

__all__ = ["Correction", "SpellCorrector", "SpellingParams", "normalize_units", "skeleton"]

_KIND = "spelling"
_CHUNK_RE = re.compile(r"[^\W_]+(?:[-./'][^\W_]+)*")
_LETTERS_RE = re.compile(r"[^\W\d_]+")
_DIGIT_RE = re.compile(r"\d")
_PROTECTED = frozenset({*UNITS, "sq", "square", "cu", "cubic", *STOP_WORDS})
_VOWELS = frozenset("aeiou")  # y: see `skeleton`
_NUMBER_RE = re.compile(r"\d+(?:[-./]\d+)*")

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


def skeleton(word: str, *, keep_y: bool = False) -> str:
    """The consonant skeleton of a lower-case word: its first letter, then its other letters
    without vowels (``a e i o u``, and ``y`` unless `keep_y`) and with runs of one letter
    single (``cabinet`` → ``cbnt``, ``drill`` → ``drl``, ``vinyl`` → ``vnl``, or ``vnyl``
    keeping ``y``, ``oven`` → ``ovn``)."""
    if not word:
        raise ValueError("the skeleton of an empty word is undefined")
    drops = _VOWELS if keep_y else _VOWELS | {"y"}
    out = [word[0]]
    for c in word[1:]:
        if c not in drops and c != out[-1]:
            out.append(c)
    return "".join(out)


def _may_abbreviate(word: str) -> bool:
    """A word read as a skeleton: letters only, no vowel (``a e i o u``) after the first
    letter, and a skeleton of 2 letters or more (``ss`` would stand for every word of one
    consonant)."""
    return (
        word.isalpha()
        and word not in _PROTECTED
        and not any(c in _VOWELS for c in word[1:])
        and len(skeleton(word, keep_y=True)) >= 2
    )


@dataclass(frozen=True)
class SpellingParams:
    """How far a correction may reach (see the module docstring)."""

    max_distance: int = 2
    # words this long or longer may take `max_distance` edits, others 1 (6: chosen on Home
    # Depot's valid queries against 8, with distance 1 only, min_length 5, min_count 2)
    long_word: int = 6
    min_length: int = 4  # shorter words are never corrected
    min_count: int = 1  # a catalog word must occur this often to be a correction
    typos: bool = True  # correct misspelt words (off: only abbreviations, if on, change)
    # expand consonant skeletons (``cbnt`` → ``cabinet``) before correcting typos
    abbreviations: bool = True
    # a catalog word is read as a skeleton only when its expansion is this many times more
    # frequent (100, the most conservative of 10, 30, 100. On Home Depot's valid queries
    # bench_abbreviations' rule picks 10, by +0.0008 / +0.0025 NDCG@10 on its synthetic
    # abbreviated sets (0.2 / 0.4), 0.0001 below on clean ones; 10 also reads 175 catalog
    # words as abbreviations against 50, hd -> head, ml -> male, ltd -> latitude: kept at 100)
    abbreviation_ratio: int = 100

    def __post_init__(self) -> None:
        if self.max_distance not in (1, 2):
            raise ValueError(f"max_distance must be 1 or 2, got {self.max_distance}")
        if self.min_length < 2 or self.long_word < self.min_length:
            raise ValueError(
                f"need 2 <= min_length <= long_word, got {self.min_length} and {self.long_word}"
            )
        if self.min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {self.min_count}")
        if self.abbreviation_ratio < 1:
            raise ValueError(f"abbreviation_ratio must be >= 1, got {self.abbreviation_ratio}")

    def to_dict(self) -> dict[str, int | bool]:
        return {
            "max_distance": self.max_distance,
            "long_word": self.long_word,
            "min_length": self.min_length,
            "min_count": self.min_count,
            "typos": self.typos,
            "abbreviations": self.abbreviations,
            "abbreviation_ratio": self.abbreviation_ratio,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> SpellingParams:
        """The parameters `to_dict` wrote; a corrector saved before abbreviations existed
        loads with them off, so it corrects as it did."""
        ints = ("max_distance", "long_word", "min_length", "min_count", "abbreviation_ratio")
        unknown = set(raw) - {*ints, "typos", "abbreviations"}
        if unknown:
            raise ValueError(f"unknown spelling parameters: {sorted(unknown)}")
        values: dict[str, int] = {}
        for k in ints:
            if k in raw:
                value = raw[k]
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ValueError(f"spelling parameter {k} must be an integer, got {value!r}")
                values[k] = value
        typos, abbreviations = raw.get("typos", True), raw.get("abbreviations", False)
        for k, flag in (("typos", typos), ("abbreviations", abbreviations)):
            if not isinstance(flag, bool):
                raise ValueError(f"spelling parameter {k} must be true or false, got {flag!r}")
        assert isinstance(typos, bool) and isinstance(abbreviations, bool)
        return cls(**values, typos=typos, abbreviations=abbreviations)


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
        self._stems: Counter[str] = Counter()  # plural stem -> vocabulary words with it
        # skeleton -> the catalog words it abbreviates; word -> the documents that have it
        # (for choosing among several expansions by the query's other words)
        self._skeletons: dict[str, list[str]] = {}
        self._postings: dict[str, list[int]] = {}
        self._arrays: dict[str, NDArray[np.int64]] = {}  # the postings as arrays, cached
        # document key -> its words, each as often as it has it (to take it out again)
        self._documents_words: dict[int, tuple[str, ...]] = {}
        self._n_documents = 0  # one more than the highest document key
        self._symspell = SymSpell(
            max_dictionary_edit_distance=self.params.max_distance,
            count_threshold=self.params.min_count,
        )
        self.add_counts(counts)

    @classmethod
    def build(cls, texts: Iterable[str], params: SpellingParams | None = None) -> SpellCorrector:
        """A corrector whose vocabulary is the words of `texts` (an item's text each, under
        the document keys 0, 1, ...: the items' positions in an index built from them)."""
        corrector = cls({}, params)
        corrector.add_texts(texts)
        return corrector

    def add_counts(self, counts: Mapping[str, int]) -> None:
        """Count more words (new items' text): they are in the vocabulary at once."""
        for word, count in counts.items():
            if count < 1 or not word:
                raise ValueError(f"word counts must be >= 1 and words non-empty: {word!r}")
        for word, count in counts.items():
            if word not in self._counts:
                for key in _skeleton_keys(word):
                    self._skeletons.setdefault(key, []).append(word)
                self._stems[stem_plural(word)] += 1
            self._counts[word] += count
            self._symspell.create_dictionary_entry(word, count)

    def _uncount(self, counts: Mapping[str, int]) -> None:
        """Take words' counts back out; a word whose count reaches 0 leaves the vocabulary."""
        below = self._symspell.below_threshold_words
        for word, count in counts.items():
            left = self._counts[word] - count
            self._symspell.delete_dictionary_entry(word)
            below.pop(word, None)
            if left > 0:
                self._counts[word] = left
                self._symspell.create_dictionary_entry(word, left)
                continue
            del self._counts[word]
            stem = stem_plural(word)
            self._stems[stem] -= 1
            if self._stems[stem] <= 0:
                del self._stems[stem]
            for key in _skeleton_keys(word):
                same = self._skeletons[key]
                same.remove(word)
                if not same:
                    del self._skeletons[key]

    def add_texts(self, texts: Iterable[str], documents: Iterable[int] | None = None) -> None:
        """Count the words of more documents (an item's text each) under `documents`, their
        keys (the items' positions; by default the keys after the highest one held). Text
        under a key the corrector holds replaces that document's."""
        texts = list(texts)
        if documents is None:
            keys = list(range(self._n_documents, self._n_documents + len(texts)))
        else:
            keys = [int(d) for d in documents]
            if len(keys) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(keys)} document keys")
            if len(set(keys)) != len(keys) or any(k < 0 for k in keys):
                raise ValueError("document keys must be distinct and >= 0")
        self.remove_documents(k for k in keys if k in self._documents_words)
        for key, text in zip(keys, texts, strict=True):
            words = tuple(sys.intern(w) for w in _LETTERS_RE.findall(_clean(text)))
            self.add_counts(Counter(words))
            for word in set(words):
                self._postings.setdefault(word, []).append(key)
                self._arrays.pop(word, None)
            self._documents_words[key] = words
            self._n_documents = max(self._n_documents, key + 1)

    def remove_documents(self, documents: Iterable[int]) -> None:
        """Take documents' words out of the counts, the vocabulary and the postings (a key
        the corrector does not hold changes nothing: an item added before a corrector saved
        without documents)."""
        for key in documents:
            words = self._documents_words.pop(int(key), None)
            if words is None:
                continue
            self._uncount(Counter(words))
            for word in set(words):
                held = self._postings[word]
                held.remove(int(key))
                if not held:
                    del self._postings[word]
                self._arrays.pop(word, None)

    def __len__(self) -> int:
        return len(self._counts)

    def _documents(self, word: str) -> NDArray[np.int64]:
        found = self._arrays.get(word)
        if found is None:
            found = np.asarray(self._postings.get(word, ()), dtype=np.int64)
            self._arrays[word] = found
        return found

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self._counts

    # ------------------------------------------------------------ correcting

    def expand(self, word: str, context: Iterable[str] = ()) -> str | None:
        """The catalog word `word` abbreviates as a consonant skeleton, or None (see the
        module docstring); `context`: the query's other words, for choosing among several."""
        if not _may_abbreviate(word):
            return None
        count = self._counts.get(word, 0)
        if word[0] in _VOWELS and (count or len(word) < 4):
            return None  # an acronym or a real word (ess, abs, olly), not dropped vowels
        if count == 0 and stem_plural(word) in self._stems:
            return None  # the plural of a catalog word
        floor = max(count * self.params.abbreviation_ratio, self.params.min_count)
        # a typed y must be in the expansion (keep_y: the word's own skeleton as typed)
        typed = skeleton(word, keep_y=True)
        found = [w for w in self._skeletons.get(typed, ()) if self._counts[w] >= floor]
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        others = [
            o
            for o in dict.fromkeys(context)
            if o != word and o in self._postings and o not in _PROTECTED
        ]
        # per document, how many of the other words it has; a candidate's score is the sum
        # over its documents (= the sum of its co-occurrence counts with each other word)
        hits = np.zeros(self._n_documents, dtype=np.int32)
        for o in others:
            hits[self._documents(o)] += 1

        def together(candidate: str) -> int:
            return int(hits[self._documents(candidate)].sum())

        # most items shared with the query's other words, then most frequent, then a-z
        return min(found, key=lambda w: (-together(w), -self._counts[w], w))

    def correct_word(
        self, word: str, context: Iterable[str] = (), *, expand: bool | None = None
    ) -> str:
        """The catalog word `word` stands for: itself unless the rules above correct or
        expand it (`context`: the query's other words, see `expand`; `expand`: whether to
        try the expansion, default `params.abbreviations`)."""
        p = self.params
        if p.abbreviations if expand is None else expand:
            expanded = self.expand(word, context)
            if expanded is not None:
                return expanded
        if (
            not p.typos
            or len(word) < p.min_length
            or word in _PROTECTED
            or word in self._counts
            or stem_plural(word) in self._stems
            or not word.isalpha()
        ):
            return word
        reach = p.max_distance if len(word) >= p.long_word else 1
        found = self._symspell.lookup(word, Verbosity.CLOSEST, max_edit_distance=reach)
        return str(found[0].term) if found else word

    def has_documents(self) -> bool:
        """Whether the corrector holds documents (the postings that choose among an
        abbreviation's expansions): not one saved before abbreviations existed."""
        return bool(self._documents_words)

    def correct(self, query: str, *, abbreviations: bool | None = None) -> Correction:
        """The query with its misspelt and abbreviated words replaced, units canonical;
        ``changes`` lists the replaced words. Empty or punctuation-only queries come back
        unchanged. `abbreviations`: expand or not, whatever `params.abbreviations` says
        (what a model trained on this corrector's output with it on or off needs)."""
        expanding = self.params.abbreviations if abbreviations is None else abbreviations
        if not isinstance(query, str):
            raise ValueError(f"query must be str, got {type(query).__name__}")
        text = normalize_units(_clean(query))
        words = [
            run.group()
            for chunk in _CHUNK_RE.finditer(text)
            if not _DIGIT_RE.search(chunk.group())
            for run in _LETTERS_RE.finditer(chunk.group())
        ]
        context = [w for w in words if w in self._counts]
        changes: list[tuple[str, str]] = []
        pieces: list[str] = []
        last = 0
        number_end = -1  # where the last number chunk ended (12, 1/2, 1-1/2, 3.5)
        for chunk in _CHUNK_RE.finditer(text):
            if _DIGIT_RE.search(chunk.group()):
                if _NUMBER_RE.fullmatch(chunk.group()):
                    number_end = chunk.end()
                continue
            # a word right after a number, only spaces between, is a unit's place (12 kwh)
            unit_place = number_end >= 0 and not text[number_end : chunk.start()].strip()
            for n, run in enumerate(_LETTERS_RE.finditer(chunk.group())):
                word = run.group()
                expand = expanding and not (unit_place and n == 0)
                fixed = self.correct_word(word, context, expand=expand)
                if fixed != word:
                    start = chunk.start() + run.start()
                    pieces += [text[last:start], fixed]
                    last = start + len(word)
                    changes.append((word, fixed))
            number_end = -1
        pieces.append(text[last:])
        return Correction("".join(pieces), tuple(changes))

    # ------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        """The vocabulary and its counts as JSON, each word's documents and how often each
        has it as three arrays (the deletion index and the skeletons are rebuilt on load)."""
        folder = Path(folder)
        write_meta(
            folder, _KIND, {"params": self.params.to_dict(), "n_documents": self._n_documents}
        )
        words = sorted(self._counts)
        write_json(
            folder / "vocabulary.json", {"words": words, "counts": [self._counts[w] for w in words]}
        )
        lengths = [len(self._postings.get(w, ())) for w in words]
        offsets = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        documents = np.fromiter(
            (d for w in words for d in self._postings.get(w, ())), dtype=np.int32, count=offsets[-1]
        )
        per_document = {k: Counter(ws) for k, ws in self._documents_words.items()}
        times = np.fromiter(
            (per_document[d][w] for w in words for d in self._postings.get(w, ())),
            dtype=np.int32,
            count=offsets[-1],
        )
        write_npy(folder / "posting_offsets.npy", offsets)
        write_npy(folder / "posting_documents.npy", documents)
        write_npy(folder / "posting_counts.npy", times)

    @classmethod
    def load(cls, folder: str | Path) -> SpellCorrector:
        """A saved corrector; one saved before abbreviations (no document arrays) loads with
        them off and no documents, one saved without the words' counts per document takes
        each as once."""
        folder = Path(folder)
        meta = read_meta(folder, _KIND)
        stored = read_json(folder / "vocabulary.json")
        words = [str(w) for w in stored["words"]]
        counts = dict(zip(words, (int(c) for c in stored["counts"]), strict=True))
        corrector = cls(counts, SpellingParams.from_dict(meta["params"]))
        if (folder / "posting_offsets.npy").is_file():
            offsets = read_npy(folder / "posting_offsets.npy", np.int64, (len(words) + 1,))
            documents = read_npy(folder / "posting_documents.npy", np.int32, (None,))
            times = (
                read_npy(folder / "posting_counts.npy", np.int32, (len(documents),))
                if (folder / "posting_counts.npy").is_file()
                else np.ones(len(documents), dtype=np.int32)
            )
            n_documents = int(meta.get("n_documents", 0))
            if (
                offsets[0] != 0
                or np.any(np.diff(offsets) < 0)
                or offsets[-1] != len(documents)
                or (len(documents) and (documents.min() < 0 or documents.max() >= n_documents))
                or (len(times) and times.min() < 1)
            ):
                raise ValueError(f"{folder}: the posting arrays do not fit the vocabulary")
            by_document: dict[int, list[str]] = {}
            for n, word in enumerate(words):
                if offsets[n + 1] > offsets[n]:
                    held = documents[offsets[n] : offsets[n + 1]].tolist()
                    corrector._postings[word] = held
                    for d, t in zip(held, times[offsets[n] : offsets[n + 1]].tolist(), strict=True):
                        by_document.setdefault(d, []).extend([word] * t)
            corrector._documents_words = {d: tuple(ws) for d, ws in by_document.items()}
            corrector._n_documents = n_documents
        return corrector


def _expands_to(word: str) -> bool:
    """A catalog word that a skeleton may expand to: letters with a vowel after the first
    (a word that is a skeleton itself, ``pvc``, stands for nothing longer)."""
    return word.isalpha() and word not in _PROTECTED and any(c in _VOWELS for c in word[1:])


def _skeleton_keys(word: str) -> tuple[str, ...]:
    """The skeletons a catalog word is found under: none for a word that is no expansion,
    else its skeleton without ``y`` and, where it has a ``y`` after its first letter, with."""
    if not _expands_to(word):
        return ()
    plain, typed = skeleton(word), skeleton(word, keep_y=True)
    return (plain,) if plain == typed else (plain, typed)
