"""`HybridRetriever`: lexical and dense candidates, fused.

Each retriever returns its best `depth` items (at least K) that pass the filters, and the
fusion (`ReciprocalRankFusion` by default, or `ScoreFusion`) orders their union; the
result's `components` hold the BM25 and cosine scores behind each item. Changes go to both
indexes, so their item tables stay aligned and an item has one position in both.

With a `speller` (`paretorec.retrieve.spelling.SpellCorrector`, built from the catalog's
own words), the lexical side searches the corrected query (``cordles drill`` → ``cordless
drill``; numbers and units are never changed); the dense side takes the vector it is given.
The speller counts each item's words under the item's position: an added item's words join
its vocabulary at once, a changed item's replace its old ones and a removed item's leave it,
so the counts and the word-by-item postings that choose among an abbreviation's expansions
are those of the catalog as it now is. The speller is saved with the indexes
(``spelling/``); a folder saved without one loads without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from numpy.typing import ArrayLike

from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.dense import DenseIndex
from paretorec.retrieve.filters import Filters
from paretorec.retrieve.fusion import (
    DENSE,
    LEXICAL,
    Fusion,
    Normalization,
    ReciprocalRankFusion,
    ScoreFusion,
)
from paretorec.retrieve.items import item_ids_of
from paretorec.retrieve.lexical import LexicalIndex, item_texts
from paretorec.retrieve.spelling import SpellCorrector
from paretorec.retrieve.storage import read_meta, write_meta
from paretorec.retrieve.topk import check_k
from paretorec.types import Catalog

__all__ = ["DEFAULT_DEPTH", "HybridRetriever"]

DEFAULT_DEPTH = 100
_KIND = "hybrid"
_SPELLING = "spelling"


class HybridRetriever:
    """Lexical plus dense retrieval with rank or score fusion (see the module docstring)."""

    def __init__(
        self,
        lexical: LexicalIndex,
        dense: DenseIndex,
        *,
        fusion: Fusion | None = None,
        depth: int = DEFAULT_DEPTH,
        speller: SpellCorrector | None = None,
    ) -> None:
        if lexical.item_ids != dense.item_ids:
            raise ValueError(
                "the lexical and dense indexes hold different items (or in another order): "
                "build both from the same catalog"
            )
        self.lexical = lexical
        self.dense = dense
        self.fusion: Fusion = fusion if fusion is not None else ReciprocalRankFusion()
        self.depth = check_k(depth)
        self.speller = speller

    def with_fusion(self, fusion: Fusion) -> HybridRetriever:
        """The same indexes (shared, not copied) under another fusion."""
        return HybridRetriever(
            self.lexical, self.dense, fusion=fusion, depth=self.depth, speller=self.speller
        )

    def lexical_query(
        self, query: str | bytes, *, abbreviations: bool | None = None
    ) -> str | bytes:
        """The text the lexical index searches: the query, spell-corrected with a speller
        (`abbreviations`: expand skeletons or not, default as the speller's parameters)."""
        if self.speller is None:
            return query
        if isinstance(query, bytes):
            query = query.decode("utf-8", errors="replace")
        return self.speller.correct(query, abbreviations=abbreviations).text

    # ------------------------------------------------------------ searching

    def search_components(
        self,
        query: str | bytes,
        query_vector: ArrayLike,
        *,
        depth: int | None = None,
        filters: Filters | None = None,
    ) -> dict[str, Candidates]:
        """Each retriever's own best `depth` items, by name (``lexical``, ``dense``)."""
        depth = check_k(depth if depth is not None else self.depth)
        return {
            LEXICAL: self.lexical.search(self.lexical_query(query), k=depth, filters=filters),
            DENSE: self.dense.search(query_vector, k=depth, filters=filters),
        }

    def search(
        self,
        query: str | bytes,
        query_vector: ArrayLike,
        *,
        k: int = 10,
        filters: Filters | None = None,
    ) -> Candidates:
        """The fused best `k` items for a query's text and its embedding."""
        k = check_k(k)
        runs = self.search_components(
            query, query_vector, depth=max(k, self.depth), filters=filters
        )
        return self.fusion.fuse(runs[LEXICAL], runs[DENSE], k=k)

    # ------------------------------------------------------------ changes

    def add_items(self, catalog: Catalog, vectors: ArrayLike) -> None:
        """Add new items to both indexes (checked in full before either changes)."""
        texts = item_texts(catalog, self.lexical.fields)
        self.dense.add_items(catalog, vectors)
        self.lexical.add_items(catalog)
        if self.speller is not None:
            positions = self.lexical.positions(item_ids_of(catalog))
            self.speller.add_texts(texts, positions.tolist())

    def update_items(self, catalog: Catalog, vectors: ArrayLike) -> None:
        texts = item_texts(catalog, self.lexical.fields)
        self.dense.update_items(catalog, vectors)
        self.lexical.update_items(catalog)
        if self.speller is not None:  # replaces the items' documents, at their positions
            positions = self.lexical.positions(item_ids_of(catalog))
            self.speller.add_texts(texts, positions.tolist())

    def remove_items(self, item_ids: Iterable[str]) -> None:
        ids = list(item_ids)
        self.dense.remove_items(ids)
        self.lexical.remove_items(ids)
        if self.speller is not None:
            self.speller.remove_documents(self.lexical.positions(ids).tolist())

    def compact(self) -> None:
        self.lexical.compact()
        self.dense.compact()

    def __len__(self) -> int:
        return len(self.lexical)

    # ------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        """Write both indexes and the fusion settings to `folder`."""
        folder = Path(folder)
        fusion = self.fusion
        settings: dict[str, object] = {"fusion": type(fusion).__name__, "weight": fusion.weight}
        if isinstance(fusion, ReciprocalRankFusion):
            settings["k_rrf"] = fusion.k_rrf
        else:
            settings["normalization"] = fusion.normalization.value
        settings["spelling"] = self.speller is not None
        write_meta(folder, _KIND, {"depth": self.depth, **settings})
        self.lexical.save(folder / LEXICAL)
        self.dense.save(folder / DENSE)
        if self.speller is not None:
            self.speller.save(folder / _SPELLING)

    @classmethod
    def load(cls, folder: str | Path) -> HybridRetriever:
        folder = Path(folder)
        meta = read_meta(folder, _KIND)
        fusion: Fusion
        if meta["fusion"] == ReciprocalRankFusion.__name__:
            fusion = ReciprocalRankFusion(weight=float(meta["weight"]), k_rrf=int(meta["k_rrf"]))
        elif meta["fusion"] == ScoreFusion.__name__:
            fusion = ScoreFusion(
                weight=float(meta["weight"]), normalization=Normalization(meta["normalization"])
            )
        else:
            raise ValueError(f"{folder / 'meta.json'} names an unknown fusion {meta['fusion']!r}")
        return cls(
            LexicalIndex.load(folder / LEXICAL),
            DenseIndex.load(folder / DENSE),
            fusion=fusion,
            depth=int(meta["depth"]),
            speller=SpellCorrector.load(folder / _SPELLING) if meta.get("spelling") else None,
        )
