"""Standard machine-readable reports: RFC 3464 DSNs and RFC 5965 ARF complaints.

Both are ``multipart/report`` messages whose second part holds header-like blocks. We read
those blocks from the part's text ourselves instead of trusting the ``email`` package's
special cases, because Exchange sends ``message/global-delivery-status`` (RFC 6533), which
the package parses as if it were a message, and some MTAs fold fields oddly.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

DSN_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
ARF_TYPES = ("message/feedback-report",)
_BLOCK_SPLIT = re.compile(r"\r?\n[ \t]*\r?\n")
MAX_BLOCKS = 100


@dataclass(frozen=True)
class DsnRecipient:
    """One per-recipient block of a DSN (RFC 3464 section 2.3)."""

    action: str
    status: str | None
    diagnostic: str
    final_recipient: str | None
    original_recipient: str | None


@dataclass(frozen=True)
class ArfReport:
    """The machine-readable part of a complaint (RFC 5965 section 3.1)."""

    feedback_type: str
    original_mail_from: str | None
    original_rcpt_to: list[str]
    user_agent: str


def report_type(msg: Message) -> str | None:
    """``delivery-status``, ``feedback-report``, ... for a multipart/report; else None."""
    if msg.get_content_type() != "multipart/report":
        return None
    value = msg.get_param("report-type")
    return str(value).lower() if isinstance(value, str) else None


def _part_text(part: Message) -> str:
    """The raw text of a report part, whatever the email package made of it."""
    payload = part.get_payload()
    if isinstance(payload, list):
        text = "\n".join(item.as_string() for item in payload if isinstance(item, Message))
        return _decoded(text, str(part.get("Content-Transfer-Encoding", "")).strip().lower())
    raw = part.get_payload(decode=True)
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace")
    return str(payload or "")


def _decoded(text: str, transfer_encoding: str) -> str:
    """A status part some systems send base64 or quoted-printable encoded: the email package
    parses it as header blocks anyway, so its text is decoded here (left as is if it fails)."""
    try:
        if transfer_encoding == "base64":
            data = base64.b64decode("".join(text.split()), validate=False)
        elif transfer_encoding == "quoted-printable":
            data = quopri.decodestring(text.encode("utf-8", "replace"))
        else:
            return text
    except (ValueError, binascii.Error):
        return text
    return data.decode("utf-8", errors="replace")


def _blocks(text: str) -> list[Message]:
    parser = HeaderParser()
    blocks = [b for b in _BLOCK_SPLIT.split(text.strip()) if b.strip()][:MAX_BLOCKS]
    return [parser.parsestr(block.strip() + "\n") for block in blocks]


def _find_part(msg: Message, types: tuple[str, ...]) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() in types:
            return part
    return None


def address_of(field: str | None) -> str | None:
    """``rfc822; Amina@example.org`` -> ``Amina@example.org`` (the type prefix is optional)."""
    if not field:
        return None
    value = " ".join(str(field).split())
    if ";" in value:
        value = value.split(";", 1)[1]
    value = value.strip().strip("<>").strip()
    return value if "@" in value else None


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def parse_dsn(msg: Message) -> list[DsnRecipient] | None:
    """The per-recipient blocks of a DSN, or None when ``msg`` is not one."""
    # A delivery-status part counts wherever it sits: some systems wrap a real DSN (a delay
    # notice, a failure) in multipart/mixed instead of multipart/report.
    part = _find_part(msg, DSN_STATUS_TYPES)
    if part is None:
        return None
    recipients = []
    for block in _blocks(_part_text(part)):
        action = _field(block, "Action").lower()
        if not action:
            continue  # the per-message block (Reporting-MTA, Arrival-Date, ...)
        recipients.append(
            DsnRecipient(
                action=action.split()[0],
                status=_field(block, "Status") or None,
                diagnostic=_field(block, "Diagnostic-Code"),
                final_recipient=address_of(_field(block, "Final-Recipient")),
                original_recipient=address_of(_field(block, "Original-Recipient")),
            )
        )
    return recipients


def parse_arf(msg: Message) -> ArfReport | None:
    """The feedback report of an ARF complaint, or None when ``msg`` is not one."""
    if report_type(msg) != "feedback-report":
        return None
    part = _find_part(msg, ARF_TYPES)
    if part is None:
        return None
    blocks = _blocks(_part_text(part))
    if not blocks:
        return None
    fields = blocks[0]
    rcpts = [address_of(value) for value in fields.get_all("Original-Rcpt-To") or []]
    return ArfReport(
        feedback_type=(_field(fields, "Feedback-Type") or "abuse").lower(),
        original_mail_from=address_of(_field(fields, "Original-Mail-From")),
        original_rcpt_to=[rcpt for rcpt in rcpts if rcpt],
        user_agent=_field(fields, "User-Agent")[:100],
    )
