"""BM25 scoring of tokenized documents: a main part built by `bm25s`, and a delta part for
documents that came after it.

The score is bm25s's ``lucene`` variant: for a query with token counts ``c_t``,

    score(d) = sum_t c_t * idf(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)   = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

with ``N`` documents, ``df(t)`` of them holding ``t``, ``|d|`` the number of tokens of ``d``
and ``avgdl`` the mean of ``|d|`` (Kamphuis et al., ECIR 2020; Lucene leaves out the
``(k1 + 1)`` factor of the original, which changes no ranking).

The main part's statistics are frozen when it is built. Delta documents are scored with
those same statistics, so a document scores the same in either part; a token the main part
never saw takes ``df`` from the live delta documents and ``N`` as main plus live delta. An
index built from nothing uses its live delta documents' mean length as ``avgdl``.
Compaction (a rebuild) makes every statistic current again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
from numpy.typing import NDArray

__all__ = ["Bm25Params", "DeltaBM25", "MainBM25", "lucene_idf"]


@dataclass(frozen=True)
class Bm25Params:
    """BM25's term-frequency saturation `k1` (>= 0) and length normalization `b` in [0, 1]."""

    k1: float = 1.5
    b: float = 0.75

    def __post_init__(self) -> None:
        if not (np.isfinite(self.k1) and self.k1 >= 0):
            raise ValueError(f"k1 must be a finite number >= 0, got {self.k1}")
        if not (0.0 <= self.b <= 1.0):
            raise ValueError(f"b must lie in [0, 1], got {self.b}")


def lucene_idf(df: NDArray[np.float64] | float, n_docs: float) -> NDArray[np.float64]:
    return np.log1p((n_docs - np.asarray(df, dtype=np.float64) + 0.5) / (np.asarray(df) + 0.5))


class MainBM25:
    """The bm25s index of the documents present at build time, and its frozen statistics."""

    def __init__(self, model: bm25s.BM25 | None, n_docs: int, avgdl: float) -> None:
        self.model = model
        self.n_docs = n_docs
        self.avgdl = avgdl
        if model is None:
            self.vocab: dict[str, int] = {}
            self.data = np.zeros(0, dtype=np.float32)
            self.indices = np.zeros(0, dtype=np.int32)
            self.indptr = np.zeros(1, dtype=np.int64)
        else:
            self.vocab = {str(t): int(i) for t, i in model.vocab_dict.items()}
            self.data = np.asarray(model.scores["data"])
            self.indices = np.asarray(model.scores["indices"])
            self.indptr = np.asarray(model.scores["indptr"])
        self.df = np.diff(self.indptr)

    @classmethod
    def build(
        cls, documents: list[list[str]], params: Bm25Params, *, show_progress: bool = False
    ) -> MainBM25:
        n_docs = len(documents)
        vocab = {token: i for i, token in enumerate(sorted({t for d in documents for t in d}))}
        avgdl = float(np.mean([len(d) for d in documents])) if documents else 0.0
        if not vocab:
            return cls(None, n_docs, avgdl)
        model = bm25s.BM25(k1=params.k1, b=params.b, method="lucene", backend="numpy")
        ids = [[vocab[t] for t in d] for d in documents]
        model.index((ids, vocab), create_empty_token=False, show_progress=show_progress)
        return cls(model, n_docs, avgdl)

    def scores(self, query: Counter[str]) -> NDArray[np.float64]:
        """Every main document's score for the query's token counts."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        for token, count in query.items():
            column = self.vocab.get(token)
            if column is None:
                continue
            start, end = self.indptr[column], self.indptr[column + 1]
            # a column holds each document at most once, so fancy-index += is exact
            out[self.indices[start:end]] += count * self.data[start:end].astype(np.float64)
        return out

    def save(self, folder: Path) -> None:
        if self.model is not None:
            self.model.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, n_docs: int, avgdl: float) -> MainBM25:
        if not (folder / "params.index.json").is_file():
            return cls(None, n_docs, avgdl)
        model = bm25s.BM25.load(str(folder), show_progress=False)
        if model.scores["num_docs"] != n_docs:
            raise ValueError(
                f"{folder} indexes {model.scores['num_docs']} documents, expected {n_docs}"
            )
        return cls(model, n_docs, avgdl)


class DeltaBM25:
    """Postings of the documents added after the main part, scored with its statistics."""

    def __init__(self, params: Bm25Params) -> None:
        self.params = params
        self._postings: dict[str, tuple[list[int], list[int]]] = {}
        self._arrays: dict[str, tuple[NDArray[np.int64], NDArray[np.float64]]] = {}
        self._lengths: list[int] = []
        self._live: list[bool] = []

    def __len__(self) -> int:
        return len(self._lengths)

    def add(self, tokens: list[str]) -> int:
        offset = len(self._lengths)
        for token, tf in Counter(tokens).items():
            docs, tfs = self._postings.setdefault(token, ([], []))
            docs.append(offset)
            tfs.append(tf)
            self._arrays.pop(token, None)
        self._lengths.append(len(tokens))
        self._live.append(True)
        return offset

    def retire(self, offset: int) -> None:
        self._live[offset] = False

    def _posting(self, token: str) -> tuple[NDArray[np.int64], NDArray[np.float64]] | None:
        cached = self._arrays.get(token)
        if cached is None:
            lists = self._postings.get(token)
            if lists is None:
                return None
            cached = (np.asarray(lists[0], dtype=np.int64), np.asarray(lists[1], dtype=np.float64))
            self._arrays[token] = cached
        return cached

    def scores(self, query: Counter[str], main: MainBM25) -> NDArray[np.float64]:
        """Every delta document's score (retired ones too: the caller masks them)."""
        out = np.zeros(len(self._lengths), dtype=np.float64)
        if not self._lengths:
            return out
        live = np.asarray(self._live, dtype=bool)
        lengths = np.asarray(self._lengths, dtype=np.float64)
        n_live = int(live.sum())
        avgdl = main.avgdl if main.n_docs > 0 else float(lengths[live].mean()) if n_live else 0.0
        avgdl = avgdl if avgdl > 0 else 1.0
        k1, b = self.params.k1, self.params.b
        for token, count in query.items():
            posting = self._posting(token)
            if posting is None:
                continue
            docs, tf = posting
            column = main.vocab.get(token)
            if column is not None:
                idf = lucene_idf(float(main.df[column]), main.n_docs)
            else:
                idf = lucene_idf(float(live[docs].sum()), main.n_docs + n_live)
            norm = k1 * (1.0 - b + b * lengths[docs] / avgdl)
            out[docs] += count * idf * tf / (tf + norm)
        return out
