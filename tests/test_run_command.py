"""``newsletter run`` on embedded defaults: web + worker + beat, healthy within 60 seconds."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_cli import clean_env

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def started(log_path: Path) -> bool:
    """The Celery worker reported ready and its embedded beat started."""
    text = log_path.read_text()
    return re.search(r"celery@\S+ ready", text) is not None and "beat: Starting" in text


def test_run_serves_healthz_and_processes_tasks_with_nothing_configured(tmp_path: Path) -> None:
    port = free_port()
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "run"],
        cwd=tmp_path,
        env=clean_env(tmp_path, PORT=str(port)),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
            except httpx.TransportError:
                status = None
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, (tmp_path / "run.log").read_text()
        # The embedded worker and beat started beside the web server.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not started(tmp_path / "run.log"):
            time.sleep(0.5)
        assert started(tmp_path / "run.log"), (tmp_path / "run.log").read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
