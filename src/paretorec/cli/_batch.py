"""Many requests from one loaded model: batch files and an interactive prompt.

A batch holds one request a line: plain text (a query), or a JSON object for more fields
(``{"query": "cordless drill", "k": 5}``). Blank lines and lines starting with ``#`` are
skipped. A whole file is read and checked before anything loads, so a typo on line 900
costs a second, not a model load.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

__all__ = [
    "MAX_K",
    "BatchQuery",
    "RecommendAsk",
    "is_terminal",
    "parse_batch",
    "parse_recommend_batch",
    "prompt_lines",
    "read_batch",
    "read_lines",
]

MAX_K = 1000


@dataclass(frozen=True)
class BatchQuery:
    """One search request of a batch: its text and list length."""

    text: str
    k: int


def _k(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_K:
        raise ValueError(f"{where}: k must be an integer from 1 to {MAX_K}, got {value!r}")
    return value


def _entries(
    lines: list[str], source: str, fields: tuple[str, ...]
) -> Iterator[tuple[str, str | dict[str, object]]]:
    """Each batch line that is not blank or a ``#`` comment, with where it is for errors
    (``queries.txt line 3``): a plain line as text, a JSON object (of `fields` only) as a
    dict."""
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source} line {number}"
        if not line.startswith("{"):
            yield where, line
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"{where}: a JSON line must be an object")
        unknown = sorted(set(record) - set(fields))
        if unknown:
            raise ValueError(
                f"{where}: unknown field(s) {', '.join(unknown)} (expected {', '.join(fields)})"
            )
        yield where, record


def parse_batch(lines: list[str], *, default_k: int, source: str) -> list[BatchQuery]:
    """The queries of a batch's lines (see the module docstring); `source` names the file
    in errors (``queries.txt line 3: ...``)."""
    out: list[BatchQuery] = []
    for where, record in _entries(lines, source, ("query", "k")):
        if isinstance(record, str):
            out.append(BatchQuery(record, default_k))
            continue
        text = record.get("query")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f'{where}: "query" must be a non-empty string')
        out.append(BatchQuery(text.strip(), _k(record.get("k", default_k), where)))
    return out


@dataclass(frozen=True)
class RecommendAsk:
    """One recommendation request of a batch: a user and/or session items, and k."""

    user: str | None
    session: tuple[str, ...]
    k: int


def parse_recommend_batch(lines: list[str], *, default_k: int, source: str) -> list[RecommendAsk]:
    """Recommendation requests: a plain line is a user id; a JSON object names ``user``,
    ``session`` (a list of item ids) and ``k``, all optional but one of the first two."""
    out: list[RecommendAsk] = []
    for where, record in _entries(lines, source, ("user", "session", "k")):
        if isinstance(record, str):
            out.append(RecommendAsk(record, (), default_k))
            continue
        user = record.get("user")
        session = record.get("session", [])
        if user is not None and (not isinstance(user, str) or not user.strip()):
            raise ValueError(f'{where}: "user" must be a non-empty string')
        if not isinstance(session, list) or not all(isinstance(i, str) for i in session):
            raise ValueError(f'{where}: "session" must be a list of item ids')
        if user is None and not session:
            raise ValueError(f'{where}: give "user", "session" or both')
        k = _k(record.get("k", default_k), where)
        out.append(RecommendAsk(user.strip() if user else None, tuple(session), k))
    return out


def read_lines(path: Path, *, stdin: TextIO | None = None) -> tuple[list[str], str]:
    """A batch file's lines and its name for errors (``-``: standard input)."""
    if str(path) == "-":
        stream = stdin if stdin is not None else sys.stdin
        return stream.read().splitlines(), "stdin"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such batch file")
    return path.read_text(encoding="utf-8").splitlines(), str(path)


def read_batch(path: Path, *, default_k: int, stdin: TextIO | None = None) -> list[BatchQuery]:
    """The queries of a batch file (``-``: standard input)."""
    lines, source = read_lines(path, stdin=stdin)
    return parse_batch(lines, default_k=default_k, source=source)


def is_terminal() -> bool:
    """Whether a person types at standard input (the interactive prompt's condition)."""
    return sys.stdin.isatty()


def prompt_lines(ask: Callable[[], str]) -> Iterator[str]:
    """What a person types at the prompt, line by line, until an empty line, ``quit`` or
    end of input (Ctrl-D)."""
    while True:
        try:
            line = ask().strip()
        except (EOFError, KeyboardInterrupt):
            return
        if not line or line.lower() in ("quit", "exit"):
            return
        yield line
