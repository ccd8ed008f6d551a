"""The reference encoder: a sentence-transformers model run by PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from paretorec.encode.base import (
    Embeddings,
    Texts,
    empty_embeddings,
    l2_normalize,
    prepare_texts,
)
from paretorec.encode.models import BUNDLED_MODEL_NAME, read_model_spec, resolve_model

DEFAULT_BATCH_SIZE = 64


class SentenceTransformerEncoder:
    """A sentence-transformers model from a local folder, by PyTorch.

    `model` is a folder (or the bundled model's name, the default); a name that is not
    a local folder raises `ModelUnavailableError` saying how to point at one.
    `max_seq_length` caps the tokens per text (the model's own setting by default: 256
    for the bundled MiniLM; longer texts are cut, see `paretorec.encode.base`); lower
    is faster on long item texts.  Queries and items get the model's "query" and
    "document" prompts when its ``config_sentence_transformers.json`` defines them.
    `name` (the cache key) is the model's name, followed by ``#max<N>`` when
    `max_seq_length` differs from the model's own.
    """

    def __init__(
        self,
        model: str | Path = BUNDLED_MODEL_NAME,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        device: str = "cpu",
        max_seq_length: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_seq_length is not None and max_seq_length < 2:
            raise ValueError(f"max_seq_length must be at least 2, got {max_seq_length}")
        from sentence_transformers import SentenceTransformer

        folder, name = resolve_model(model)
        self.spec = read_model_spec(folder)
        self.model: Any = SentenceTransformer(str(folder), device=device, local_files_only=True)
        self.model.eval()
        if max_seq_length is not None and max_seq_length != self.model.max_seq_length:
            self.model.max_seq_length = max_seq_length
            name = f"{name}#max{max_seq_length}"
        self.batch_size = batch_size
        self.device = device
        self._name = name
        if hasattr(self.model, "get_embedding_dimension"):
            dimension = self.model.get_embedding_dimension()
        else:  # sentence-transformers < 6
            dimension = self.model.get_sentence_embedding_dimension()
        if dimension is None:
            raise ValueError(f"{folder}: the model does not say its embedding dimension")
        self._dimension = int(dimension)

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_seq_length(self) -> int:
        return int(self.model.max_seq_length)

    def encode_queries(self, texts: Texts) -> Embeddings:
        return self._encode(prepare_texts(texts), self.spec.query_prompt)

    def encode_items(self, texts: Texts) -> Embeddings:
        return self._encode(prepare_texts(texts), self.spec.document_prompt)

    def _encode(self, texts: list[str], prompt: str) -> Embeddings:
        if not texts:
            return empty_embeddings(self.dimension)
        vectors = self.model.encode(
            texts,
            prompt=prompt or None,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return l2_normalize(np.asarray(vectors, dtype=np.float32))

    def __repr__(self) -> str:
        return (
            f"SentenceTransformerEncoder({self.name!r}, dimension={self.dimension}, "
            f"max_seq_length={self.max_seq_length}, device={self.device!r})"
        )
