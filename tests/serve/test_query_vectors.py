"""The query-vector cache: a repeated query skips the encoder; the cache stays bounded."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pytest

from paretorec.serve.query_vectors import QueryVectors
from tests.serve.conftest import HashingEncoder


class CountingEncoder(HashingEncoder):
    def __init__(self) -> None:
        self.calls = 0

    def encode_queries(self, texts: Iterable[str | bytes]) -> np.ndarray:
        self.calls += 1
        return super().encode_queries(texts)


def test_a_repeated_query_is_encoded_once_and_gets_the_same_vector() -> None:
    encoder = CountingEncoder()
    vectors = QueryVectors(encoder, size=2)
    first = vectors("cordless drill")
    again = vectors("cordless drill")
    assert encoder.calls == 1 and (vectors.hits, vectors.misses) == (1, 1)
    np.testing.assert_array_equal(first, encoder.encode_queries(["cordless drill"])[0])
    assert again is first and not again.flags.writeable  # shared: nobody may change it


def test_the_least_recently_used_query_leaves_first() -> None:
    encoder = CountingEncoder()
    vectors = QueryVectors(encoder, size=2)
    vectors("a")
    vectors("b")
    vectors("a")  # "b" is now the oldest
    vectors("c")
    assert len(vectors) == 2
    calls = encoder.calls
    vectors("a")
    assert encoder.calls == calls  # kept
    vectors("b")
    assert encoder.calls == calls + 1  # evicted, encoded again


def test_size_zero_keeps_nothing_and_a_negative_size_is_refused() -> None:
    encoder = CountingEncoder()
    vectors = QueryVectors(encoder, size=0)
    vectors("a")
    vectors("a")
    assert encoder.calls == 2 and len(vectors) == 0
    with pytest.raises(ValueError, match="size"):
        QueryVectors(encoder, size=-1)
