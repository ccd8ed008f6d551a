"""Which text encoder a served index needs for its queries, as a reference kept with it.

An index version stores the encoder as a reference (``encoder.json``), not as code:

- ``sentence-transformers``: a model name or folder (the bundled all-MiniLM-L6-v2 by
  default), run by PyTorch;
- ``onnx``: an export folder (written by `paretorec.encode.export_onnx`), relative to
  the version folder when it was copied into it, run by onnxruntime; int8 by default,
  the fast path for one query at a time.

`item_vectors_by` records the name of the encoder that made the item vectors, so the
service can say when queries are encoded by another path (ONNX int8 queries against
float32 item vectors stay at cosine 0.99 of the float32 ones).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from paretorec.encode import BUNDLED_MODEL_NAME, TextEncoder

__all__ = ["ONNX_FOLDER", "EncoderKind", "EncoderRef", "copy_onnx_export", "open_encoder"]

ONNX_FOLDER = "onnx"


class EncoderKind(StrEnum):
    SENTENCE_TRANSFORMERS = "sentence-transformers"
    ONNX = "onnx"


@dataclass(frozen=True)
class EncoderRef:
    kind: EncoderKind
    model: str
    item_vectors_by: str
    precision: str = "int8"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "model": self.model,
            "item_vectors_by": self.item_vectors_by,
            "precision": self.precision,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> EncoderRef:
        try:
            return cls(
                kind=EncoderKind(raw["kind"]),
                model=str(raw["model"]),
                item_vectors_by=str(raw["item_vectors_by"]),
                precision=str(raw.get("precision", "int8")),
            )
        except (KeyError, ValueError) as error:
            raise ValueError(f"unreadable encoder reference {raw!r}: {error}") from error

    @classmethod
    def bundled(cls, item_vectors_by: str = BUNDLED_MODEL_NAME) -> EncoderRef:
        return cls(EncoderKind.SENTENCE_TRANSFORMERS, BUNDLED_MODEL_NAME, item_vectors_by)


def copy_onnx_export(source: Path, version_folder: Path) -> None:
    """Copy an ONNX export into a version folder (as ``onnx/``), so the version is whole."""
    target = version_folder / ONNX_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)


def open_encoder(
    ref: EncoderRef, version_folder: Path, *, num_threads: int | None = None
) -> TextEncoder:
    """The query encoder a reference names (an ONNX path is relative to `version_folder`)."""
    if ref.kind is EncoderKind.ONNX:
        from paretorec.encode import OnnxEncoder

        folder = Path(ref.model)
        if not folder.is_absolute():
            folder = version_folder / folder
        return OnnxEncoder(folder, precision=ref.precision, batch_size=1, num_threads=num_threads)
    from paretorec.encode import SentenceTransformerEncoder

    if ref.model == BUNDLED_MODEL_NAME:
        return SentenceTransformerEncoder()
    return SentenceTransformerEncoder(Path(ref.model))
