"""Message building: header injection refused, RFC 2047 subjects, multipart/alternative."""

from __future__ import annotations

import email
import email.policy

import pytest

from newsletter.rendering.headers import (
    HeaderInjection,
    build_message,
    format_address,
    message_bytes,
)


def sample(**overrides: str):
    values = {
        "sender": format_address("Coalition", "news@coalition.example.org"),
        "recipient": "reader@example.org",
        "subject": "Communiqué : la réforme du processus",
        "text": "Bonjour,\n" + "ligne " * 40,
        "html": "<p>Bonjour</p>",
        "message_id": "<1@coalition.example.org>",
    }
    values.update(overrides)
    return build_message(**values)


@pytest.mark.parametrize("field", ["subject", "recipient"])
def test_a_line_break_in_a_header_is_refused(field: str) -> None:
    with pytest.raises(HeaderInjection):
        sample(**{field: "hello\r\nBcc: victim@example.org"})


def test_a_line_break_in_a_display_name_is_refused() -> None:
    with pytest.raises(HeaderInjection):
        format_address("Evil\nBcc: x@example.org", "news@coalition.example.org")


def test_non_ascii_subject_is_rfc2047_encoded_and_lines_are_short() -> None:
    raw = message_bytes(sample())
    assert raw.isascii()
    assert b"Subject: =?utf-8?" in raw
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Communiqué : la réforme du processus"
    assert parsed.get_content_type() == "multipart/alternative"
    kinds = [part.get_content_type() for part in parsed.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
