"""`LexicalIndex`: BM25 over product text, with filters and changes served at once.

Each item's text is its `fields` (default title, brand and category, those the catalog has),
tokenized by `tokenize_product_text`. The main part is a bm25s index built in one go; items
added or changed later go into a small delta part scored beside it (see `paretorec.retrieve.bm25`
for the formula and the statistics each part uses) and an item's old document is masked, so
a change is searchable at once. `compact()` rebuilds the main part from every current
document; it also happens by itself once the delta holds `max_delta` documents.

Searching: an empty or blank query raises ValueError; a query whose tokens are all stop
words, or that shares no token with any item, returns no candidates. Only items that share
at least one token with the query are returned, so there may be fewer than `k`.

Measured on 2 CPU cores with the 54,667 Home Depot titles: building takes 3.0 s (1.9 s of it
tokenizing), a query 0.26 ms at the median and 0.6 ms at p99 (k=100), 0.5 / 0.8 ms with
3,000 items in the delta (adding one item: 0.2 ms); NDCG@10 over the 8,226 judged queries
is 0.384, against 0.334 with plain lower-case word tokens.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from paretorec.encode.item_text import item_text
from paretorec.retrieve.bm25 import Bm25Params, DeltaBM25, MainBM25
from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.filters import Filters
from paretorec.retrieve.items import ItemTable
from paretorec.retrieve.slots import DocSlots, SlottedIndex
from paretorec.retrieve.storage import (
    read_json,
    read_meta,
    read_npy,
    write_json,
    write_meta,
    write_npy,
)
from paretorec.retrieve.stuffing import StuffingGuard
from paretorec.retrieve.tokenize import TOKENIZER_VERSION, tokenize_product_text
from paretorec.retrieve.topk import check_k, select_top_k, to_candidates
from paretorec.types import Catalog

__all__ = ["DEFAULT_FIELDS", "DEFAULT_MAX_DELTA", "LexicalIndex", "item_texts"]

DEFAULT_FIELDS = ("title", "brand", "category")
DEFAULT_MAX_DELTA = 10_000
COMPONENT = "lexical"
_KIND = "lexical"


def item_texts(catalog: Catalog, fields: Sequence[str] = DEFAULT_FIELDS) -> list[str]:
    """Each item's searchable text: `paretorec.encode.item_text` over `fields` (those the
    catalog has), so lexical and dense retrieval read one definition of an item's text."""
    present = [f for f in fields if f in catalog.frame.columns]
    if not present:
        raise ValueError(f"the catalog has none of the text fields {list(fields)}")
    return item_text(catalog, fields=present)


def _query_tokens(query: str | bytes) -> Counter[str]:
    if not isinstance(query, str | bytes):
        raise ValueError(f"query must be str or bytes, got {type(query).__name__}")
    if not query.strip():
        raise ValueError("query is empty")
    return Counter(tokenize_product_text(query))


