"""Search stress scenarios: typos and abbreviations in queries, title stuffing, and missing
or wrong item attributes.

Every transformation is pure and seeded, and touches exactly ``round(strength * n)`` of
the `n` eligible units (query terms, items), half rounding up, chosen without replacement
by ``numpy.random.default_rng(seed)``.  Ids, judgments, events and users are never changed:
only query texts (typos, abbreviations) or item columns (stuffing, attributes).

- ``typos``: a touched query term (whitespace-separated, with at least one letter) gets one
  character edit on a letter: drop, swap with its neighbour, substitute, or insert.
- ``abbreviations``: a touched term is abbreviated: unit words by their short form
  (``inch`` → ``in``, ``gallons`` → ``gal``), other words of 4+ letters lose their vowels
  after the first letter (``cabinet`` → ``cbnt``).  Eligible terms are those that change.
- ``stuffing``: a touched item's title gets appended the `STUFF_WORDS` words shoppers most
  often search together with its own title words (what a seller reads off a search-term
  report), each repeated `STUFF_REPEATS` times; the most searched words overall fill in
  for a title that shares no searched word.
- ``missing-attributes``: a touched item loses its price, category and brand (null).
- ``wrong-attributes``: the touched items' price, category and brand are rotated among
  them (each takes the next touched item's values, in a seeded order).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import numpy as np
import polars as pl

from paretorec.robustness.scenarios import Scenario, Target, register
from paretorec.types import Catalog, Dataset, Queries

__all__ = [
    "ABBREVIATIONS",
    "ATTRIBUTES",
    "SEARCH_SCENARIOS",
    "abbreviate",
    "edit_term",
    "popular_query_words",
    "touched_count",
]

ATTRIBUTES = ("price", "category", "brand")
STUFF_WORDS = 3
STUFF_REPEATS = 4
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_VOWELS = frozenset("aeiou")
_WORD = re.compile(r"[a-z]+")
_STUFF_STOP = frozenset({"and", "for", "the", "with", "inch", "feet", "foot"})

ABBREVIATIONS: dict[str, str] = {
    **dict.fromkeys(("inch", "inches"), "in"),
    **dict.fromkeys(("foot", "feet"), "ft"),
    **dict.fromkeys(("pound", "pounds"), "lb"),
    **dict.fromkeys(("gallon", "gallons"), "gal"),
    **dict.fromkeys(("ounce", "ounces"), "oz"),
    **dict.fromkeys(("quart", "quarts"), "qt"),
    **dict.fromkeys(("volt", "volts"), "v"),
    **dict.fromkeys(("watt", "watts"), "w"),
    "square": "sq",
    "cubic": "cu",
    "stainless": "ss",
    "package": "pk",
    "pack": "pk",
}


def touched_count(n: int, strength: float) -> int:
    """How many of `n` units a share `strength` touches: round half up, never above `n`."""
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength is a share and must lie in [0, 1], got {strength}")
    return min(n, int(np.floor(strength * n + 0.5)))


def _choose(n: int, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of the `touched_count(n, strength)` units chosen."""
    k = touched_count(n, strength)
    return np.sort(rng.choice(n, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)


def edit_term(term: str, rng: np.random.Generator) -> str:
    """One seeded character edit on a letter of `term`; the result always differs."""
    letters = [i for i, c in enumerate(term) if c.isalpha()]
    if not letters:
        raise ValueError(f"term {term!r} has no letter to edit")
    kinds = ["substitute", "insert"]
    if len(term) > 1:
        kinds.append("drop")
    swaps = [i for i in letters if i + 1 < len(term) and term[i] != term[i + 1]]
    if swaps:
        kinds.append("swap")
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "swap":
        i = swaps[int(rng.integers(len(swaps)))]
        return term[:i] + term[i + 1] + term[i] + term[i + 2 :]
    i = letters[int(rng.integers(len(letters)))]
    if kind == "drop":
        return term[:i] + term[i + 1 :]
    if kind == "insert":
        return term[:i] + _LETTERS[int(rng.integers(26))] + term[i:]
    old = term[i].lower()
    choices = [c for c in _LETTERS if c != old]
    return term[:i] + choices[int(rng.integers(len(choices)))] + term[i + 1 :]


def abbreviate(term: str) -> str | None:
    """The abbreviation of `term`, or None where it has none (or it would not change)."""
    stripped = term.rstrip(".,;:")
    tail = term[len(stripped) :]
    known = ABBREVIATIONS.get(stripped.lower())
    if known is not None:
        return known + tail
    if len(stripped) < 4 or not stripped.isalpha():
        return None
    short = stripped[0] + "".join(c for c in stripped[1:] if c.lower() not in _VOWELS)
    return short + tail if short != stripped else None


def _edit_queries(
    dataset: Dataset,
    strength: float,
    seed: int,
    edit: Callable[[str, np.random.Generator], str | None],
) -> Dataset:
    """Touch exactly round(strength * n) of the n terms `edit` changes, over all queries."""
    if dataset.queries is None:
        raise ValueError("this scenario edits queries, and the dataset has no queries table")
    rng = np.random.default_rng(seed)
    frame = dataset.queries.frame
    terms = [str(t).split(" ") for t in frame["text"].to_list()]
    # eligibility is decided by a throwaway generator, so it cannot shift the seeded choice
    probe = np.random.default_rng(0)
    eligible = [
        (q, j)
        for q, row in enumerate(terms)
        for j, t in enumerate(row)
        if edit(t, probe) is not None
    ]
    for index in _choose(len(eligible), strength, rng).tolist():
        q, j = eligible[index]
        changed = edit(terms[q][j], rng)
        assert changed is not None and changed != terms[q][j]
        terms[q][j] = changed
    texts = pl.Series("text", [" ".join(row) for row in terms], dtype=pl.String)
    queries = Queries(frame.with_columns(texts))
    return _replace(dataset, queries=queries)


def _typo(term: str, rng: np.random.Generator) -> str | None:
    return edit_term(term, rng) if any(c.isalpha() for c in term) else None


def _abbreviation(term: str, rng: np.random.Generator) -> str | None:
    return abbreviate(term)


def typos(dataset: Dataset, strength: float, seed: int) -> Dataset:
    return _edit_queries(dataset, strength, seed, _typo)


def abbreviations(dataset: Dataset, strength: float, seed: int) -> Dataset:
    return _edit_queries(dataset, strength, seed, _abbreviation)


def _query_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STUFF_STOP}


