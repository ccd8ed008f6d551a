"""The encoder contract on the real bundled MiniLM (PyTorch) and its ONNX export
(float32 and int8): shape, unit norm, meaning, determinism, agreement, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from paretorec.encode import (
    BUNDLED_MODEL_NAME,
    ModelUnavailableError,
    OnnxEncoder,
    OnnxExport,
    Precision,
    SentenceTransformerEncoder,
    TextEncoder,
    export_onnx,
)
from paretorec.encode.base import Embeddings

pytestmark = pytest.mark.slow  # the model takes seconds to load and to export

DRILL, DRILL_DRIVER, TOWEL = "cordless drill", "18V cordless drill driver", "bath towel"
# Measured on 256 Home Depot titles: fp32 ONNX vs torch min cosine 0.99999;
# int8 mean 0.992, min 0.980 (see benchmarks/results/encoder.md for all 10,000).
FP32_MIN_COSINE = 0.9999
INT8_MEAN_COSINE = 0.985
INT8_MIN_COSINE = 0.95


@pytest.fixture(scope="session", params=["torch", "onnx-fp32", "onnx-int8"])
def encoder(
    request: pytest.FixtureRequest, st_encoder: SentenceTransformerEncoder, onnx_export: OnnxExport
) -> TextEncoder:
    if request.param == "torch":
        return st_encoder
    precision = Precision.FP32 if request.param == "onnx-fp32" else Precision.INT8
    return OnnxEncoder(onnx_export.folder, precision=precision, num_threads=2)


def cosines(a: Embeddings, b: Embeddings) -> Embeddings:
    return np.asarray(np.sum(a * b, axis=1), dtype=np.float32)


def test_contract_shape_dtype_and_unit_norm(encoder: TextEncoder) -> None:
    assert isinstance(encoder, TextEncoder)
    assert encoder.dimension == 384
    for encode in (encoder.encode_queries, encoder.encode_items):
        vectors = encode([DRILL, DRILL_DRIVER, TOWEL])
        assert vectors.shape == (3, 384)
        assert vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_similar_texts_are_closer_than_unrelated(encoder: TextEncoder) -> None:
    query = encoder.encode_queries([DRILL])[0]
    items = encoder.encode_items([DRILL_DRIVER, TOWEL])
    driver, towel = items @ query
    assert driver > 0.5 > towel
    assert driver - towel > 0.4


def test_deterministic_and_nearly_independent_of_batch_mates(encoder: TextEncoder) -> None:
    """The same call gives the same bits.  A text's vector barely depends on the other
    texts of its batch (padding) in float32; int8 quantizes activations with one scale
    per batch, so there it moves by about as much as the quantization error itself."""
    texts = [DRILL, "a much longer text about a cordless hammer drill with two batteries"]
    first = encoder.encode_items(texts)
    np.testing.assert_array_equal(first, encoder.encode_items(texts))
    alone = encoder.encode_items([DRILL])
    bound = 0.97 if encoder.name.endswith("int8") else 0.99999
    assert float(alone[0] @ first[0]) > bound


def test_names_key_the_cache(
    st_encoder: SentenceTransformerEncoder, onnx_export: OnnxExport
) -> None:
    assert st_encoder.name == BUNDLED_MODEL_NAME
    assert OnnxEncoder(onnx_export.folder, precision="fp32").name == (
        f"{BUNDLED_MODEL_NAME}+onnx-fp32"
    )
    assert OnnxEncoder(onnx_export.folder).name == f"{BUNDLED_MODEL_NAME}+onnx-int8"


def test_empty_list_gives_no_rows(encoder: TextEncoder) -> None:
    for encode in (encoder.encode_queries, encoder.encode_items):
        empty = encode([])
        assert empty.shape == (0, 384)
        assert empty.dtype == np.float32


def test_empty_string_has_a_defined_vector(encoder: TextEncoder) -> None:
    vectors = encoder.encode_queries(["", "   ", ""])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-5)  # whitespace is no token


def test_long_text_is_truncated_to_its_beginning(encoder: TextEncoder) -> None:
    head = "cordless drill " * 150  # well past 256 tokens
    long_text = (head + "bath towel " * 1000)[:10_000]
    assert len(long_text) == 10_000
    vectors = encoder.encode_queries([long_text, head])
    assert float(vectors[0] @ vectors[1]) > 0.999


def test_bytes_are_utf8_and_bad_input_is_refused(encoder: TextEncoder) -> None:
    np.testing.assert_allclose(
        encoder.encode_queries(["drill bit 1/4 in."]),
        encoder.encode_queries([b"drill bit 1/4 in."]),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match=r"text 1 is not valid UTF-8 \(byte 0xff at offset 3"):
        encoder.encode_queries(["ok", b"abc\xffdef"])
    with pytest.raises(ValueError, match="text 0 cannot be written as UTF-8"):
        encoder.encode_items([b"caf\xe9".decode("utf-8", errors="surrogateescape")])
    with pytest.raises(ValueError, match="texts is None"):
        encoder.encode_queries(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="text 1 is None"):
        encoder.encode_items(["drill", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="single string"):
        encoder.encode_queries("drill")
    with pytest.raises(TypeError, match="text 0 is a int"):
        encoder.encode_items([3])  # type: ignore[list-item]


def test_onnx_matches_torch_on_real_titles(
    st_encoder: SentenceTransformerEncoder, onnx_export: OnnxExport, homedepot_titles: list[str]
) -> None:
    reference = st_encoder.encode_items(homedepot_titles)
    fp32 = OnnxEncoder(onnx_export.folder, precision="fp32", num_threads=2)
    int8 = OnnxEncoder(onnx_export.folder, precision="int8", num_threads=2)
    fp32_cos = cosines(fp32.encode_items(homedepot_titles), reference)
    int8_cos = cosines(int8.encode_items(homedepot_titles), reference)
    assert fp32_cos.min() > FP32_MIN_COSINE
    assert int8_cos.mean() > INT8_MEAN_COSINE
    assert int8_cos.min() > INT8_MIN_COSINE


def test_export_folder_is_complete_and_self_describing(onnx_export: OnnxExport) -> None:
    names = {p.name for p in onnx_export.folder.iterdir()}
    assert names == {"encoder.json", "model.onnx", "model.int8.onnx", "tokenizer.json"}
    metadata = json.loads((onnx_export.folder / "encoder.json").read_text())
    assert metadata == onnx_export.metadata
    assert metadata["source_model"] == BUNDLED_MODEL_NAME
    assert (metadata["dimension"], metadata["max_seq_length"]) == (384, 256)
    assert metadata["quantization"]["per_channel"] is True
    assert onnx_export.model_int8 is not None
    assert onnx_export.model_int8.stat().st_size < 0.7 * onnx_export.model_fp32.stat().st_size
    with pytest.raises(FileExistsError, match="already holds an ONNX export"):
        export_onnx(onnx_export.folder)


def test_onnx_encoder_refuses_a_folder_without_export(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"encoder\.json is missing"):
        OnnxEncoder(tmp_path)


def test_short_max_seq_length_changes_name_and_truncates(
    st_encoder: SentenceTransformerEncoder,
) -> None:
    short = SentenceTransformerEncoder(max_seq_length=8)
    assert short.name == f"{BUNDLED_MODEL_NAME}#max8"
    assert short.max_seq_length == 8 and st_encoder.max_seq_length == 256
    text = "cordless drill driver kit with two lithium ion batteries and a charger"
    cut, longer = short.encode_items([text, text + " and a carrying case"])
    assert float(cut @ st_encoder.encode_items([text])[0]) < 0.99
    np.testing.assert_allclose(cut, longer, atol=1e-5)  # both keep the same 6 word pieces


def test_a_hub_name_fails_with_how_to_go_offline() -> None:
    with pytest.raises(ModelUnavailableError, match=r"loaded offline.*--local-dir DIR"):
        SentenceTransformerEncoder("BAAI/bge-large-en-v1.5")
    with pytest.raises(ModelUnavailableError):
        export_onnx(Path("unused"), "intfloat/e5-large-v2")
