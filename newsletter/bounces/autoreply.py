"""Recognise auto-replies (out-of-office, vacation, "thanks for your message").

An auto-reply to a press release is not a bounce: counting it would suppress the most
engaged supporters, the ones whose mailbox answers because they are travelling. Checked
*after* DSN/ARF detection and after the mail-system readers, because real bounces carry
``Auto-Submitted`` too (RFC 3464 reports, Exim's ``auto-replied``). ``auto-generated`` alone
(RFC 3834: a notification, not a reply) never makes a message an auto-reply.
"""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message

_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation")
_PRECEDENCE = re.compile(r"^\s*auto[_-]?reply\s*$", re.IGNORECASE)
_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|answer)|auto:|out of (the )?office|away from"
    r"|on vacation|on leave|i am (currently )?(out|away)|i'm (currently )?(out|away)"
    r"|r[ée]ponse automatique|absen(t|ce)|message d'absence|je suis absente?"
    r"|hors du bureau|en cong[ée]s?|r[ée]ponse auto)",
    re.IGNORECASE,
)


def _subject(msg: Message) -> str:
    raw = msg.get("Subject")
    if raw is None:
        return ""
    try:
        return str(make_header(decode_header(str(raw))))
    except (ValueError, LookupError, UnicodeError):
        return str(raw)


def auto_reply_reason(msg: Message) -> str | None:
    """Why ``msg`` looks like an auto-reply, or None. Headers first (RFC 3834), then subject."""
    submitted = str(msg.get("Auto-Submitted", "")).strip().lower()
    if submitted.startswith("auto-replied"):
        return f"Auto-Submitted: {submitted[:40]}"
    for name in _AUTO_HEADERS:
        if msg.get(name) is not None:
            return f"{name} header"
    if _PRECEDENCE.match(str(msg.get("Precedence", ""))):
        return "Precedence: auto_reply"
    if msg.get("X-MS-Exchange-Inbox-Rules-Loop") is not None and _SUBJECT.match(_subject(msg)):
        return "Exchange inbox rule"
    subject = _subject(msg)
    subject = re.sub(r"^\s*(re|tr|fw|fwd)\s*:\s*", "", subject, flags=re.IGNORECASE)
    if _SUBJECT.match(subject):
        return "auto-reply subject"
    return None
