"""The fast inference path: an exported model run by onnxruntime on the CPU.

`OnnxEncoder(folder)` reads a folder written by `export_onnx` (see
`paretorec.encode.onnx_export` for its files) and needs neither PyTorch nor
transformers: only onnxruntime and the `tokenizers` library.  It prepares text as the
sentence-transformers model does (the query or document prompt, lower-casing where the
model asks for it, truncation to ``max_seq_length`` tokens), encodes a batch at a time
with texts sorted by length (so little padding is computed), and returns the vectors in
the input order, L2-normalized.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from paretorec.encode.base import (
    Embeddings,
    Texts,
    empty_embeddings,
    l2_normalize,
    prepare_texts,
)

FORMAT_VERSION = 1
METADATA_FILE = "encoder.json"
MODEL_FP32_FILE = "model.onnx"
MODEL_INT8_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
DEFAULT_BATCH_SIZE = 64


class Precision(StrEnum):
    """Which graph of an export to run."""

    FP32 = "fp32"
    INT8 = "int8"


class OnnxEncoder:
    """An exported encoder run by onnxruntime (CPU).

    `folder` holds an export (``encoder.json`` and the files it names); `precision`
    picks the float32 or the int8 graph.  `num_threads` sets onnxruntime's intra-op
    threads (``None``: onnxruntime's default, one per physical core).  `name` is the
    source model's name followed by ``+onnx-fp32`` or ``+onnx-int8``, so the cache keeps
    the (slightly different) vectors of each path apart.

    The int8 graph quantizes activations with one scale per batch, so a text's int8
    vector depends a little on the other texts of its batch (on Home Depot titles, a
    cosine of 0.991 on average between batches of 64 and one text at a time, about the
    size of the int8 error itself, 0.992 to float32).  The same call always gives the
    same bits; ``batch_size=1`` makes every vector independent of its batch-mates, at
    about 0.6 times the throughput.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        precision: Precision | str = Precision.INT8,
        batch_size: int = DEFAULT_BATCH_SIZE,
        num_threads: int | None = None,
    ) -> None:
        folder = Path(folder)
        metadata_path = folder / METADATA_FILE
        if not metadata_path.is_file():
            raise FileNotFoundError(
                f"{folder} holds no ONNX export ({METADATA_FILE} is missing): "
                "write one with paretorec.encode.export_onnx"
            )
        metadata = json.loads(metadata_path.read_text())
        self._setup(folder, metadata, Precision(precision), batch_size, num_threads)

    @classmethod
    def from_metadata(
        cls,
        folder: Path,
        metadata: dict[str, Any],
        *,
        precision: Precision | str = Precision.INT8,
        batch_size: int = DEFAULT_BATCH_SIZE,
        num_threads: int | None = None,
    ) -> OnnxEncoder:
        """An encoder from metadata in hand (the export checks its graph this way
        before it writes ``encoder.json``)."""
        encoder = cls.__new__(cls)
        encoder._setup(Path(folder), metadata, Precision(precision), batch_size, num_threads)
        return encoder

    def _setup(
        self,
        folder: Path,
        metadata: dict[str, Any],
        precision: Precision,
        batch_size: int,
        num_threads: int | None,
    ) -> None:
        import onnxruntime

        if metadata.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{folder / METADATA_FILE}: export format {metadata.get('format')!r}, "
                f"this version reads {FORMAT_VERSION}"
            )
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        file_name = metadata["files"].get(precision.value)
        if file_name is None:
            raise ValueError(f"{folder} has no {precision.value} model (exported without it)")
        self.folder = folder
        self.precision = precision
        self.batch_size = batch_size
        self.metadata = metadata
        self.max_seq_length = int(metadata["max_seq_length"])
        self._name = f"{metadata['source_model']}+onnx-{precision.value}"
        self._dimension = int(metadata["dimension"])
        self._lower = bool(metadata["do_lower_case"])
        self._query_prompt = str(metadata["query_prompt"])
        self._document_prompt = str(metadata["document_prompt"])

        tokenizer = Tokenizer.from_file(str(folder / metadata["tokenizer"]))
        tokenizer.enable_truncation(max_length=self.max_seq_length)
        tokenizer.enable_padding(
            pad_id=int(metadata["pad_token_id"]), pad_token=str(metadata["pad_token"])
        )
        self._tokenizer = tokenizer

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.inter_op_num_threads = 1
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        self._session: Any = onnxruntime.InferenceSession(
            str(folder / file_name), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = [i.name for i in self._session.get_inputs()]

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def encode_queries(self, texts: Texts) -> Embeddings:
        return self.encode_prepared(self._prepare(texts, self._query_prompt))

    def encode_items(self, texts: Texts) -> Embeddings:
        return self.encode_prepared(self._prepare(texts, self._document_prompt))

    def _prepare(self, texts: Texts, prompt: str) -> list[str]:
        prepared = prepare_texts(texts)
        if prompt:
            prepared = [prompt + text for text in prepared]
        if self._lower:
            prepared = [text.lower() for text in prepared]
        return prepared

    def encode_prepared(self, texts: list[str]) -> Embeddings:
        """Encode texts that already carry their prompt (and case); no checks."""
        if not texts:
            return empty_embeddings(self.dimension)
        order = np.argsort([-len(text) for text in texts], kind="stable")
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._run([texts[i] for i in rows])
        return out

    def _run(self, batch: list[str]) -> Embeddings:
        encodings = self._tokenizer.encode_batch(batch)
        arrays = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        outputs = self._session.run(None, {name: arrays[name] for name in self._inputs})
        return l2_normalize(np.asarray(outputs[0], dtype=np.float32))

    def __repr__(self) -> str:
        return (
            f"OnnxEncoder({str(self.folder)!r}, precision={self.precision.value!r}, "
            f"name={self.name!r})"
        )
