"""`ItemTable`'s filter masks: cached per `Filters`, bounded, and safe to fill from the
service's concurrent readers (requests run `mask` under a shared read lock)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import numpy as np
import polars as pl
import pytest

from paretorec.retrieve.filters import Filters
from paretorec.retrieve.items import _CACHE_SIZE, ItemTable
from paretorec.types import Catalog


@pytest.fixture
def table() -> ItemTable:
    out = ItemTable()
    prices = [float(k) for k in range(40)]
    ids = [f"i{k}" for k in range(40)]
    out.add(Catalog(pl.DataFrame({"item_id": ids, "title": ids, "price": prices})))
    return out


@pytest.fixture
def eager_switching() -> Iterator[None]:
    """Threads switch every microsecond (CPython's default is 5 ms), so the window between
    the cache's size check and its eviction is hit within a second of requests."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def test_a_mask_is_cached_until_the_table_changes(table: ItemTable) -> None:
    cheap = Filters(max_price=2.0)
    first = table.mask(cheap)
    assert np.flatnonzero(first).tolist() == [0, 1, 2] and not first.flags.writeable
    assert table.mask(Filters(max_price=2.0)) is first
    table.remove(["i1"])
    assert np.flatnonzero(table.mask(cheap)).tolist() == [0, 2]


def test_the_cache_keeps_the_latest_masks(table: ItemTable) -> None:
    for price in range(_CACHE_SIZE + 3):
        table.mask(Filters(max_price=float(price)))
    assert len(table._masks) == _CACHE_SIZE
    kept = sorted(f.max_price for f in table._masks if f.max_price is not None)
    assert kept == [float(p) for p in range(3, _CACHE_SIZE + 3)]


@pytest.mark.usefixtures("eager_switching")
def test_concurrent_requests_fill_the_cache_without_errors(table: ItemTable) -> None:
    # Before the eviction took a lock, two threads could both pick the oldest key and the
    # second's pop raise KeyError, or one insert while another read the first key
    # ("dictionary changed size during iteration"): each of 5 runs of this failed.
    threads, rounds = 8, 20000
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def requests(seed: int) -> None:
        start.wait()
        try:
            for r in range(rounds):
                price = float((7 * r + seed) % 30)  # 30 filters through a 16-mask cache
                got = table.mask(Filters(max_price=price))
                assert int(got.sum()) == int(price) + 1
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    workers = [threading.Thread(target=requests, args=(s,)) for s in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(table._masks) <= _CACHE_SIZE


def test_the_table_pickles_without_its_lock_and_filters_as_before(table: ItemTable) -> None:
    # Ray ships indexes (inside a recommender) to its workers by pickling them
    import pickle

    cheap = Filters(max_price=2.0)
    table.mask(cheap)
    copy = pickle.loads(pickle.dumps(table))
    assert copy.ids == table.ids
    assert np.flatnonzero(copy.mask(cheap)).tolist() == [0, 1, 2]
    with copy._masks_lock:  # a working lock of its own
        pass