class _SearchTrends:
    """What a seller learns from search-term reports: which words shoppers type together
    with the words of its own title."""

    def __init__(self, queries: Queries) -> None:
        self.words = [_query_words(str(t)) for t in queries.frame["text"].to_list()]
        self.by_word: dict[str, list[int]] = {}
        for q, words in enumerate(self.words):
            for w in words:
                self.by_word.setdefault(w, []).append(q)

    def stuffing_words(self, title: str, n: int) -> list[str]:
        """The `n` words most often searched beside `title`'s words, not already in it
        (ties by the word, so the list is fixed for the same queries)."""
        own = set(_WORD.findall(title.lower()))
        counts: Counter[str] = Counter()
        for w in own:
            for q in self.by_word.get(w, ()):
                counts.update(self.words[q] - own)
        return [w for w, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:n]]


def popular_query_words(queries: Queries, n: int) -> list[str]:
    """The `n` most frequent lower-case words (3+ letters, not filler) of the query texts;
    ties by the word, so the list is the same for the same queries."""
    counts: Counter[str] = Counter()
    for text in queries.frame["text"].to_list():
        counts.update(_query_words(str(text)))
    return [w for w, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:n]]


def stuffing(dataset: Dataset, strength: float, seed: int) -> Dataset:
    if dataset.queries is None:
        raise ValueError(
            "stuffing draws the searched words from the queries table, which is missing"
        )
    rng = np.random.default_rng(seed)
    trends = _SearchTrends(dataset.queries)
    popular = popular_query_words(dataset.queries, STUFF_WORDS)
    frame = dataset.items.frame
    titles = [str(t) for t in frame["title"].to_list()]
    for row in _choose(len(titles), strength, rng).tolist():
        words = trends.stuffing_words(titles[row], STUFF_WORDS)
        # a title that shares no searched word falls back on the most searched words
        words += [w for w in popular if w not in words][: STUFF_WORDS - len(words)]
        titles[row] = titles[row] + " " + " ".join(w for w in words for _ in range(STUFF_REPEATS))
    items = Catalog(frame.with_columns(pl.Series("title", titles, dtype=pl.String)))
    return _replace(dataset, items=items)


