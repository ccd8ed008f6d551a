"""What a catalog change costs the served second stage, Home Depot (54,667 items): its item
side updated in place (`ItemSide.update` / `remove`, what `ServingPipeline.upsert_items` and
`remove_item` run) against rebuilding it over the whole catalog (`ItemSide.build`), and a
check that the updated item side is the one a rebuild gives.

Takes the models folder bench_served_second_stage.py takes (`paretorec serve build-index
--data homedepot --second-stage --no-onnx`). Changes go through `ServingPipeline` with a
stand-in encoder that returns seeded random unit vectors (the item encoder's cost is the
same with or without a second stage, so it is left out): single new items, single updates
of catalog items, batches of 100 of each, single removals. Each change is timed whole and
in its item-side part. Medians over the repeats; one thread, on the shared 2-core machine,
so read the ratios more than the milliseconds.

    .venv/bin/python benchmarks/bench_second_stage_changes.py --models DIR
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import polars as pl

from bench_served_second_stage_filters import markdown_table
from paretorec.retrieve.second_stage_features import ItemSide
from paretorec.serve import ModelRegistry
from paretorec.serve.loading import LoadOptions, load_pipeline
from paretorec.serve.pipeline import SearchQuery
from paretorec.types import Catalog

RESULTS = Path(__file__).resolve().parent / "results"


class RandomEncoder:
    """Seeded random unit vectors of the index's dimension (the cost under test is not the
    encoder's)."""

    name = "random"

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.rng = np.random.default_rng(0)

    def encode_items(self, texts: Iterable[str | bytes]) -> np.ndarray:
        n = len(list(texts))
        vectors = self.rng.normal(size=(n, self.dimension)).astype(np.float32)
        unit: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return unit

    encode_queries = encode_items


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    started = time.perf_counter()
    encoder = RandomEncoder(0)
    pipeline = load_pipeline(ModelRegistry(args.models), LoadOptions(encoder=encoder))
    second = pipeline.second_stage
    if second is None:
        raise SystemExit(f"{args.models}: the index version has no second stage")
    n_items = len(second.search.side)
    encoder.dimension = second.search.side.vectors.shape[1]

    # the item side's share of each change: its two entry points, timed
    spent: list[float] = []

    def timed(method: Callable[..., None]) -> Callable[..., None]:
        def run(*a: object) -> None:
            start = time.perf_counter()
            method(*a)
            spent.append(time.perf_counter() - start)

        return run

    second.items_upserted = timed(second.items_upserted)  # type: ignore[method-assign]
    second.items_removed = timed(second.items_removed)  # type: ignore[method-assign]
    catalog_ids = list(pipeline.store.column("item_id"))[:n_items]
    rng = np.random.default_rng(1)
    picked = iter(rng.permutation(n_items).tolist())
    serial = iter(range(10**9))

    def items(n: int, new: bool) -> Catalog:
        ids = (
            [f"new-{next(serial)}" for _ in range(n)]
            if new
            else [catalog_ids[next(picked)] for _ in range(n)]
        )
        titles = [f"zzq{next(serial)} cordless drill 18-volt kit" for _ in range(n)]
        return Catalog(pl.DataFrame({"item_id": ids, "title": titles}))

    rows: list[dict[str, object]] = []

    def measure(label: str, change: Callable[[], None], repeats: int) -> None:
        whole, side = [], []
        for _ in range(repeats):
            spent.clear()
            start = time.perf_counter()
            change()
            whole.append(time.perf_counter() - start)
            side.append(sum(spent))
        rows.append(
            {
                "change": label,
                "repeats": repeats,
                "whole change (ms)": 1000 * statistics.median(whole),
                "item side (ms)": 1000 * statistics.median(side),
                "item side, slowest (ms)": 1000 * max(side),
            }
        )

    def upsert(n: int, new: bool) -> Callable[[], None]:
        def change() -> None:
            pipeline.upsert_items(items(n, new))

        return change

    removable = iter(rng.permutation(n_items).tolist()[-args.repeats :])
    measure("1 new item", upsert(1, True), args.repeats)
    measure("1 updated item", upsert(1, False), args.repeats)
    measure("100 new items", upsert(100, True), 5)
    measure("100 updated items", upsert(100, False), 5)
    measure(
        "1 removed item", lambda: pipeline.remove_item(catalog_ids[next(removable)]), args.repeats
    )
    assert second.active, second.describe()

    # an upserted item is found by its new text, and re-ranked by the second stage
    probe_item = items(1, True)
    pipeline.upsert_items(probe_item)
    title = str(probe_item.frame["title"][0])
    found = [i.item_id for i in pipeline.search(SearchQuery(text=title.split()[0], k=5)).items]
    assert found[:1] == [str(probe_item.frame["item_id"][0])], found

    # the rebuild it replaces, over the current catalog, and the same arrays
    side = second.search.side
    positions = second.retriever.lexical.positions
    live = [i for i in second.retriever.lexical.item_ids if i in pipeline.store]
    catalog = pipeline.store.catalog(live)
    vectors = pipeline.store.vectors(live)
    builds = []
    for _ in range(3):
        start = time.perf_counter()
        fresh = ItemSide.build(catalog, vectors)
        builds.append(time.perf_counter() - start)
    at = positions(live).tolist()
    compared = _compare(side, fresh, at)
    rebuild = statistics.median(builds)
    # once the spare eighth of rows is used up, an append copies every vector into a buffer
    # an eighth larger (`_Changes.grown`): that copy, alone
    copies = []
    for _ in range(3):
        start = time.perf_counter()
        n, d = side.vectors.shape
        buffer = np.empty((n + n // 8 + 1, d), np.float32)
        buffer[:n] = side.vectors
        copies.append(time.perf_counter() - start)
    del buffer
    rows.append(
        {
            "change": "the vector buffer growing (once per eighth of the catalog added)",
            "repeats": 3,
            "whole change (ms)": "",
            "item side (ms)": 1000 * statistics.median(copies),
            "item side, slowest (ms)": 1000 * max(copies),
        }
    )
    minutes = (time.perf_counter() - started) / 60

    lines = [
        "## The served second stage under catalog changes (Home Depot)",
        "",
        f"Command: `python benchmarks/bench_second_stage_changes.py --models DIR --repeats {args.repeats}` "
        f"({minutes:.1f} min), DIR as for the served second stage above. Changes through "
        "`ServingPipeline.upsert_items` / `remove_item` with a stand-in encoder (random vectors: the "
        "encoder costs the same with or without a second stage); medians, one thread, shared machine. "
        f"The item side ({n_items:,} items at load) is updated in place; rebuilding it over the "
        f"current catalog ({len(live):,} live items) takes {rebuild:.2f} s "
        f"(median of 3: {', '.join(f'{b:.2f}' for b in builds)} s).",
        "",
        *markdown_table(rows, digits=2),
        "",
        "After every change above, the updated item side equals the rebuilt one (asserted): the "
        "same item tokens and vectors for each live item, the same idf for each of "
        f"{len(fresh.idf):,} tokens and the same idf for an unseen token; "
        + "; ".join(f"{name}: {how}" for name, how in compared.items())
        + ". The second stage stayed on, and a new item is found by the word only its new "
        "text holds.",
        "",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "second_stage_changes.md").write_text("\n".join(lines))
    (RESULTS / "second_stage_changes.json").write_text(
        json.dumps(
            {
                "changes": rows,
                "rebuild_seconds": builds,
                "buffer_growth_seconds": copies,
                "live_items": len(live),
                "same_as_rebuilt": True,
                "compared": {"items": "same", "vectors": "same", "idf": "same", **compared},
                "minutes": minutes,
            },
            indent=2,
        )
    )
    print("\n".join(lines))


def _compare(side: ItemSide, fresh: ItemSide, at: list[int]) -> dict[str, str]:
    """Assert the updated item side's arrays at the live items' positions `at` equal the
    rebuilt one's (row r: the live item at position at[r]); how each optional array was
    compared (absent on both sides where the catalog lacks its column)."""
    assert all(side.items[p] == fresh.items[r] for r, p in enumerate(at)), "item tokens"
    assert np.allclose(side.vectors[at], fresh.vectors, atol=1e-6), "vectors"
    assert side.idf.keys() == fresh.idf.keys(), "idf vocabulary"
    assert all(abs(side.idf[t] - fresh.idf[t]) < 1e-9 for t in fresh.idf), "idf"
    assert abs(side.default_idf - fresh.default_idf) < 1e-9, "unseen token's idf"
    how: dict[str, str] = {}
    for name, mine, theirs in (
        ("brands", side.brands, fresh.brands),
        ("descriptions", side.descriptions, fresh.descriptions),
    ):
        assert (mine is None) == (theirs is None), name
        how[name] = "absent on both" if mine is None else "the same token sets"
        if mine is not None:
            assert [mine[p] for p in at] == theirs, name
    assert (side.categories is None) == (fresh.categories is None), "categories"
    how["categories"] = "absent on both"
    if side.categories is not None and fresh.categories is not None:
        # codes differ (new paths are numbered past the old): the same grouping, the same
        # uncategorised items
        mine_codes, theirs_codes = side.categories[at], fresh.categories
        assert np.array_equal(mine_codes < 0, theirs_codes < 0), "uncategorised items"
        pairs = set(zip(mine_codes.tolist(), theirs_codes.tolist(), strict=True))
        assert len(pairs) == len(set(mine_codes.tolist())) == len(set(theirs_codes.tolist()))
        how["categories"] = "the same grouping of items"
    assert (side.popularity is None) == (fresh.popularity is None), "popularity"
    how["popularity"] = "absent on both"
    if side.popularity is not None and fresh.popularity is not None:
        assert np.allclose(side.popularity[at], fresh.popularity), "popularity"
        how["popularity"] = "the same"
    return how


if __name__ == "__main__":
    main()
