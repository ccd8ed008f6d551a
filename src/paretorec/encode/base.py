"""The encoder contract and the checks every encoder applies to its input.

An encoder turns texts into unit-length float32 vectors of one fixed dimension, with
one method for search queries and one for item texts (asymmetric models, such as the
E5 or BGE families, put a different prompt before each; symmetric ones such as MiniLM
treat both alike).  Dot products of its outputs are cosine similarities.

What a text may be (`prepare_texts`, shared by every encoder, so the torch and ONNX
paths accept and reject the same things):

- a list (any iterable that is not itself a string) of `str`; an empty list gives an
  array of shape ``(0, dimension)``;
- an empty or whitespace-only string is allowed: it is encoded as the model's special
  tokens alone (``[CLS] [SEP]`` for BERT-like models), a fixed, defined vector;
- a text of any length: the tokenizer keeps its first ``max_seq_length`` tokens
  (256 word pieces for the bundled MiniLM, roughly 1,000 characters of English) and
  drops the rest, so a 10,000-character query encodes like its beginning;
- `bytes` are decoded as UTF-8; bytes that are not valid UTF-8, and strings that cannot
  be written as UTF-8 (lone surrogates, as ``errors="surrogateescape"`` leaves them),
  raise `ValueError` naming the text and the offending position: decode such data
  yourself, for example ``raw.decode("utf-8", errors="replace")``;
- `None` (the list itself, or one of its texts) raises `ValueError`; other types raise
  `TypeError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np
from numpy.typing import NDArray

Embeddings: TypeAlias = NDArray[np.float32]
"""A float32 array of shape (n, dimension), one unit-length row per text."""

Texts: TypeAlias = Iterable[str | bytes]
"""What an encoder accepts: an iterable of texts (a list, a tuple, a Polars Series...)."""


@runtime_checkable
class TextEncoder(Protocol):
    """A text encoder: `encode_queries` and `encode_items` return L2-normalized float32
    arrays of shape ``(len(texts), dimension)``; `name` identifies the model and its
    settings (everything that changes the vectors), and keys the embedding cache."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode_queries(self, texts: Texts) -> Embeddings: ...

    def encode_items(self, texts: Texts) -> Embeddings: ...


def prepare_texts(texts: Texts | None) -> list[str]:
    """The texts as a list of `str`, checked as the module docstring says."""
    if texts is None:
        raise ValueError("texts is None: pass a list of strings (an empty list is fine)")
    if isinstance(texts, str | bytes):
        raise TypeError(
            "texts is a single string: pass a list of strings, e.g. [text] for one text"
        )
    out: list[str] = []
    for index, text in enumerate(texts):
        if isinstance(text, str):
            _require_utf8(text, index)
            out.append(text)
        elif isinstance(text, bytes):
            out.append(_decode_utf8(text, index))
        elif text is None:
            raise ValueError(
                f"text {index} is None: encoders take strings only (use '' for an empty text)"
            )
        else:
            raise TypeError(f"text {index} is a {type(text).__name__}, not a string")
    return out


def _require_utf8(text: str, index: int) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(
            f"text {index} cannot be written as UTF-8 (character {error.start} is "
            f"{text[error.start]!r}, a lone surrogate): decode the source bytes with "
            "errors='replace' before encoding"
        ) from None


def _decode_utf8(raw: bytes, index: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(
            f"text {index} is not valid UTF-8 (byte 0x{raw[error.start]:02x} at offset "
            f"{error.start}): decode it yourself, e.g. raw.decode('utf-8', errors='replace')"
        ) from None


def l2_normalize(vectors: NDArray[np.floating]) -> Embeddings:
    """Rows scaled to unit length, as float32; all-zero rows stay zero."""
    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    out = np.zeros_like(array)
    np.divide(array, norms, out=out, where=norms > 0)
    return out


def empty_embeddings(dimension: int) -> Embeddings:
    return np.zeros((0, dimension), dtype=np.float32)
