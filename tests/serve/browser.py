"""Driving the explorer in Debian's chromium (Playwright): a served app on a free port,
one browser per module, and the page's own signals (`data-version` after each redraw)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def needs_chromium() -> pytest.MarkDecorator:
    """The browser tests' mark: fail in CI without chromium, skip elsewhere."""
    if CHROMIUM is None and os.environ.get("CI"):
        pytest.fail("CI needs Debian's chromium for the browser tests (.ci/run installs it)")
    return pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` on a free local port, in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync"],
        )  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


def wait_for_update(page: Any, after: int) -> None:
    page.wait_for_function(f"Number(document.body.dataset.version) > {after}", timeout=15_000)


def version(page: Any) -> int:
    return int(page.get_attribute("body", "data-version"))


def listed(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all("#list tbody tr", "rows => rows.map(r => r.dataset.item)")
    )


def open_page(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")
    return page


def move_slider(page: Any, name: str, value: int) -> None:
    """Set a weight slider (0..1000) as a person drags it, and wait for the redraw."""
    before = version(page)
    page.eval_on_selector(
        f"#w-{name}", f"el => {{ el.value = {value}; el.dispatchEvent(new Event('input')); }}"
    )
    wait_for_update(page, before)
