"""Model folders: offline resolution, names that key the cache, the settings read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from paretorec.encode import BUNDLED_MODEL_NAME, ModelUnavailableError, bundled_model_path
from paretorec.encode.models import read_model_spec, resolve_model


def write_model(folder: Path, *, pooling: dict[str, object], prompts: dict[str, str]) -> Path:
    (folder / "1_Pooling").mkdir(parents=True)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": 512, "do_lower_case": True})
    )
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": prompts}))
    (folder / "model.safetensors").write_bytes(b"\0" * 10)
    return folder


def test_bundled_model_by_name_or_path() -> None:
    for reference in (BUNDLED_MODEL_NAME, "all-MiniLM-L6-v2", bundled_model_path()):
        folder, name = resolve_model(reference)
        assert folder.resolve() == bundled_model_path().resolve()
        assert name == BUNDLED_MODEL_NAME
    spec = read_model_spec(bundled_model_path())
    assert (spec.pooling, spec.normalize, spec.max_seq_length) == ("mean", True, 256)
    assert (spec.query_prompt, spec.document_prompt, spec.do_lower_case) == ("", "", False)


def test_hub_names_are_refused_with_advice() -> None:
    with pytest.raises(ModelUnavailableError) as error:
        resolve_model("BAAI/bge-small-en-v1.5")
    message = str(error.value)
    assert "not a local folder" in message
    assert "loaded offline" in message
    assert "huggingface-cli download BAAI/bge-small-en-v1.5 --local-dir DIR" in message
    assert isinstance(error.value, FileNotFoundError)


def test_other_folders_are_named_by_a_fingerprint(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "model", pooling={"pooling_mode_cls_token": True}, prompts={})
    _, name = resolve_model(folder)
    assert name.startswith("model@") and len(name) == len("model@") + 12
    assert resolve_model(str(folder))[1] == name
    (folder / "model.safetensors").write_bytes(b"\0" * 11)  # new weights
    assert resolve_model(folder)[1] != name


def test_spec_reads_pooling_prompts_and_case(tmp_path: Path) -> None:
    folder = write_model(
        tmp_path / "e5",
        pooling={"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False},
        prompts={"query": "query: ", "passage": "passage: "},
    )
    spec = read_model_spec(folder)
    assert (spec.pooling, spec.normalize, spec.max_seq_length) == ("mean", False, 512)
    assert (spec.query_prompt, spec.document_prompt, spec.do_lower_case) == (
        "query: ",
        "passage: ",
        True,
    )


def test_unsupported_layouts_are_refused(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "m", pooling={"pooling_mode_max_tokens": True}, prompts={})
    with pytest.raises(ValueError, match="pooling 'max_tokens' is not supported"):
        read_model_spec(folder)
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(ValueError, match=r"modules \['Dense'\] after pooling"):
        read_model_spec(folder)


def test_same_size_weights_change_the_fingerprint(tmp_path: Path) -> None:
    """A model fine-tuned again into the same folder has weights of the same size: the
    name (which keys the embedding cache) must still change, or stale vectors are reused."""
    folder = write_model(tmp_path / "model", pooling={"pooling_mode_cls_token": True}, prompts={})
    _, before = resolve_model(folder)
    weights = folder / "model.safetensors"
    stat = weights.stat()
    weights.write_bytes(b"\1" * 10)  # same size, other bytes
    assert weights.stat().st_size == stat.st_size
    assert resolve_model(folder)[1] != before
    weights.write_bytes(b"\0" * 10)  # the old weights again: the old name again
    assert resolve_model(folder)[1] == before


def test_file_hashes_are_remembered_by_size_and_modification_time(tmp_path: Path) -> None:
    folder = write_model(tmp_path / "model", pooling={"pooling_mode_cls_token": True}, prompts={})
    weights = folder / "model.safetensors"
    _, name = resolve_model(folder)
    stat = weights.stat()
    # Same size and modification time: the remembered hash is used (no re-read) ...
    weights.write_bytes(b"\1" * 10)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert resolve_model(folder)[1] == name
    # ... and nothing is written into the model folder.
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [
            "1_Pooling",
            "modules.json",
            "sentence_bert_config.json",
            "config_sentence_transformers.json",
            "model.safetensors",
        ]
    )
