"""Error reports (optional, SENTRY_DSN) leave without addresses, names, cookies or tokens.

A real sentry-sdk client captures a real exception, raised with an address in its message and
in its local variables, from a request carrying a cookie and a token in its path; the transport
keeps the envelope instead of sending it, and the test reads what would have left.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter.observability.errors import init_error_reporting, scrub_event
from tests.conftest import make_test_settings

sentry_sdk = pytest.importorskip("sentry_sdk")
ADDRESS = "amani.wanjiru@example.net"


class KeepingTransport(sentry_sdk.transport.Transport):
    def __init__(self, options=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(options)
        self.envelopes: list[bytes] = []

    def capture_envelope(self, envelope) -> None:  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope.serialize())


def test_error_reporting_is_off_without_a_dsn(tmp_path: Path) -> None:
    assert not init_error_reporting(make_test_settings(tmp_path), "web")


def test_the_scrubber_removes_addresses_from_a_real_event(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path, sentry_dsn="https://publickey@127.0.0.1:9/1")
    transport = KeepingTransport()
    assert init_error_reporting(settings, "worker", transport=transport)
    try:
        subscriber_email = ADDRESS  # a local variable the SDK would otherwise send
        sentry_sdk.add_breadcrumb(message=f"looked up {subscriber_email}")
        sentry_sdk.set_context("request-ish", {"email": ADDRESS, "note": f"for {ADDRESS}"})
        try:
            raise ValueError(f"relay said: 550 5.1.1 <{subscriber_email}> unknown")
        except ValueError:
            sentry_sdk.capture_exception()
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # back to a disabled client
    sent = b"\n".join(transport.envelopes).decode()
    assert "ValueError" in sent and "[address]" in sent  # the event did go out, scrubbed
    assert ADDRESS not in sent and "amani" not in sent


def test_the_scrubber_drops_the_user_cookies_and_the_token_in_the_path() -> None:
    event = {
        "user": {"email": ADDRESS, "ip_address": "192.0.2.7"},
        "request": {"url": "https://news.example.org/unsubscribe/SECRETTOKEN123",
                    "cookies": {"nl_session": "abc"}, "headers": {"Cookie": "nl_session=abc"},
                    "data": {"email": ADDRESS}, "method": "POST"},
        "exception": {"values": [{"type": "KeyError", "value": f"'{ADDRESS}'",
                                  "stacktrace": {"frames": [{"function": "f",
                                                             "vars": {"address": ADDRESS}}]}}]},
        "extra": {"recipient": f"to {ADDRESS}", "password": "hunter2"},
    }  # fmt: skip
    scrubbed = json.dumps(scrub_event(event))
    assert ADDRESS not in scrubbed and "SECRETTOKEN123" not in scrubbed
    assert "nl_session" not in scrubbed and "hunter2" not in scrubbed
    assert "192.0.2.7" not in scrubbed
    assert '"method": "POST"' in scrubbed and "KeyError" in scrubbed
