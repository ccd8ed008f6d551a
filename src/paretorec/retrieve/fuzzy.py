"""`CharNgramIndex`: typo-tolerant retrieval by character n-grams, a third retriever.

An item's text (the lexical index's fields) and a query are lower-cased (NFKC), split
into words (runs of letters, digits, ``.``, ``/`` and ``-`` with a letter or digit), each word padded with a space on both sides, and cut into its character
n-grams for n in [`n_min`, `n_max`] (trigrams: ``drill`` → `` dr``, ``dri``, ``ril``, ``ill``,
``ll ``; a word shorter than n gives its padded self). Each side is a TF-IDF vector,
``(1 + ln tf) * idf`` with ``idf = ln((1 + N) / (1 + df)) + 1``, L2-normalized, and an
item's score is the cosine of the two. A misspelt word still shares most of its n-grams
with the right one (``cordles``/``cordless``: 6 of 8 trigrams), so the index finds items
that BM25, which needs a whole token in common, misses.

The query's n-grams that no item has are ignored; a query with no known n-gram (empty,
only punctuation) returns no candidates. Only items with a score above 0 are returned.
Candidates' positions are the catalog's rows, as the lexical and dense indexes number
them, so the runs fuse with theirs (`paretorec.retrieve.fusion`).

Saved as ``.npy`` arrays and JSON (no pickle): the vocabulary, idf and the item x n-gram
matrix in CSR form.

`fuse_with_char` fuses its list with the lexical and dense ones (min-max score fusion, the
n-grams taking `share`, the rest split by the hybrid's lexical weight); `tune_char_share`
picks the share on judged queries. On Home Depot's valid queries the best share moves
the hybrid's NDCG@10 by +0.0005 at most (none with the fine-tuned encoder; on test they add
Recall@100, not NDCG@10: BENCHMARKS.md), so search runs them only on request
(`eval search --char-ngrams`).
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from paretorec.retrieve.candidates import Candidates
from paretorec.retrieve.fusion import DENSE, LEXICAL, score_fusion
from paretorec.retrieve.lexical import DEFAULT_FIELDS, item_texts
from paretorec.retrieve.storage import (
    read_json,
    read_meta,
    read_npy,
    write_json,
    write_meta,
    write_npy,
)
from paretorec.retrieve.topk import check_k
from paretorec.retrieve.tuning import evaluate_runs
from paretorec.types import Catalog, Judgments

__all__ = [
    "CHAR_SHARES",
    "COMPONENT",
    "CharNgramIndex",
    "NgramParams",
    "char_ngrams",
    "fuse_with_char",
    "tune_char_share",
]

COMPONENT = "char"
_KIND = "char-ngram"


@dataclass(frozen=True)
class NgramParams:
    """Which n-gram lengths the index reads."""

    # 2 to 4: chosen on Home Depot's valid queries against trigrams alone
    n_min: int = 2
    n_max: int = 4

    def __post_init__(self) -> None:
        if not (1 <= self.n_min <= self.n_max <= 8):
            raise ValueError(f"need 1 <= n_min <= n_max <= 8, got {self.n_min}, {self.n_max}")


def char_ngrams(text: str | bytes, params: NgramParams = NgramParams()) -> list[str]:
    """The n-grams of each space-padded word of `text` (see the module docstring).

    >>> char_ngrams("Drill", NgramParams(3, 3))
    [' dr', 'dri', 'ril', 'ill', 'll ']
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    words = "".join(
        c if c.isalnum() or c in "./-" else " "
        for c in unicodedata.normalize("NFKC", html.unescape(text)).lower()
    ).split()
    out: list[str] = []
    for word in words:
        if not any(c.isalnum() for c in word):
            continue  # a run of ``.``, ``/`` or ``-`` alone says nothing
        padded = f" {word} "
        for n in range(params.n_min, params.n_max + 1):
            if len(padded) <= n:
                out.append(padded)
                continue
            out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return out


