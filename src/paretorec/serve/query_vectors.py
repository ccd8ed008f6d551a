"""`QueryVectors`: the query encoder behind a bounded cache, since shoppers repeat queries
(a popular query is encoded once, not on every request)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from numpy.typing import NDArray

from paretorec.encode import TextEncoder

__all__ = ["QueryVectors"]


class QueryVectors:
    """The encoder's vector of a query text, the `size` most recent ones kept."""

    def __init__(self, encoder: TextEncoder, *, size: int = 10_000) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self.encoder = encoder
        self.size = size
        self.hits = 0
        self.misses = 0
        self._kept: OrderedDict[str, NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, text: str) -> NDArray[np.float32]:
        with self._lock:
            vector = self._kept.get(text)
            if vector is not None:
                self._kept.move_to_end(text)
                self.hits += 1
                return vector
            self.misses += 1
        vector = np.asarray(self.encoder.encode_queries([text])[0], dtype=np.float32)
        vector.flags.writeable = False
        if self.size:
            with self._lock:
                self._kept[text] = vector
                if len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        return vector

    def __len__(self) -> int:
        return len(self._kept)
