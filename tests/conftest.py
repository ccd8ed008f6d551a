"""Shared fixtures: where the real data lives, and small dataset folders written by tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from paretorec.data.locations import shared_data_dir


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = shared_data_dir()
    if not folder.is_dir():
        pytest.fail(f"the shared real data folder is missing: {folder} (set PARETOREC_SHARED_DATA)")
    return folder


@pytest.fixture
def write_folder(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """Write {file name: text} into a fresh dataset folder and return it."""

    def write(files: dict[str, str]) -> Path:
        folder = tmp_path / "dataset"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text)
        return folder

    return write
