"""Pytest fixtures for a real SMTP server (loaded by ``pytest_plugins`` in tests/conftest.py).

- ``smtp_server``: a plain SMTP server on loopback, fresh for each test.
- ``smtp_server_factory``: start servers with STARTTLS, implicit TLS or AUTH; all stopped after.
- ``tls_certificate``: a self-signed certificate for 127.0.0.1, made once per session.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.smtp_server import SmtpTestServer


def make_self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (EC P-256: fast), made with the openssl tool."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as server:
        yield server


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server_factory(
    tls_certificate: tuple[Path, Path],
) -> Iterator[Callable[..., SmtpTestServer]]:
    """``smtp_server_factory(security="starttls", credentials=("user", "pass"))``."""
    started: list[SmtpTestServer] = []

    def start(**options: Any) -> SmtpTestServer:
        if options.get("security", "none") != "none":
            options.setdefault("certificate", tls_certificate)
        server = SmtpTestServer(**options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
