"""Text encoders (the "large model"), item texts, user vectors and the embedding cache.

- `TextEncoder`: the contract, ``encode_queries`` / ``encode_items`` give unit-length
  float32 rows; `SentenceTransformerEncoder` (PyTorch, the reference) and `OnnxEncoder`
  (onnxruntime, float32 or int8, written by `export_onnx`) implement it.  Models are
  local folders, loaded offline; the bundled all-MiniLM-L6-v2 is the default.
- `item_text`: the one definition of an item's text.
- `user_vectors`: a user as the (recency-weighted) mean of her items' vectors.
- `encode_items_cached`: item vectors through an on-disk cache keyed by model and text.
"""

from paretorec.encode.base import Embeddings, TextEncoder, l2_normalize, prepare_texts
from paretorec.encode.cache import EmbeddingCache, encode_items_cached, text_key
from paretorec.encode.item_text import DEFAULT_FIELDS, ItemField, item_text
from paretorec.encode.models import (
    BUNDLED_MODEL_NAME,
    ModelUnavailableError,
    bundled_model_path,
)
from paretorec.encode.onnx_encoder import OnnxEncoder, Precision
from paretorec.encode.onnx_export import OnnxExport, export_onnx
from paretorec.encode.sbert import SentenceTransformerEncoder
from paretorec.encode.users import ColdStart, UserVectors, user_vectors

__all__ = [
    "BUNDLED_MODEL_NAME",
    "DEFAULT_FIELDS",
    "ColdStart",
    "EmbeddingCache",
    "Embeddings",
    "ItemField",
    "ModelUnavailableError",
    "OnnxEncoder",
    "OnnxExport",
    "Precision",
    "SentenceTransformerEncoder",
    "TextEncoder",
    "UserVectors",
    "bundled_model_path",
    "encode_items_cached",
    "export_onnx",
    "item_text",
    "l2_normalize",
    "prepare_texts",
    "text_key",
    "user_vectors",
]
