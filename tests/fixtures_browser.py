"""Real HTTP and a real browser (loaded by ``pytest_plugins`` in tests/conftest.py).

- ``live_server``: call it with a FastAPI app; it serves the app with uvicorn on a free
  loopback port in a thread and returns the base URL. Stopped after the test.
- ``browser``: Debian's headless Chromium driven by Playwright (never a downloaded browser),
  one per test module: while it is open, Playwright's sync API keeps an asyncio loop running
  in the main thread, which breaks any later test that runs a loop itself (TestClient,
  ``asyncio.run``). Tests open their own page: ``page = browser.new_page()``.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ThreadedServer:
    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test web server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[Callable[[Any], str]]:
    servers: list[_ThreadedServer] = []

    def serve(app: Any) -> str:
        port = free_port()
        server = _ThreadedServer(app, port)
        server.start()
        servers.append(server)
        return f"http://127.0.0.1:{port}"

    yield serve
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not shutil.which("chromium") and not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()
