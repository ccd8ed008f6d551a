"""Versioned model folders with a manifest: what was trained, on what, and how well.

Layout under the registry root::

    <root>/<kind>/<version>/...files...      one immutable folder per version
    <root>/<kind>/<version>/manifest.json    kind, version, data, config, metrics, file hashes
    <root>/<kind>/promoted.json              the promoted version and the promotion history

A version is written into a hidden staging folder and renamed into place only once its
manifest is complete, so a crash never leaves a half-written version behind. Loading
checks the manifest and every file's SHA-256 and refuses a mismatched or incomplete
version with a clear error. Weights are safetensors / ONNX / JSON: nothing is unpickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

MODELS_ENV = "PARETOREC_MODELS"
MANIFEST = "manifest.json"
PROMOTED = "promoted.json"
FORMAT_VERSION = 1
_VERSION_PATTERN = re.compile(r"^v(\d{4,})$")


class ModelKind(StrEnum):
    ENCODER = "encoder"
    INDEX = "index"
    RANKER = "ranker"
    POLICY = "policy"
    RECOMMENDER = "recommender"


class RegistryError(RuntimeError):
    """A version that is missing, incomplete, corrupted or of another kind."""


def default_models_dir() -> Path:
    """`$PARETOREC_MODELS`, or `models/` in the current folder."""
    return Path(os.environ.get(MODELS_ENV, "models"))


@dataclass(frozen=True)
class Manifest:
    kind: ModelKind
    version: str
    created_at: str
    data: str | None
    data_fingerprint: str | None
    config: dict[str, Any]
    metrics: dict[str, float]
    files: dict[str, str]  # path relative to the version folder -> sha256
    paretorec_version: str
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "kind": self.kind.value}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, source: Path) -> Manifest:
        try:
            raw = json.loads(text)
            return cls(
                kind=ModelKind(raw["kind"]),
                version=str(raw["version"]),
                created_at=str(raw["created_at"]),
                data=raw.get("data"),
                data_fingerprint=raw.get("data_fingerprint"),
                config=dict(raw.get("config", {})),
                metrics={str(k): float(v) for k, v in raw.get("metrics", {}).items()},
                files={str(k): str(v) for k, v in raw["files"].items()},
                paretorec_version=str(raw.get("paretorec_version", "unknown")),
                format_version=int(raw.get("format_version", 0)),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise RegistryError(f"{source}: unreadable manifest ({error})") from error


@dataclass
class StagedVersion:
    """A version being written: write files into `folder`, add to `metrics`."""

    kind: ModelKind
    folder: Path
    metrics: dict[str, float] = field(default_factory=dict)
    manifest: Manifest | None = None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_fingerprint(data: Path) -> str:
    """A cheap identity of a dataset folder or file: names, sizes and modification times."""
    paths = sorted(p for p in data.rglob("*") if p.is_file()) if data.is_dir() else [data]
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(
            f"{path.relative_to(data.parent)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()[:16]


def _package_version() -> str:
    try:
        return package_version("paretorec")
    except PackageNotFoundError:
        return "unknown"


def _files_of(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): file_sha256(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def _json_ready(config: dict[str, Any]) -> dict[str, Any]:
    # Paths and enums in a config become strings; anything else JSON cannot hold is an error.
    ready: dict[str, Any] = json.loads(json.dumps(config, default=str))
    return ready


class ModelRegistry:
    """Create, list, load, promote and roll back model versions under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _kind_dir(self, kind: ModelKind) -> Path:
        return self.root / ModelKind(kind).value

    def versions(self, kind: ModelKind) -> list[str]:
        """Complete versions of `kind`, oldest first."""
        folder = self._kind_dir(kind)
        if not folder.is_dir():
            return []
        found = [
            (int(match.group(1)), path.name)
            for path in folder.iterdir()
            if (match := _VERSION_PATTERN.match(path.name)) and (path / MANIFEST).is_file()
        ]
        return [name for _, name in sorted(found)]

    def manifests(self, kind: ModelKind | None = None) -> list[Manifest]:
        kinds = [kind] if kind is not None else list(ModelKind)
        return [self.manifest(k, v) for k in kinds for v in self.versions(k)]

    def manifest(self, kind: ModelKind, version: str) -> Manifest:
        path = self._kind_dir(kind) / version / MANIFEST
        if not path.is_file():
            known = ", ".join(self.versions(kind)) or "none"
            raise RegistryError(f"no {kind} version {version!r} in {self.root} (known: {known})")
        manifest = Manifest.from_json(path.read_text(), source=path)
        if manifest.kind != kind or manifest.version != version:
            raise RegistryError(
                f"{path}: manifest says {manifest.kind}/{manifest.version}, folder is {kind}/{version}"
            )
        return manifest

    @contextlib.contextmanager
    def stage(
        self, kind: ModelKind, *, data: Path | None = None, config: dict[str, Any] | None = None
    ) -> Iterator[StagedVersion]:
        """Write a new version: files go into `staged.folder`; on success it becomes the next
        version (`staged.manifest` is set); on an exception nothing is kept."""
        kind = ModelKind(kind)
        kind_dir = self._kind_dir(kind)
        kind_dir.mkdir(parents=True, exist_ok=True)
        staging = kind_dir / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        staged = StagedVersion(kind=kind, folder=staging)
        try:
            yield staged
            if not any(staging.iterdir()):
                raise RegistryError(f"nothing was written for the new {kind} version")
            staged.manifest = self._publish(staged, data=data, config=config or {})
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _publish(
        self, staged: StagedVersion, *, data: Path | None, config: dict[str, Any]
    ) -> Manifest:
        files = _files_of(staged.folder)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        for _ in range(100):  # another writer may take the same number: try the next one
            existing = [int(v[1:]) for v in self.versions(staged.kind)]
            version = f"v{max(existing, default=0) + 1:04d}"
            manifest = Manifest(
                kind=staged.kind,
                version=version,
                created_at=created,
                data=str(data) if data is not None else None,
                data_fingerprint=data_fingerprint(data)
                if data is not None and data.exists()
                else None,
                config=_json_ready(config),
                metrics={k: float(v) for k, v in staged.metrics.items()},
                files=files,
                paretorec_version=_package_version(),
            )
            (staged.folder / MANIFEST).write_text(manifest.to_json())
            try:
                staged.folder.rename(self._kind_dir(staged.kind) / version)
            except OSError:
                continue
            return manifest
        raise RegistryError(f"could not allocate a new {staged.kind} version in {self.root}")

    def resolve(self, kind: ModelKind, version: str | None = None) -> str:
        """`version`, or the promoted one, or the latest."""
        if version is not None:
            return version
        promoted = self.promoted(kind)
        if promoted is not None:
            return promoted
        versions = self.versions(kind)
        if not versions:
            raise RegistryError(
                f"no {kind} model in {self.root}; train one first (`paretorec train {kind}`)"
            )
        return versions[-1]

    def load(
        self, kind: ModelKind, version: str | None = None, *, verify: bool = True
    ) -> tuple[Path, Manifest]:
        """The folder and manifest of a version, after checking every file against the manifest."""
        kind = ModelKind(kind)
        version = self.resolve(kind, version)
        manifest = self.manifest(kind, version)
        folder = self._kind_dir(kind) / version
        if manifest.format_version != FORMAT_VERSION:
            raise RegistryError(
                f"{kind}/{version} has manifest format {manifest.format_version}; "
                f"this paretorec reads format {FORMAT_VERSION}"
            )
        if verify:
            for name, expected in manifest.files.items():
                path = folder / name
                if not path.is_file():
                    raise RegistryError(f"{kind}/{version} is incomplete: {name} is missing")
                if file_sha256(path) != expected:
                    raise RegistryError(
                        f"{kind}/{version} is corrupted: {name} does not match its hash"
                    )
        return folder, manifest

    def _promotion(self, kind: ModelKind) -> list[str]:
        path = self._kind_dir(kind) / PROMOTED
        if not path.is_file():
            return []
        try:
            history = json.loads(path.read_text())["history"]
        except (ValueError, KeyError) as error:
            raise RegistryError(f"{path}: unreadable ({error})") from error
        return [str(v) for v in history]

    def _write_promotion(self, kind: ModelKind, history: list[str]) -> None:
        path = self._kind_dir(kind) / PROMOTED
        temporary = path.with_suffix(".tmp")
        text = json.dumps({"version": history[-1] if history else None, "history": history})
        with temporary.open("w") as handle:  # durable before it replaces the old one
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)

    def promoted(self, kind: ModelKind) -> str | None:
        history = self._promotion(kind)
        return history[-1] if history else None

    def promote(self, kind: ModelKind, version: str) -> Manifest:
        """Make `version` the one served by default. It is verified first (manifest and
        every file's hash): a version that would not load leaves the promotion as it was."""
        kind = ModelKind(kind)
        _, manifest = self.load(kind, version)
        history = self._promotion(kind)
        if not history or history[-1] != version:
            self._write_promotion(kind, [*history, version])
        return manifest

    def rollback_target(self, kind: ModelKind) -> str:
        """The version `rollback` would return to, after verifying it; writes nothing."""
        kind = ModelKind(kind)
        return self._verified_previous(kind, self._promotion(kind))

    def _verified_previous(self, kind: ModelKind, history: list[str]) -> str:
        if len(history) < 2:
            raise RegistryError(f"no earlier promoted {kind} version to roll back to")
        target = history[-2]
        try:
            self.load(kind, target)
        except RegistryError as error:
            raise RegistryError(
                f"cannot roll {kind} back to {target}: {error}; {history[-1]} stays promoted"
            ) from error
        return target

    def rollback(self, kind: ModelKind) -> str:
        """Return to the previously promoted version (verified first: a version that would
        not load leaves the promotion as it was); the version now promoted is returned."""
        kind = ModelKind(kind)
        history = self._promotion(kind)
        target = self._verified_previous(kind, history)
        self._write_promotion(kind, history[:-1])
        return target
