"""The embedding cache: hits are not re-encoded, changed texts are, torn writes are
harmless, reads are memory-mapped, progress adds up."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from paretorec.encode import EmbeddingCache, TextEncoder, encode_items_cached, text_key
from paretorec.encode import cache as cache_module
from paretorec.encode.base import Embeddings, Texts, l2_normalize, prepare_texts

DIMENSION = 4


class FakeEncoder:
    """A deterministic encoder that records every text it encodes."""

    def __init__(self, name: str = "fake-model", dimension: int = DIMENSION) -> None:
        self.name = name
        self.dimension = dimension
        self.calls: list[list[str]] = []

    def vector(self, text: str) -> Embeddings:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        vectors: Embeddings = l2_normalize(
            np.random.default_rng(seed).normal(size=(1, self.dimension))
        )
        return np.asarray(vectors[0], dtype=np.float32)

    def encode_queries(self, texts: Texts) -> Embeddings:
        return self.encode_items(texts)

    def encode_items(self, texts: Texts) -> Embeddings:
        prepared = prepare_texts(texts)
        self.calls.append(prepared)
        return np.array([self.vector(t) for t in prepared], dtype=np.float32).reshape(
            len(prepared), self.dimension
        )

    def encoded(self) -> list[str]:
        return [text for call in self.calls for text in call]


def test_fake_encoder_meets_the_contract() -> None:
    assert isinstance(FakeEncoder(), TextEncoder)


def test_only_new_and_changed_texts_are_encoded(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    first = encode_items_cached(encoder, ["drill", "towel", "hammer"], tmp_path)
    assert encoder.encoded() == ["drill", "towel", "hammer"]
    encoder.calls.clear()
    # "towel" changed its title, "saw" is new; "drill" and "hammer" are unchanged.
    second = encode_items_cached(encoder, ["drill", "bath towel", "hammer", "saw"], tmp_path)
    assert encoder.encoded() == ["bath towel", "saw"]
    np.testing.assert_array_equal(second[[0, 2]], first[[0, 2]])
    expected = np.array([encoder.vector(t) for t in ["drill", "bath towel", "hammer", "saw"]])
    np.testing.assert_array_equal(second, expected.astype(np.float32))
    encoder.calls.clear()
    encode_items_cached(encoder, ["saw", "drill"], tmp_path)
    assert encoder.calls == []


def test_models_do_not_share_entries(tmp_path: Path) -> None:
    a, b = FakeEncoder("model-a"), FakeEncoder("model-b")
    encode_items_cached(a, ["drill"], tmp_path)
    encode_items_cached(b, ["drill"], tmp_path)
    assert b.encoded() == ["drill"]
    assert len({p.name for p in tmp_path.iterdir()}) == 2


def test_duplicates_encoded_once_and_progress_adds_up(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    encode_items_cached(encoder, ["a", "b"], tmp_path)
    encoder.calls.clear()
    steps: list[int] = []
    texts = ["a", "c", "d", "c", "e", "b", "f", "g"]
    out = encode_items_cached(encoder, texts, tmp_path, batch_size=2, on_progress=steps.append)
    assert encoder.calls == [["c", "d"], ["e", "f"], ["g"]]
    assert steps == [2, 3, 2, 1]  # the 2 hits, then each batch's texts ("c" twice)
    assert sum(steps) == len(texts)
    np.testing.assert_array_equal(out[1], out[3])


def test_empty_input(tmp_path: Path) -> None:
    steps: list[int] = []
    out = encode_items_cached(FakeEncoder(), [], tmp_path, on_progress=steps.append)
    assert out.shape == (0, DIMENSION)
    assert steps == []


def test_reads_are_memory_mapped(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    encode_items_cached(encoder, ["x", "y"], tmp_path)
    cache = EmbeddingCache(tmp_path, encoder.name, DIMENSION)
    mapped = cache.vectors()
    assert isinstance(mapped, np.memmap)
    assert mapped.shape == (2, DIMENSION)
    assert not mapped.flags.writeable
    rows = cache.lookup([text_key("y"), text_key("absent")])
    assert rows.tolist() == [1, -1]
    np.testing.assert_array_equal(cache.get(rows[:1])[0], encoder.vector("y"))


def test_a_torn_write_is_ignored_and_repaired(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    encode_items_cached(encoder, ["x", "y"], tmp_path)
    folder = EmbeddingCache(tmp_path, encoder.name, DIMENSION).folder
    # A writer died after writing one and a half vectors and half a key.
    with (folder / "vectors.f32").open("ab") as f:
        f.write(np.ones(6, dtype=np.float32).tobytes())
    with (folder / "keys.bin").open("ab") as f:
        f.write(text_key("z")[:7])
    cache = EmbeddingCache(tmp_path, encoder.name, DIMENSION)
    assert len(cache) == 2
    assert cache.lookup([text_key("z")]).tolist() == [-1]

    encoder.calls.clear()
    out = encode_items_cached(encoder, ["z", "x", "w"], tmp_path)
    assert encoder.encoded() == ["z", "w"]
    np.testing.assert_array_equal(out, np.array([encoder.vector(t) for t in "zxw"]))
    assert (folder / "vectors.f32").stat().st_size == 4 * DIMENSION * 4
    assert (folder / "keys.bin").stat().st_size == 4 * 16
    reopened = EmbeddingCache(tmp_path, encoder.name, DIMENSION)
    np.testing.assert_array_equal(
        reopened.get(reopened.lookup([text_key(t) for t in "xyzw"])),
        np.array([encoder.vector(t) for t in "xyzw"]),
    )


def test_vectors_without_their_keys_are_not_rows(tmp_path: Path) -> None:
    """The crash between the two fsyncs: vectors written, keys not."""
    encoder = FakeEncoder()
    encode_items_cached(encoder, ["x"], tmp_path)
    cache = EmbeddingCache(tmp_path, encoder.name, DIMENSION)

    real_append = cache_module._append_synced

    def append_until_keys(path: Path, keep: int, data: bytes) -> None:
        if path.name == "keys.bin":
            raise OSError("disk full")
        real_append(path, keep, data)

    keys_before = (cache.folder / "keys.bin").read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cache_module, "_append_synced", append_until_keys)
        with pytest.raises(OSError, match="disk full"):
            cache.append([text_key("y")], encoder.encode_items(["y"]))
    assert (cache.folder / "keys.bin").read_bytes() == keys_before
    assert (cache.folder / "vectors.f32").stat().st_size == 2 * DIMENSION * 4
    reopened = EmbeddingCache(tmp_path, encoder.name, DIMENSION)
    assert len(reopened) == 1
    assert reopened.lookup([text_key("y")]).tolist() == [-1]


def test_a_cache_of_another_dimension_is_refused(tmp_path: Path) -> None:
    encode_items_cached(FakeEncoder(), ["x"], tmp_path)
    with pytest.raises(ValueError, match="cache dimension is 4, expected 8"):
        encode_items_cached(FakeEncoder(dimension=8), ["x"], tmp_path)


def test_encoder_returning_a_wrong_shape_is_caught(tmp_path: Path) -> None:
    class Broken(FakeEncoder):
        def encode_items(self, texts: Texts) -> Embeddings:
            return np.zeros((1, DIMENSION), dtype=np.float32)

    with pytest.raises(ValueError, match=r"returned vectors of shape \(1, 4\) for 2 texts"):
        encode_items_cached(Broken(), ["a", "b"], tmp_path)


def test_bad_texts_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    with pytest.raises(ValueError, match="text 1 is None"):
        encode_items_cached(encoder, ["a", None], tmp_path)  # type: ignore[list-item]
    assert encoder.calls == []
    assert list(tmp_path.iterdir()) == []
