"""Real-browser tests of the web app: Debian's chromium driven by Playwright (sync API).

By default one real Palabre server (`python -m server serve`) is started for the module.
Set PALABRE_WEB_URL=http://127.0.0.1:PORT to run against an already running server instead
(e.g. the reference Node y-websocket server while developing the app).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from tests.support.server import PalabreProcess

CHROMIUM = os.environ.get("PALABRE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="session")
def base_url(tmp_path_factory):
    url = os.environ.get("PALABRE_WEB_URL")
    if url:
        yield url.rstrip("/")
        return
    server = PalabreProcess(tmp_path_factory.mktemp("web") / "data").start()
    try:
        yield server.http_url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("chromium not installed")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def board_id():
    return "t-" + uuid.uuid4().hex[:10]


@pytest.fixture
def new_context(browser):
    contexts = []

    def make(**kw):
        kw.setdefault("viewport", {"width": 1100, "height": 720})
        ctx = browser.new_context(**kw)
        ctx.set_default_timeout(8000)
        contexts.append(ctx)
        return ctx

    yield make
    for c in contexts:
        c.close()


@pytest.fixture
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
