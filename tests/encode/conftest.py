"""Session fixtures: the bundled model loaded once, one ONNX export per session, and a
fixed sample of real Home Depot titles."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from paretorec.data.datasets import load_homedepot
from paretorec.encode import OnnxExport, SentenceTransformerEncoder, export_onnx

TITLE_SAMPLE = 256


@pytest.fixture(scope="session")
def st_encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder()


def _no_network(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the ONNX export tried to open a network connection")


@pytest.fixture(scope="session")
def onnx_export(tmp_path_factory: pytest.TempPathFactory) -> OnnxExport:
    """The bundled model exported (float32 and int8) once per test run, with sockets
    disabled; pytest-xdist workers of one run share it (the first one exports)."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:
        return _export(tmp_path_factory.mktemp("onnx") / "minilm")
    shared = tmp_path_factory.getbasetemp().parent / f"onnx-{run}"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        folder = shared / "minilm"
        if (folder / "encoder.json").is_file():
            metadata = json.loads((folder / "encoder.json").read_text())
            return OnnxExport(folder, folder / "model.onnx", folder / "model.int8.onnx", metadata)
        return _export(folder)


def _export(folder: Path) -> OnnxExport:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _no_network)
        patch.setattr(socket, "create_connection", _no_network)
        patch.setenv("HF_HUB_OFFLINE", "1")
        return export_onnx(folder)


@pytest.fixture(scope="session")
def homedepot_titles(shared_data: Path) -> list[str]:
    """256 real product titles, a fixed sample."""
    items = load_homedepot(shared_data / "homedepot").items.frame
    return items.select(pl.col("title").sample(TITLE_SAMPLE, seed=7))["title"].to_list()
