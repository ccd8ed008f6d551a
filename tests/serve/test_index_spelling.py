"""A published index version carries the catalog's spell corrector, and reads it back."""

from __future__ import annotations

from pathlib import Path

from paretorec.serve.encoders import EncoderRef
from paretorec.serve.index_version import build_index_version, read_index
from paretorec.serve.registry import ModelRegistry
from tests.serve.conftest import HashingEncoder, shop_catalog


def test_the_served_index_corrects_queries_towards_its_catalog(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models")
    encoder = HashingEncoder()
    manifest = build_index_version(
        registry,
        shop_catalog(),
        encoder,
        cache=tmp_path / "cache",
        reference=EncoderRef.bundled(item_vectors_by=encoder.name),
    )
    bundle = read_index(registry.root / "index" / manifest.version)
    assert bundle.retriever.speller is not None
    assert bundle.retriever.lexical_query("hedge trimer cordles") == "hedge trimmer cordless"
    found = bundle.retriever.search(
        "hedge trimer", encoder.encode_queries(["hedge trimer"])[0], k=1
    )
    assert found.item_ids == ("g3",)
