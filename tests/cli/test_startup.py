"""`paretorec --help` stays fast: the command line imports no heavy library up front."""

from __future__ import annotations

import subprocess
import sys

import pytest

import paretorec.rank

HEAVY = ("torch", "sentence_transformers", "polars", "faiss", "sklearn", "pymoo", "fastapi")


def test_importing_the_cli_imports_no_heavy_library() -> None:
    code = f"import sys, paretorec.cli\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def test_rank_config_is_light_and_the_package_still_exports_everything() -> None:
    code = "import sys, paretorec.rank.config\nprint('torch' in sys.modules)\n"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"
    for name in paretorec.rank.__all__:
        assert getattr(paretorec.rank, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        paretorec.rank.nothing  # noqa: B018
