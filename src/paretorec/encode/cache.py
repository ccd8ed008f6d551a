"""An on-disk embedding cache: each text is encoded once per model.

Layout: one folder per model under the cache folder, named after the model's `name`
(characters other than letters, digits, ``.``, ``_`` and ``-`` replaced, plus 10 hex
digits of the name's SHA-256, so distinct names never share a folder)::

    <cache_dir>/<model>-<hash>/
        meta.json      model name, dimension, dtype, key scheme (written once, atomically)
        vectors.f32    float32 rows, row-major, appended; read through a memory map
        keys.bin       16-byte BLAKE2b digests of each row's UTF-8 text, appended
        lock           advisory lock (fcntl.flock) taken by writers

A text's key is the BLAKE2b-128 digest of its UTF-8 bytes, so a changed title gets a new
key (and is encoded) while an unchanged one is found.  Row ``i`` of ``vectors.f32``
belongs to the ``i``-th key of ``keys.bin``.

Crash safety: an append writes and fsyncs the vectors first, then the keys; a row counts
only once its key is complete and its vector is there, i.e. the committed row count is
``min(size(keys.bin) // 16, size(vectors.f32) // (4 * dimension))``.  A write cut short
(a killed process, a full disk) leaves bytes past the committed rows that readers never
look at and the next writer truncates before it appends.  Writers of several processes
serialize on the lock file; readers take no lock.  Rows are never rewritten: a title
that changes adds a row, and the old one stays until the folder is deleted (delete it
to reclaim space; it is only a cache).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from paretorec.encode.base import Embeddings, TextEncoder, Texts, prepare_texts

CACHE_FORMAT = 1
KEY_BYTES = 16
DEFAULT_CACHE_BATCH = 1024
_META = "meta.json"
_VECTORS = "vectors.f32"
_KEYS = "keys.bin"
_LOCK = "lock"
_FLOAT_BYTES = 4


def text_key(text: str) -> bytes:
    """The cache key of a text: BLAKE2b-128 of its UTF-8 bytes."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_BYTES).digest()