def _attribute_columns(catalog: Catalog) -> list[str]:
    present = [c for c in ATTRIBUTES if c in catalog.frame.columns]
    if not present:
        raise ValueError(f"the catalog has none of the attributes {', '.join(ATTRIBUTES)}")
    return present


def missing_attributes(dataset: Dataset, strength: float, seed: int) -> Dataset:
    columns = _attribute_columns(dataset.items)
    frame = dataset.items.frame
    chosen = np.zeros(frame.height, dtype=bool)
    chosen[_choose(frame.height, strength, np.random.default_rng(seed))] = True
    mask = pl.Series("chosen", chosen)
    blanked = frame.with_columns(
        pl.when(mask).then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )
    return _replace(dataset, items=Catalog(blanked))


def wrong_attributes(dataset: Dataset, strength: float, seed: int) -> Dataset:
    columns = _attribute_columns(dataset.items)
    frame = dataset.items.frame
    rng = np.random.default_rng(seed)
    rows = _choose(frame.height, strength, rng)
    if len(rows) < 2:
        return dataset  # one touched item has no other item to swap with
    order = rows[rng.permutation(len(rows))]
    source = np.arange(frame.height)
    source[order] = np.roll(order, -1)  # each touched item takes the next one's values
    taken = frame.select(columns)[source]
    return _replace(dataset, items=Catalog(frame.with_columns(taken)))


def _replace(
    dataset: Dataset, *, items: Catalog | None = None, queries: Queries | None = None
) -> Dataset:
    return Dataset(
        items=items if items is not None else dataset.items,
        users=dataset.users,
        queries=queries if queries is not None else dataset.queries,
        judgments=dataset.judgments,
        events=dataset.events,
        name=dataset.name,
    )


SEARCH_SCENARIOS: tuple[Scenario, ...] = tuple(
    register(s)
    for s in (
        Scenario(
            "typos",
            "a share of query terms get one character edit (drop, swap, substitute, insert)",
            Target.SEARCH,
            (0.0, 0.1, 0.2, 0.4),
            typos,
        ),
        Scenario(
            "abbreviations",
            "a share of abbreviable query terms are abbreviated (inch -> in, cabinet -> cbnt)",
            Target.SEARCH,
            (0.0, 0.1, 0.2, 0.4),
            abbreviations,
        ),
        Scenario(
            "stuffing",
            f"a share of items get the {STUFF_WORDS} words most searched beside their title's, "
            f"x{STUFF_REPEATS}, appended to the title",
            Target.SEARCH,
            (0.0, 0.05, 0.1, 0.2),
            stuffing,
        ),
        Scenario(
            "missing-attributes",
            "a share of items lose price, category and brand",
            Target.SEARCH,
            (0.0, 0.1, 0.2, 0.4),
            missing_attributes,
        ),
        Scenario(
            "wrong-attributes",
            "a share of items have price, category and brand rotated among them",
            Target.SEARCH,
            (0.0, 0.1, 0.2, 0.4),
            wrong_attributes,
        ),
    )
)
