"""The feedback log: events appended to a CSV in the data contract's `events` columns.

``<folder>/events.csv`` has a header with every contract column and one row per event;
training reads it as a dataset's events table (put the catalog's ``items`` beside it, or
copy the file into a dataset folder). A batch is written with one ``write`` and made
durable with one ``fsync`` before `append` returns, so an acknowledged event is on disk.
A write cut short by a crash can leave a partial last row; opening the log cuts it off
(it was never acknowledged), so every row in the file is whole.

Any text the API accepts is written so that it reads back the same (Python's `csv` and
the data contract's reader): a field with a comma, a quote or any control character
(a carriage return, a newline, ...) is quoted, so a row ends only at a newline outside
quotes, and that is how the log finds its rows when it opens.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from paretorec.data.schema import EVENT_COLUMNS

__all__ = ["COLUMNS", "EVENTS_FILE", "EventLog", "LoggedEvent"]

EVENTS_FILE = "events.csv"
COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENT_COLUMNS)
_QUOTED = re.compile(r'[",\x00-\x1f\x7f-\x9f\u2028\u2029]')
_SCAN_BLOCK = 1 << 20


def _field(value: str) -> str:
    """One CSV field: quoted (quotes doubled) where a reader could split or alter it."""
    if _QUOTED.search(value) or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def _csv_line(fields: Sequence[str]) -> str:
    """One CSV row, newline-terminated, its fields quoted as `_field` says."""
    return ",".join(_field(f) for f in fields) + "\n"


def _scan_rows(path: Path) -> tuple[int, int]:
    """How many rows (lines ending at a newline outside quotes) the file holds, and the
    byte offset where the last of them ends."""
    rows = 0
    end = 0
    quoted = False
    offset = 0
    with path.open("rb") as handle:
        while block := handle.read(_SCAN_BLOCK):
            position = offset
            for n, part in enumerate(block.split(b'"')):
                if n:
                    quoted = not quoted
                    position += 1
                if not quoted:
                    newlines = part.count(b"\n")
                    if newlines:
                        rows += newlines
                        end = position + part.rfind(b"\n") + 1
                position += len(part)
            offset += len(block)
    return rows, end


@dataclass(frozen=True)
class LoggedEvent:
    """One event as it is written (timestamp in UTC)."""

    user_id: str
    item_id: str
    event: str
    timestamp: datetime
    session_id: str | None = None
    query_id: str | None = None
    position: int | None = None
    propensity: float | None = None
    propensity_given_above: float | None = None
    value: float | None = None
    split: str | None = None

    def row(self) -> list[str]:
        stamp = self.timestamp.astimezone(UTC).isoformat(timespec="microseconds")
        values: dict[str, object] = {
            "user_id": self.user_id,
            "item_id": self.item_id,
            "event": self.event,
            "timestamp": stamp,
            "session_id": self.session_id,
            "query_id": self.query_id,
            "position": self.position,
            "propensity": self.propensity,
            "propensity_given_above": self.propensity_given_above,
            "value": self.value,
            "split": self.split,
        }
        return ["" if values[c] is None else str(values[c]) for c in COLUMNS]


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EventLog:
    """Append-only, fsync'd events CSV (see the module docstring). Thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / EVENTS_FILE
        self._lock = threading.Lock()
        self.folder.mkdir(parents=True, exist_ok=True)
        header = ",".join(COLUMNS) + "\n"
        if not self.path.exists() or self.path.stat().st_size == 0:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, header.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            _fsync_dir(self.folder)
        else:
            self._check_header(header)
        self._rows = self._cut_partial_tail() - 1
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)

    def _check_header(self, header: str) -> None:
        with self.path.open(encoding="utf-8", newline="") as handle:
            first = handle.readline()
        if first != header:
            raise ValueError(
                f"{self.path} is not an events log of this format: its header is "
                f"{first.strip()!r}, expected {header.strip()!r}"
            )

    def _cut_partial_tail(self) -> int:
        """Cut off what follows the last whole row; how many rows (the header too) stay."""
        rows, end = _scan_rows(self.path)
        if end < self.path.stat().st_size:
            with self.path.open("rb+") as handle:
                handle.truncate(end)
                os.fsync(handle.fileno())
        return rows

    def __len__(self) -> int:
        return self._rows

    def append(self, events: Sequence[LoggedEvent]) -> int:
        """Write `events` and fsync; returns the number of events in the log after."""
        if not events:
            return self._rows
        data = "".join(_csv_line(event.row()) for event in events).encode("utf-8")
        with self._lock:
            if self._fd < 0:
                raise ValueError(f"{self.path}: the log is closed")
            before = os.fstat(self._fd).st_size
            try:
                written = 0
                while written < len(data):
                    written += os.write(self._fd, data[written:])
                os.fsync(self._fd)
            except OSError:
                os.ftruncate(self._fd, before)  # never leave half a batch behind
                raise
            self._rows += len(events)
            return self._rows

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