def _weights(
    counts: Counter[str], columns: dict[str, int], idf: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The L2-normalized TF-IDF entries of one text's n-gram counts (known n-grams only)."""
    known = [(columns[g], c) for g, c in counts.items() if g in columns]
    if not known:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    cols = np.fromiter((c for c, _ in known), dtype=np.int64, count=len(known))
    tf = np.fromiter((1.0 + math.log(n) for _, n in known), dtype=np.float64, count=len(known))
    values = tf * idf[cols]
    return cols, values / np.linalg.norm(values)


class CharNgramIndex:
    """Character n-gram TF-IDF retrieval over a catalog (see the module docstring)."""

    def __init__(
        self,
        item_ids: Sequence[str],
        columns: dict[str, int],
        idf: NDArray[np.float64],
        by_ngram: sp.csr_array,
        *,
        params: NgramParams,
        fields: tuple[str, ...],
    ) -> None:
        self.item_ids = tuple(item_ids)
        self._columns = columns
        self._idf = idf
        self._by_ngram = by_ngram  # n-grams x items, L2-normalized item columns
        self.params = params
        self.fields = fields

    @classmethod
    def build(
        cls,
        catalog: Catalog,
        *,
        params: NgramParams = NgramParams(),
        fields: Sequence[str] = DEFAULT_FIELDS,
    ) -> CharNgramIndex:
        """Index every item of `catalog` by the n-grams of its text."""
        texts = item_texts(catalog, fields)
        counts = [Counter(char_ngrams(t, params)) for t in texts]
        df: Counter[str] = Counter()
        for c in counts:
            df.update(c.keys())
        columns = {g: i for i, g in enumerate(sorted(df))}
        n = len(texts)
        idf = np.log((1.0 + n) / (1.0 + np.array([df[g] for g in sorted(df)], dtype=np.float64)))
        idf += 1.0
        rows, cols, values = [], [], []
        for row, c in enumerate(counts):
            found_cols, found_values = _weights(c, columns, idf)
            rows.append(np.full(found_cols.size, row, dtype=np.int64))
            cols.append(found_cols)
            values.append(found_values)
        matrix = sp.csr_array(
            (
                np.concatenate(values) if values else np.zeros(0),
                (
                    np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64),
                    np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64),
                ),
            ),
            shape=(len(columns), n),
            dtype=np.float32,
        )
        return cls(
            catalog.item_ids.cast(str).to_list(),
            columns,
            idf,
            matrix,
            params=params,
            fields=tuple(fields),
        )

    def __len__(self) -> int:
        return len(self.item_ids)

    def scores(self, query: str | bytes) -> NDArray[np.float64]:
        """Every item's cosine to the query (all 0 when it has no known n-gram)."""
        cols, values = _weights(Counter(char_ngrams(query, self.params)), self._columns, self._idf)
        if cols.size == 0:
            return np.zeros(len(self), dtype=np.float64)
        picked = self._by_ngram[cols]
        return np.asarray(picked.T @ values, dtype=np.float64).ravel()

    def search(self, query: str | bytes, *, k: int = 100) -> Candidates:
        """The `k` items most like `query` by n-grams, best first (ties by catalog row)."""
        k = check_k(k)
        if not isinstance(query, str | bytes):
            raise ValueError(f"query must be str or bytes, got {type(query).__name__}")
        scores = self.scores(query)
        positive = np.flatnonzero(scores > 0)
        if positive.size > k:
            part = np.argpartition(-scores[positive], k - 1)[:k]
            cut = scores[positive[part]].min()
            positive = positive[scores[positive] >= cut]  # keep ties at the cut
        order = positive[np.lexsort((positive, -scores[positive]))][:k]
        return Candidates(
            tuple(self.item_ids[i] for i in order.tolist()),
            order.astype(np.int64),
            scores[order],
            {COMPONENT: scores[order]},
        )

    # ------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        write_meta(
            folder,
            _KIND,
            {"n_min": self.params.n_min, "n_max": self.params.n_max, "fields": list(self.fields)},
        )
        ngrams = sorted(self._columns, key=self._columns.__getitem__)
        write_json(folder / "vocabulary.json", {"ngrams": ngrams, "item_ids": list(self.item_ids)})
        write_npy(folder / "idf.npy", self._idf)
        matrix = self._by_ngram
        write_npy(folder / "data.npy", np.asarray(matrix.data, dtype=np.float32))
        write_npy(folder / "indices.npy", np.asarray(matrix.indices, dtype=np.int64))
        write_npy(folder / "indptr.npy", np.asarray(matrix.indptr, dtype=np.int64))

    @classmethod
    def load(cls, folder: str | Path) -> CharNgramIndex:
        folder = Path(folder)
        meta = read_meta(folder, _KIND)
        stored = read_json(folder / "vocabulary.json")
        ngrams, item_ids = list(stored["ngrams"]), [str(i) for i in stored["item_ids"]]
        idf = read_npy(folder / "idf.npy", np.float64, (len(ngrams),))
        indptr = read_npy(folder / "indptr.npy", np.int64, (len(ngrams) + 1,))
        nnz = int(indptr[-1]) if indptr.size else 0
        data = read_npy(folder / "data.npy", np.float32, (nnz,))
        indices = read_npy(folder / "indices.npy", np.int64, (nnz,))
        if nnz and (indices.min() < 0 or indices.max() >= len(item_ids)):
            raise ValueError(f"{folder / 'indices.npy'} points outside the {len(item_ids)} items")
        matrix = sp.csr_array((data, indices, indptr), shape=(len(ngrams), len(item_ids)))
        return cls(
            item_ids,
            {g: i for i, g in enumerate(ngrams)},
            idf,
            matrix,
            params=NgramParams(int(meta["n_min"]), int(meta["n_max"])),
            fields=tuple(meta["fields"]),
        )


# ---------------------------------------------------------------- fused as a third list

CHAR_SHARES: tuple[float, ...] = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4)


def fuse_with_char(
    lexical: Candidates,
    dense: Candidates,
    char: Candidates,
    *,
    weight: float,
    share: float,
    k: int | None = None,
) -> Candidates:
    """Min-max score fusion of three lists: the n-grams take `share`, and lexical and
    dense split the rest as the hybrid's lexical `weight` says."""
    if not (0.0 <= weight <= 1.0 and 0.0 <= share <= 1.0):
        raise ValueError(f"weight and share must lie in [0, 1], got {weight} and {share}")
    weights = {LEXICAL: (1 - share) * weight, DENSE: (1 - share) * (1 - weight), COMPONENT: share}
    return score_fusion({LEXICAL: lexical, DENSE: dense, COMPONENT: char}, weights=weights, k=k)


def tune_char_share(
    lexical_runs: Mapping[str, Candidates],
    dense_runs: Mapping[str, Candidates],
    char_runs: Mapping[str, Candidates],
    judgments: Judgments,
    *,
    weight: float,
    metric: str = "ndcg@10",
    grid: Sequence[float] = CHAR_SHARES,
) -> tuple[float, dict[float, float]]:
    """The n-grams' share with the best mean `metric` over these queries (the first in
    grid order on a tie), and the value at each share."""
    values = {
        float(share): evaluate_runs(
            {
                q: fuse_with_char(
                    lexical_runs[q], dense_runs[q], char_runs[q], weight=weight, share=share
                )
                for q in lexical_runs
            },
            judgments,
            metric=metric,
        )
        for share in grid
    }
    best = max(values, key=lambda s: (values[s], -list(values).index(s)))
    return best, values
