"""The catalog-change journal: acknowledged item changes survive a restart.

Every ``PUT /items`` and ``DELETE /items/{id}`` is appended to
``<folder>/catalog_changes.jsonl`` (one JSON object a line, fsync'd before the answer)
and replayed, in order, when the service starts or swaps its index, so the served
catalog is the index version plus every change acknowledged since. A partial last line
(a crash mid-write, never acknowledged) is cut off on open, as in the events log.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["CHANGES_FILE", "CatalogChange", "ChangeJournal"]

CHANGES_FILE = "catalog_changes.jsonl"


@dataclass(frozen=True)
class CatalogChange:
    """Items put (records in the contract's columns) or one item removed."""

    put: tuple[dict[str, Any], ...] = ()
    removed: str | None = None

    def to_json(self) -> str:
        if self.removed is not None:
            return json.dumps({"op": "delete", "item_id": self.removed})
        items = [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in item.items()}
            for item in self.put
        ]
        return json.dumps({"op": "put", "items": items}, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> CatalogChange:
        raw = json.loads(line)
        if raw["op"] == "delete":
            return cls(removed=str(raw["item_id"]))
        items = []
        for item in raw["items"]:
            created = item.get("created_at")
            if isinstance(created, str):
                item = {**item, "created_at": datetime.fromisoformat(created)}
            items.append(item)
        return cls(put=tuple(items))


class ChangeJournal:
    """Append-only, fsync'd JSON lines of catalog changes. Thread-safe."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / CHANGES_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        if self.path.exists():
            self._cut_partial_tail()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _cut_partial_tail(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("rb+") as handle:
                handle.truncate(data.rfind(b"\n") + 1)
                os.fsync(handle.fileno())

    def replay(self) -> Iterator[CatalogChange]:
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield CatalogChange.from_json(line)
                    except (ValueError, KeyError, TypeError) as error:
                        raise ValueError(
                            f"{self.path} line {number}: unreadable ({error})"
                        ) from error

    def append(self, changes: Sequence[CatalogChange]) -> None:
        data = "".join(change.to_json() + "\n" for change in changes).encode("utf-8")
        with self._lock:
            before = os.fstat(self._fd).st_size
            try:
                written = 0
                while written < len(data):
                    written += os.write(self._fd, data[written:])
                os.fsync(self._fd)
            except OSError:
                os.ftruncate(self._fd, before)
                raise

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