class LexicalIndex(SlottedIndex):
    """BM25 candidate retrieval (see the module docstring)."""

    def __init__(
        self,
        items: ItemTable,
        texts: dict[int, str],
        main: MainBM25,
        slots: DocSlots,
        *,
        params: Bm25Params,
        fields: tuple[str, ...],
        max_delta: int | None,
        guard: StuffingGuard | None = None,
    ) -> None:
        self._items = items
        self._texts = texts
        self._main = main
        self._slots = slots
        self._delta = DeltaBM25(params)
        self.params = params
        self.fields = fields
        self.max_delta = max_delta
        self.guard = guard

    def _document(self, text: str) -> list[str]:
        """An item's tokens as indexed: through the stuffing guard when there is one."""
        tokens = tokenize_product_text(text)
        return self.guard.apply(tokens) if self.guard is not None else tokens

    # ------------------------------------------------------------ building

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        *,
        fields: Sequence[str] = DEFAULT_FIELDS,
        params: Bm25Params | None = None,
        max_delta: int | None = DEFAULT_MAX_DELTA,
        show_progress: bool = False,
        guard: StuffingGuard | None = None,
    ) -> LexicalIndex:
        """Index every item of `catalog` (an empty catalog gives an empty index); `guard`
        caps the words a stuffed title repeats (`paretorec.retrieve.stuffing`)."""
        if max_delta is not None and max_delta < 1:
            raise ValueError(f"max_delta must be >= 1 or None, got {max_delta}")
        items = ItemTable()
        positions = items.add(catalog)
        texts = dict(zip(positions.tolist(), item_texts(catalog, fields), strict=True))
        params = params or Bm25Params()
        index = cls(
            items,
            texts,
            MainBM25(None, 0, 0.0),
            DocSlots(np.zeros(0, dtype=np.int64)),
            params=params,
            fields=tuple(fields),
            max_delta=max_delta,
            guard=guard,
        )
        index._rebuild(show_progress=show_progress)
        return index

    def _rebuild(self, *, show_progress: bool = False) -> None:
        positions = self._items_with_text()
        documents = [self._document(self._texts[p]) for p in positions.tolist()]
        self._main = MainBM25.build(documents, self.params, show_progress=show_progress)
        self._slots = DocSlots(positions)
        self._delta = DeltaBM25(self.params)

    def _items_with_text(self) -> NDArray[np.int64]:
        return np.asarray(sorted(self._texts), dtype=np.int64)

    # ------------------------------------------------------------ changes

    def add_items(self, catalog: Catalog) -> None:
        """Make new items searchable at once (none may be in the index already)."""
        texts = item_texts(catalog, self.fields)
        positions = self._items.add(catalog)
        self._insert(positions, texts)

    def update_items(self, catalog: Catalog) -> None:
        """Replace items' text and attributes; the old text no longer finds them."""
        texts = item_texts(catalog, self.fields)
        positions = self._items.update(catalog)
        self._retire(positions)
        self._insert(positions, texts)

    def remove_items(self, item_ids: Iterable[str]) -> None:
        """Take items out of every later search."""
        positions = self._items.remove(item_ids)
        self._retire(positions)
        for p in positions.tolist():
            del self._texts[p]

    def _retire(self, positions: NDArray[np.int64]) -> None:
        n_main = self._slots.n_main
        for p in positions.tolist():
            number = self._slots.current[p]
            if number >= n_main:
                self._delta.retire(number - n_main)
        self._slots.retire(positions)

    def _insert(self, positions: NDArray[np.int64], texts: list[str]) -> None:
        self._slots.add(positions)
        for p, text in zip(positions.tolist(), texts, strict=True):
            self._texts[p] = text
            self._delta.add(self._document(text))
        if self.max_delta is not None and self._slots.n_delta >= self.max_delta:
            self.compact()

    def compact(self) -> None:
        """Rebuild the main part from every current document and empty the delta."""
        self._rebuild()

    # ------------------------------------------------------------ searching

    def search(
        self, query: str | bytes, *, k: int = 100, filters: Filters | None = None
    ) -> Candidates:
        """The `k` best items for `query` that pass `filters` (see the module docstring)."""
        k = check_k(k)
        tokens = _query_tokens(query)
        if not tokens:
            return Candidates.empty((COMPONENT,))
        scores = self._main.scores(tokens)
        if self._slots.n_delta:
            scores = np.concatenate([scores, self._delta.scores(tokens, self._main)])
        doc_items = self._slots.doc_items()
        allowed = (scores > 0) & self._slots.live() & self._items.mask(filters)[doc_items]
        best = select_top_k(scores, allowed, k, doc_items)
        return to_candidates(self._items.ids, doc_items[best], scores[best], COMPONENT)

    def search_many(
        self, queries: Sequence[str | bytes], *, k: int = 100, filters: Filters | None = None
    ) -> list[Candidates]:
        return [self.search(q, k=k, filters=filters) for q in queries]

    # ------------------------------------------------------------ files (item_ids, len, `in`: SlottedIndex)

    def save(self, folder: str | Path) -> None:
        """Write the index to `folder` (bm25s's own files, JSON and .npy; no pickle)."""
        folder = Path(folder)
        write_meta(
            folder,
            _KIND,
            {
                "tokenizer_version": TOKENIZER_VERSION,
                "k1": self.params.k1,
                "b": self.params.b,
                "fields": list(self.fields),
                "max_delta": self.max_delta,
                "stuffing_min_repeats": self.guard.min_repeats if self.guard else None,
                "n_main": self._main.n_docs,
                "avgdl": self._main.avgdl,
            },
        )
        self._items.save(folder / "items")
        self._main.save(folder / "bm25")
        write_npy(folder / "main_items.npy", self._slots.main_items)
        write_npy(folder / "main_live.npy", self._slots.main_live)
        _, delta_positions = self._slots.live_delta()
        write_npy(folder / "delta_items.npy", delta_positions)
        positions = sorted(self._texts)
        write_json(
            folder / "texts.json",
            {"positions": positions, "texts": [self._texts[p] for p in positions]},
        )

    @classmethod
    def load(cls, folder: str | Path) -> LexicalIndex:
        folder = Path(folder)
        meta = read_meta(folder, _KIND)
        if meta["tokenizer_version"] != TOKENIZER_VERSION:
            raise ValueError(
                f"{folder} was tokenized by tokenizer version {meta['tokenizer_version']}; "
                f"this one is {TOKENIZER_VERSION}: rebuild the index"
            )
        items = ItemTable.load(folder / "items")
        stored = read_json(folder / "texts.json")
        texts = {int(p): str(t) for p, t in zip(stored["positions"], stored["texts"], strict=True)}
        n_main = int(meta["n_main"])
        main = MainBM25.load(folder / "bm25", n_main, float(meta["avgdl"]))
        slots = DocSlots(read_npy(folder / "main_items.npy", np.int64, (n_main,)))
        dead = ~read_npy(folder / "main_live.npy", np.bool_, (n_main,))
        slots.retire(slots.main_items[dead])
        index = cls(
            items,
            texts,
            main,
            slots,
            params=Bm25Params(k1=float(meta["k1"]), b=float(meta["b"])),
            fields=tuple(meta["fields"]),
            max_delta=meta["max_delta"],
            guard=_guard(meta.get("stuffing_min_repeats")),
        )
        delta_positions = read_npy(folder / "delta_items.npy", np.int64, (None,))
        slots.add(delta_positions)
        for p in delta_positions.tolist():
            index._delta.add(index._document(texts[p]))
        return index


def _guard(min_repeats: object) -> StuffingGuard | None:
    return StuffingGuard(int(min_repeats)) if isinstance(min_repeats, int | float) else None
