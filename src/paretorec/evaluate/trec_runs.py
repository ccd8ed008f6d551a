"""Ranked lists as TREC run files, so any judge (trec_eval, pytrec_eval, a script) can
score them with its own definitions.

One line per retrieved item: ``query_id Q0 item_id rank score method``, ranks 1..k in
the list's order. Judges such as trec_eval order a query's lines by score and break ties
their own way (by item id), and pytrec_eval compares scores in single precision (scores
within about 1e-7 of each other tie there), so the written scores are made clearly
decreasing: each is at most the one written above it minus ``max(|above| * 2^-20,
2^-100)``, which single precision still tells apart. Scores that already fall by more
are written as they are (all digits, ``repr``); tied or nearly tied ones are lowered a
little (by about 1e-6 of their size per place in the tie). A judge then reads back exactly
the order the list was evaluated in. A list without scores gets ``k + 1 - rank``.

Columns are separated by spaces, so an id or method with whitespace (or an empty one) is
refused with a ValueError that names it. An empty list writes no line: a judge that
averages over the queries of the run (pytrec_eval, trec_eval without ``-c``) skips it,
where paretorec's evaluation counts it as 0.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_DEPTH", "RankedList", "format_run", "run_file_name", "write_run"]

DEFAULT_DEPTH = 100
# the least fall between written scores: 8 single-precision steps, or a normal float near 0
_RELATIVE_GAP = 2.0**-20
_ABSOLUTE_GAP = 2.0**-100
_WHITESPACE = re.compile(r"\s")


def _check_token(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if _WHITESPACE.search(value):
        raise ValueError(
            f"{what} {value!r} holds whitespace: a TREC run file separates its columns by spaces"
        )


@dataclass(frozen=True)
class RankedList:
    """One query's (or user's) items, best first, with their scores (None: none given)."""

    query_id: str
    item_ids: Sequence[str]
    scores: Sequence[float] | None = None

    def __post_init__(self) -> None:
        if self.scores is not None and len(self.scores) != len(self.item_ids):
            raise ValueError(
                f"query {self.query_id!r}: {len(self.item_ids)} items but {len(self.scores)} scores"
            )


def _strictly_decreasing(scores: Sequence[float], query_id: str) -> list[float]:
    out: list[float] = []
    for rank, raw in enumerate(scores, start=1):
        score = float(raw)
        if not math.isfinite(score):
            raise ValueError(f"query {query_id!r}: the score at rank {rank} is {score}")
        if out:
            if score > float(scores[rank - 2]):
                raise ValueError(
                    f"query {query_id!r}: scores rise at rank {rank}: a list must be best first"
                )
            score = min(score, out[-1] - max(abs(out[-1]) * _RELATIVE_GAP, _ABSOLUTE_GAP))
        out.append(score)
    return out


def format_run(lists: Iterable[RankedList], *, method: str, depth: int = DEFAULT_DEPTH) -> str:
    """The run file's text: each list's first `depth` items, in the lists' order."""
    _check_token(method, "method")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an integer >= 1, got {depth!r}")
    lines: list[str] = []
    seen_queries: set[str] = set()
    for ranked in lists:
        _check_token(ranked.query_id, "query id")
        if ranked.query_id in seen_queries:
            raise ValueError(f"query {ranked.query_id!r} has two lists")
        seen_queries.add(ranked.query_id)
        items = list(ranked.item_ids[:depth])
        if ranked.scores is None:
            raw: Sequence[float] = [float(len(items) + 1 - r) for r in range(1, len(items) + 1)]
        else:
            raw = list(ranked.scores[:depth])
        scores = _strictly_decreasing(raw, ranked.query_id)
        seen_items: set[str] = set()
        for rank, (item, score) in enumerate(zip(items, scores, strict=True), start=1):
            _check_token(item, f"item id of query {ranked.query_id!r}")
            if item in seen_items:
                raise ValueError(f"query {ranked.query_id!r} lists item {item!r} twice")
            seen_items.add(item)
            lines.append(f"{ranked.query_id} Q0 {item} {rank} {score!r} {method}")
    return "".join(line + "\n" for line in lines)


def run_file_name(method: str) -> str:
    """``bm25.run`` for ``BM25``: the method in lower case, other characters than letters,
    digits, ``.``, ``_`` and ``-`` as ``-``."""
    _check_token(method, "method")
    return re.sub(r"[^a-z0-9._-]", "-", method.lower()) + ".run"


def write_run(
    folder: Path, lists: Iterable[RankedList], *, method: str, depth: int = DEFAULT_DEPTH
) -> Path:
    """Write `format_run` to ``folder / run_file_name(method)`` (folder made if needed)."""
    text = format_run(lists, method=method, depth=depth)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / run_file_name(method)
    path.write_text(text, encoding="utf-8")
    return path
