import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.serve.registry import MANIFEST, ModelKind, ModelRegistry, RegistryError


def _publish(registry: ModelRegistry, payload: bytes, *, data: Path | None = None) -> str:
    with registry.stage(
        ModelKind.RANKER, data=data, config={"layers": 2, "path": Path("x")}
    ) as staged:
        (staged.folder / "weights.safetensors").write_bytes(payload)
        (staged.folder / "sub").mkdir()
        (staged.folder / "sub" / "config.json").write_text("{}")
        staged.metrics["click.auc"] = 0.75
    assert staged.manifest is not None
    return staged.manifest.version


def test_versions_count_up_and_manifest_records_everything(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "items.csv").write_text("item_id,title\n1,a\n")
    registry = ModelRegistry(tmp_path / "models")
    assert _publish(registry, b"one", data=data) == "v0001"
    assert _publish(registry, b"two") == "v0002"
    assert registry.versions(ModelKind.RANKER) == ["v0001", "v0002"]
    folder, manifest = registry.load(ModelKind.RANKER)  # nothing promoted: the latest
    assert manifest.version == "v0002"
    assert (folder / "weights.safetensors").read_bytes() == b"two"
    first = registry.manifest(ModelKind.RANKER, "v0001")
    assert first.data == str(data) and first.data_fingerprint is not None
    assert first.config == {"layers": 2, "path": "x"}
    assert first.metrics == {"click.auc": 0.75}
    assert set(first.files) == {"weights.safetensors", "sub/config.json"}
    assert not [p for p in (tmp_path / "models" / "ranker").iterdir() if p.name.startswith(".")]


def test_failed_training_leaves_no_version(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    with pytest.raises(ZeroDivisionError), registry.stage(ModelKind.POLICY) as staged:
        (staged.folder / "w.safetensors").write_bytes(b"x")
        _ = 1 / 0
    assert registry.versions(ModelKind.POLICY) == []
    with (
        pytest.raises(RegistryError, match="nothing was written"),
        registry.stage(ModelKind.POLICY),
    ):
        pass
    assert list((tmp_path / "policy").iterdir()) == []


def test_load_refuses_corrupted_incomplete_and_mismatched(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    version = _publish(registry, b"weights")
    folder = tmp_path / "ranker" / version
    (folder / "weights.safetensors").write_bytes(b"tampered")
    with pytest.raises(RegistryError, match=r"corrupted: weights\.safetensors"):
        registry.load(ModelKind.RANKER, version)
    (folder / "weights.safetensors").unlink()
    with pytest.raises(RegistryError, match=r"incomplete: weights\.safetensors is missing"):
        registry.load(ModelKind.RANKER, version)
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["kind"] = "policy"
    (folder / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(RegistryError, match="manifest says policy"):
        registry.load(ModelKind.RANKER, version)
    with pytest.raises(RegistryError, match="no ranker version 'v0009'"):
        registry.load(ModelKind.RANKER, "v0009")
    with pytest.raises(RegistryError, match="train one first"):
        registry.load(ModelKind.ENCODER)


def test_promote_and_rollback(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    first, second = _publish(registry, b"1"), _publish(registry, b"2")
    registry.promote(ModelKind.RANKER, first)
    assert registry.load(ModelKind.RANKER)[1].version == first
    registry.promote(ModelKind.RANKER, second)
    assert registry.promoted(ModelKind.RANKER) == second
    assert registry.rollback(ModelKind.RANKER) == first
    assert registry.load(ModelKind.RANKER)[1].version == first
    with pytest.raises(RegistryError, match="no earlier promoted"):
        registry.rollback(ModelKind.RANKER)
    with pytest.raises(RegistryError):
        registry.promote(ModelKind.RANKER, "v0042")


def test_models_cli(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    first, second = _publish(registry, b"1"), _publish(registry, b"2")
    runner = CliRunner()
    models = ["--models", str(tmp_path)]
    result = runner.invoke(app, ["models", "promote", "ranker", first, *models])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["models", "list", *models])
    assert result.exit_code == 0 and first in result.output and second in result.output
    result = runner.invoke(app, ["models", "show", "ranker", *models])
    assert result.exit_code == 0 and f'"version": "{first}"' in result.output
    result = runner.invoke(app, ["models", "rollback", "ranker", *models])
    assert result.exit_code == 1 and "no earlier promoted" in result.output
    result = runner.invoke(app, ["models", "show", "ranker", "v0007", *models])
    assert result.exit_code == 1 and "no ranker version 'v0007'" in result.output
