"""Shared fixtures: where the real data lives, and small dataset folders written by tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from paretorec.data.locations import shared_data_dir

# Test workers share the cores: OpenMP threads (torch, LightGBM) that spin while they wait
# starve each other (LightGBM's lambdarank ran ~70x slower on a loaded 2-core machine);
# set before either loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# The suite's property tests draw the same examples on every run, so a red CI run is a
# defect anyone can reproduce; HYPOTHESIS_PROFILE=explore draws new ones (run it locally
# to look for more defects).
settings.register_profile("fixed", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))


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
