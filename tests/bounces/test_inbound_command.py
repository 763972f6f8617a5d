"""`newsletter inbound` as the operator runs it: a separate process, stopped by SIGTERM."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import subprocess
import sys
import time

from sqlalchemy import select

from newsletter import links
from newsletter.bounces.models import InboundMessage
from newsletter.config import PROJECT_ROOT
from tests.bounces.test_receiver import free_port
from tests.conftest import make_test_settings, settings_env


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "newsletter inbound exited at start-up"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError("newsletter inbound did not listen in time")


def test_the_inbound_command_stores_before_250_and_stops_cleanly(
    tmp_path, pg_url, committed_db
) -> None:
    settings = make_test_settings(
        tmp_path, database_url=pg_url, broker_url="memory://", result_backend_url=None
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "newsletter", "inbound", "--port", str(port)],
        cwd=PROJECT_ROOT, env=settings_env(settings),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_listening(port, process)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.ehlo("mx.example.net")
            assert client.mail("<>")[0] == 250
            assert client.rcpt("x@example.org")[0] == 550
            client.rset()
            refused = client.sendmail("", [links.verp_address(settings, 9)], b"Subject: x\r\n\r\nx")
            assert refused == {}
        with committed_db() as session:
            assert len(session.scalars(select(InboundMessage)).all()) == 1
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output.decode(errors="replace")
    assert b"inbound SMTP for @bounces.coalition.example.org" in output