def model_folder_name(model_name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("._")[:80] or "model"
    return f"{safe}-{hashlib.sha256(model_name.encode()).hexdigest()[:10]}"


class EmbeddingCache:
    """The cached vectors of one model (see the module docstring for the files)."""

    def __init__(self, cache_dir: str | Path, model_name: str, dimension: int) -> None:
        if dimension < 1:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.model_name = model_name
        self.dimension = dimension
        self.folder = Path(cache_dir) / model_folder_name(model_name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._row_bytes = dimension * _FLOAT_BYTES
        self._check_meta()
        for name in (_VECTORS, _KEYS):
            (self.folder / name).touch(exist_ok=True)
        self._rows: dict[bytes, int] = {}
        self._known = 0
        self._memmap: np.memmap[tuple[int, int], np.dtype[np.float32]] | None = None
        self.refresh()

    def _check_meta(self) -> None:
        meta = {
            "format": CACHE_FORMAT,
            "model": self.model_name,
            "dimension": self.dimension,
            "dtype": "float32",
            "key": "blake2b-128 of the UTF-8 text",
        }
        path = self.folder / _META
        if not path.exists():
            temporary = path.with_name(f".{_META}.{os.getpid()}.tmp")
            temporary.write_text(json.dumps(meta, indent=2) + "\n")
            temporary.replace(path)
            return
        found = json.loads(path.read_text())
        for field in ("format", "model", "dimension"):
            if found.get(field) != meta[field]:
                raise ValueError(
                    f"{path}: cache {field} is {found.get(field)!r}, expected {meta[field]!r} "
                    "(delete the folder to start afresh)"
                )

    def __len__(self) -> int:
        return self._known

    def _committed_rows(self) -> int:
        keys = (self.folder / _KEYS).stat().st_size // KEY_BYTES
        vectors = (self.folder / _VECTORS).stat().st_size // self._row_bytes
        return min(keys, vectors)

    def refresh(self) -> None:
        """Pick up rows appended since the last look (by this or another process)."""
        committed = self._committed_rows()
        if committed <= self._known:
            return
        with (self.folder / _KEYS).open("rb") as f:
            f.seek(self._known * KEY_BYTES)
            raw = f.read((committed - self._known) * KEY_BYTES)
        for offset in range(0, len(raw), KEY_BYTES):
            self._rows.setdefault(
                raw[offset : offset + KEY_BYTES], self._known + offset // KEY_BYTES
            )
        self._known = committed
        self._memmap = None

    def lookup(self, keys: Sequence[bytes]) -> NDArray[np.int64]:
        """The row of each key, -1 where it is not cached."""
        self.refresh()
        return np.array([self._rows.get(key, -1) for key in keys], dtype=np.int64)

    def vectors(self) -> np.memmap[tuple[int, int], np.dtype[np.float32]]:
        """All committed rows, memory-mapped read-only (shape (len(self), dimension))."""
        if self._known == 0:
            raise ValueError("the cache is empty")
        if self._memmap is None:
            self._memmap = np.memmap(
                self.folder / _VECTORS,
                dtype=np.float32,
                mode="r",
                shape=(self._known, self.dimension),
            )
        return self._memmap

    def get(self, rows: NDArray[np.int64]) -> Embeddings:
        """The vectors of `rows` (from `lookup`), copied out of the memory map."""
        if rows.size == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self.vectors()[rows], dtype=np.float32)

    def append(self, keys: Sequence[bytes], vectors: NDArray[np.float32]) -> None:
        """Add rows: vectors first (fsynced), then their keys (fsynced)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dimension):
            raise ValueError(
                f"vectors of shape {vectors.shape} for {len(keys)} keys of dimension "
                f"{self.dimension}"
            )
        if any(len(key) != KEY_BYTES for key in keys):
            raise ValueError(f"cache keys are {KEY_BYTES} bytes (use text_key)")
        if not keys:
            return
        with self._locked():
            committed = self._committed_rows()
            _append_synced(self.folder / _VECTORS, committed * self._row_bytes, vectors.tobytes())
            _append_synced(self.folder / _KEYS, committed * KEY_BYTES, b"".join(keys))
        self.refresh()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with (self.folder / _LOCK).open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _append_synced(path: Path, keep: int, data: bytes) -> None:
    """Cut `path` to its first `keep` bytes (dropping a torn earlier write), append
    `data` and fsync."""
    with path.open("r+b") as f:
        f.truncate(keep)
        f.seek(0, os.SEEK_END)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def encode_items_cached(
    encoder: TextEncoder,
    texts: Texts,
    cache_dir: str | Path,
    *,
    batch_size: int = DEFAULT_CACHE_BATCH,
    on_progress: Callable[[int], None] | None = None,
) -> Embeddings:
    """Item vectors of `texts` (``encoder.encode_items``), encoding only the texts not
    yet in the cache of `encoder.name` under `cache_dir`, `batch_size` distinct texts
    at a time; each batch is stored as soon as it is encoded, so an interrupted run
    keeps what it finished.

    `on_progress(n)` receives increments that add up to ``len(texts)``: first the texts
    found in the cache (one call, if any), then after each batch the texts it covered
    (a text that appears twice is encoded once and counted twice).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    prepared = prepare_texts(texts)
    cache = EmbeddingCache(cache_dir, encoder.name, encoder.dimension)
    keys = [text_key(text) for text in prepared]
    rows = cache.lookup(keys)
    out = np.empty((len(prepared), encoder.dimension), dtype=np.float32)
    hit = rows >= 0
    out[hit] = cache.get(rows[hit])
    if on_progress is not None and hit.any():
        on_progress(int(hit.sum()))

    positions: dict[bytes, list[int]] = {}
    for index in np.flatnonzero(~hit).tolist():
        positions.setdefault(keys[index], []).append(index)
    missing = list(positions)
    for start in range(0, len(missing), batch_size):
        batch = missing[start : start + batch_size]
        firsts = [positions[key][0] for key in batch]
        vectors = encoder.encode_items([prepared[i] for i in firsts])
        if vectors.shape != (len(batch), encoder.dimension):
            raise ValueError(
                f"{encoder.name} returned vectors of shape {vectors.shape} for {len(batch)} texts"
            )
        cache.append(batch, vectors)
        covered = 0
        for key, vector in zip(batch, vectors, strict=True):
            out[positions[key]] = vector
            covered += len(positions[key])
        if on_progress is not None:
            on_progress(covered)
    return out
