"""`paretorec serve build-index` and `paretorec serve`: a real uvicorn process over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.serve import ModelKind, ModelRegistry
from tests.serve.conftest import shop_catalog

runner = CliRunner()


def test_help_and_clean_failures(tmp_path: Path) -> None:
    for args in (["serve", "--help"], ["serve", "build-index", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Usage" in result.output
    empty = runner.invoke(app, ["serve", "--models", str(tmp_path / "none")])
    assert empty.exit_code == 1
    assert "no index version" in empty.output and "build-index" in empty.output
    missing = runner.invoke(app, ["serve", "build-index", "--data", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "neither a dataset folder" in missing.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_build_index_then_serve_with_the_real_encoder(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    shop_catalog().frame.write_csv(data / "items.csv")
    models = tmp_path / "models"
    built = runner.invoke(
        app,
        ["serve", "build-index", "--data", str(data), "--models", str(models), "--no-onnx",
         "--cache", str(tmp_path / "cache"), "--promote"],
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    assert "index v0001: 12 items" in built.output
    assert ModelRegistry(models).promoted(ModelKind.INDEX) == "v0001"

    port = _free_port()
    env = {**os.environ, "SHOP_TOKEN": "t0ken"}
    server = subprocess.Popen(
        [sys.executable, "-m", "paretorec.cli", "serve", "--models", str(models), "--port",
         str(port), "--token-env", "SHOP_TOKEN", "--events", str(tmp_path / "events")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        found = httpx.post(f"{base}/search", json={"query": "battery powered drill", "k": 3}).json()
        assert found["items"][0]["item_id"] == "d1"
        item = {"item_id": "n1", "title": "Pressure washer electric 2000 psi", "price": 199}
        assert httpx.put(f"{base}/items", json={"items": [item]}).status_code == 401
        auth = {"Authorization": "Bearer t0ken"}
        assert httpx.put(f"{base}/items", json={"items": [item]}, headers=auth).status_code == 200
        washer = httpx.post(f"{base}/search", json={"query": "power washer", "k": 1}).json()
        assert washer["items"][0]["item_id"] == "n1"
        event = {"user_id": "u1", "item_id": "n1", "event": "click"}
        assert httpx.post(f"{base}/events", json={"events": [event]}).json()["total"] == 1
        assert "paretorec_request_seconds_bucket" in httpx.get(f"{base}/metrics").text
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    assert (tmp_path / "events" / "events.csv").read_text().count("\n") == 2
