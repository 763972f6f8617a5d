"""Build messages with the ``email`` package's policies (invariant `sandbox-and-safe-headers`).

A CR or LF in any header value is refused here, before a message exists: header injection
through a subscriber's name or a staff-typed subject must be impossible, not filtered.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
from collections.abc import Mapping
from email.headerregistry import Address
from email.message import EmailMessage

# utf8=False: non-ASCII header text is RFC 2047-encoded, which every relay accepts.
SMTP_POLICY = email.policy.SMTP.clone(max_line_length=78)


class HeaderInjection(ValueError):
    """A header value contained a line break; the message is refused, never sent."""


_LINE_SPACE = re.compile(r"[ \t\r\n\f\v]+")


def one_line(text: str) -> str:
    """``text`` on one line, runs of spaces and line ends made one space. A no-break space
    is kept: French typography puts one before ``:`` ("Lire en ligne :"), and ``str.split``
    would turn it into a space a line may break at."""
    return _LINE_SPACE.sub(" ", text).strip()


def safe_header_value(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise HeaderInjection(f"line break in the {name} header refused")
    return value


def format_address(display_name: str, address: str) -> str:
    """``Name <addr>`` with the name quoted or RFC 2047-encoded as needed."""
    safe_header_value("address", display_name)
    safe_header_value("address", address)
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=display_name, username=local, domain=domain))


def make_message_id(domain: str) -> str:
    return email.utils.make_msgid(domain=domain)


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    reply_to: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML), UTF-8, every header checked."""
    message = EmailMessage(policy=SMTP_POLICY)
    headers: dict[str, str] = {
        "From": sender,
        "To": recipient,
        "Subject": subject,
        "Date": email.utils.formatdate(localtime=False),
        "Message-ID": message_id,
        "MIME-Version": "1.0",
    }
    if reply_to:
        headers["Reply-To"] = reply_to
    headers.update(extra_headers or {})
    for name, value in headers.items():
        message[name] = safe_header_value(name, value)
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if html is not None:
        message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return message


def message_bytes(message: EmailMessage) -> bytes:
    """Serialise with CRLF line endings, as SMTP wants them."""
    return message.as_bytes(policy=SMTP_POLICY)
