"""Promote and roll back are all or nothing: a version that fails verification or fails
to load leaves the registry and the served model as they were (defect 4 of issue 17)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.serve import ModelKind, ModelRegistry
from paretorec.serve.encoders import EncoderRef
from paretorec.serve.index_version import build_index_version
from paretorec.serve.registry import PROMOTED, RegistryError
from tests.serve.conftest import AUTH, AppFactory, HashingEncoder, shop_catalog


def _two_indexes(root: Path, cache: Path) -> ModelRegistry:
    """v0001: all 12 items; v0002: the first 5; v0001 promoted, then v0002."""
    registry = ModelRegistry(root)
    encoder = HashingEncoder()
    reference = EncoderRef.bundled(item_vectors_by=encoder.name)
    full = shop_catalog()
    build_index_version(registry, full, encoder, cache=cache, reference=reference)
    smaller = type(full)(full.frame.head(5))
    build_index_version(registry, smaller, encoder, cache=cache, reference=reference)
    registry.promote(ModelKind.INDEX, "v0001")
    registry.promote(ModelKind.INDEX, "v0002")
    return registry


def _corrupt(registry: ModelRegistry, version: str) -> None:
    folder = registry.root / "index" / version
    victim = next(p for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "manifest.json")
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))


def test_rollback_to_a_corrupted_version_changes_nothing(tmp_path: Path) -> None:
    registry = _two_indexes(tmp_path / "models", tmp_path / "cache")
    _corrupt(registry, "v0001")
    promoted = (registry.root / "index" / PROMOTED).read_bytes()
    with pytest.raises(RegistryError, match=r"cannot roll index back to v0001: .*corrupted"):
        registry.rollback(ModelKind.INDEX)
    with pytest.raises(RegistryError, match="v0002 stays promoted"):
        registry.rollback_target(ModelKind.INDEX)
    assert (registry.root / "index" / PROMOTED).read_bytes() == promoted
    assert registry.promoted(ModelKind.INDEX) == "v0002"


def test_the_cli_says_why_in_one_line(tmp_path: Path) -> None:
    registry = _two_indexes(tmp_path / "models", tmp_path / "cache")
    _corrupt(registry, "v0001")
    result = CliRunner().invoke(
        app, ["models", "rollback", "index", "--models", str(registry.root)]
    )
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot roll index back to v0001" in lines[0], result.output
    assert registry.promoted(ModelKind.INDEX) == "v0002"


def test_the_service_refuses_a_corrupted_target_and_keeps_serving(
    make_client: AppFactory, tmp_path: Path
) -> None:
    registry = _two_indexes(tmp_path / "models", tmp_path / "cache")
    client = make_client(models=registry.root)
    assert client.get("/healthz").json()["items"] == 5
    _corrupt(registry, "v0001")
    before = (registry.root / "index" / PROMOTED).read_bytes()

    back = client.post("/admin/rollback", json={"kind": "index"}, headers=AUTH)
    assert back.status_code == 422, back.text
    assert "corrupted" in back.json()["error"]
    promote = client.post(
        "/admin/promote", json={"kind": "index", "version": "v0001"}, headers=AUTH
    )
    assert promote.status_code == 422 and "corrupted" in promote.json()["error"]

    assert (registry.root / "index" / PROMOTED).read_bytes() == before
    health = client.get("/healthz").json()
    assert health["items"] == 5 and health["stages"]["index"]["version"] == "v0002"
    assert client.post("/search", json={"query": "drill"}).status_code == 200
    # and the next start serves what the registry says, as before
    assert make_client(models=registry.root).get("/healthz").json()["items"] == 5


def test_a_verified_version_that_fails_to_load_is_not_promoted(
    make_client: AppFactory, tmp_path: Path
) -> None:
    registry = _two_indexes(tmp_path / "models", tmp_path / "cache")
    client = make_client(models=registry.root)
    # v0001's files match its manifest, but its index description is not one this reads
    folder = registry.root / "index" / "v0001"
    manifest = json.loads((folder / "manifest.json").read_text())
    broken = next(name for name in manifest["files"] if name.endswith(".json"))
    (folder / broken).write_text("{not json")
    manifest["files"][broken] = __import__("hashlib").sha256(b"{not json").hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))

    back = client.post("/admin/rollback", json={"kind": "index"}, headers=AUTH)
    assert back.status_code == 422, back.text
    assert "does not load" in back.json()["error"]
    assert registry.promoted(ModelKind.INDEX) == "v0002"
    assert client.get("/healthz").json()["items"] == 5


def test_promote_verifies_even_when_the_service_does_not(
    make_client: AppFactory, tmp_path: Path
) -> None:
    """Started with --no-verify (loads skip the hashes), /admin/promote still refuses a
    corrupted version before serving it."""
    registry = _two_indexes(tmp_path / "models", tmp_path / "cache")
    client = make_client(models=registry.root, verify=False)
    _corrupt(registry, "v0001")
    promote = client.post(
        "/admin/promote", json={"kind": "index", "version": "v0001"}, headers=AUTH
    )
    assert promote.status_code == 422 and "corrupted" in promote.json()["error"]
    health = client.get("/healthz").json()
    assert health["items"] == 5 and health["stages"]["index"]["version"] == "v0002"
