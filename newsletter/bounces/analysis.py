"""One returned message -> what it says: failures, a complaint, an auto-reply, or nothing known.

The order matters and is the rule:

1. an ARF report (RFC 5965) is a complaint (``auth-failure`` reports a sender problem,
   ``not-spam`` is ignored, ``fraud``/``virus`` go to staff review);
2. an RFC 3464 DSN gives one finding per ``failed`` recipient (kind from `classify`);
   ``delayed``/``delivered``/``relayed`` notices are ignored;
3. a message from a mail system (MAILER-DAEMON, postmaster, X-Failed-Recipients) goes to
   flufl.bounce's detectors first: old Exim marks its bounces ``Auto-Submitted`` too;
4. an auto-reply (RFC 3834 headers, X-Autoreply, Precedence, EN/FR subjects) is ignored;
   then flufl.bounce reads the other non-standard bounces (qmail, Yahoo, ...);
5. anything else is unknown: kept for staff review, never dropped.

This module only reads; `newsletter.bounces.processing` applies the policy.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, field
from email import policy as email_policy
from email.message import Message
from email.utils import parseaddr

from newsletter.bounces.autoreply import auto_reply_reason
from newsletter.bounces.classify import kind_for_status, normalise_status
from newsletter.bounces.models import BounceKind
from newsletter.bounces.nonstandard import report_text, scan
from newsletter.bounces.reports import parse_arf, parse_dsn

DSN, ARF, AUTO_REPLY, NON_STANDARD, NOTICE, UNKNOWN = (
    "dsn", "arf", "auto_reply", "non_standard", "notice", "unknown",
)  # fmt: skip
# How relays word "still trying" (Exim, Postfix, Sendmail, Exchange, Notes): decided before any
# failure reader, because the same notices name the recipient and a temporary status.
DELAY_SUBJECT = re.compile(
    r"warning: message .* delayed|delayed mail|\(delay\)|delivery delayed|message delayed"
    r"|warning: could not send message for past",
    re.IGNORECASE,
)
DELAY_TEXT = re.compile(
    r"has not yet been delivered|delivery attempts will continue|this is a warning message only"
    r"|will (continue to )?(retry|try)|still trying|delivery to the following recipients? has"
    r" been delayed|has been delayed|no action is required on your part",
    re.IGNORECASE,
)
MAIL_SYSTEM_SENDERS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})
_ARF_KINDS = {
    "abuse": BounceKind.COMPLAINT,
    "other": BounceKind.COMPLAINT,
    "auth-failure": BounceKind.SENDER_PROBLEM,
    "fraud": BounceKind.UNKNOWN,
    "virus": BounceKind.UNKNOWN,
}


@dataclass(frozen=True)
class Finding:
    kind: BounceKind
    recipient: str | None
    status: str | None
    diagnostic: str


@dataclass(frozen=True)
class Analysis:
    category: str
    note: str
    message_key: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)


def parse_bytes(raw: bytes) -> Message:
    """Lenient parsing (compat32): bounces are often malformed, and must still be read."""
    return email.message_from_bytes(raw, policy=email_policy.compat32)


def message_key(msg: Message, raw: bytes) -> str:
    """A stable id for replay protection: the Message-ID, else the content's hash."""
    message_id = " ".join(str(msg.get("Message-ID", "")).split()).strip("<>")
    if message_id and len(message_id) <= 200:
        return f"mid:{message_id}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _from_arf(msg: Message, key: str) -> Analysis | None:
    report = parse_arf(msg)
    if report is None:
        return None
    if report.feedback_type == "not-spam":
        return Analysis(NOTICE, "ARF not-spam report", key)
    kind = _ARF_KINDS.get(report.feedback_type, BounceKind.COMPLAINT)
    diagnostic = f"ARF {report.feedback_type} report from {report.user_agent or 'unknown agent'}"
    recipients: list[str | None] = list(report.original_rcpt_to) or [None]
    findings = tuple(Finding(kind, rcpt, None, diagnostic) for rcpt in recipients[:10])
    return Analysis(ARF, f"feedback-type {report.feedback_type}", key, findings)


def _from_dsn(msg: Message, key: str) -> Analysis | None:
    recipients = parse_dsn(msg)
    if not recipients:
        return None
    failed = [r for r in recipients if r.action == "failed"]
    if not failed:
        actions = ",".join(sorted({r.action for r in recipients}))
        return Analysis(NOTICE, f"DSN without failures ({actions})", key)
    findings = tuple(
        Finding(
            kind=kind_for_status(r.status, r.diagnostic),
            recipient=r.original_recipient or r.final_recipient,
            status=normalise_status(r.status),
            diagnostic=r.diagnostic or f"status {r.status}",
        )
        for r in failed[:50]
    )
    return Analysis(DSN, f"{len(failed)} failed recipient(s)", key, findings)


def _from_detectors(msg: Message, key: str) -> Analysis | None:
    failures = scan(msg)
    if not failures:
        return None
    # The detectors' "temporary" failures are delay warnings ("still trying"): never a bounce.
    # Their "permanent" ones are only as hard as the status and the wording say: a detector files
    # mailbox-full, spam blocks and "retries exhausted" as permanent too, so the table decides.
    permanent = [failure for failure in failures[:50] if failure.permanent]
    if not permanent:
        return Analysis(NOTICE, "delay warning (the relay is still trying)", key)
    findings = tuple(
        Finding(
            kind_for_status(failure.status, failure.diagnostic),
            failure.address,
            failure.status,
            failure.diagnostic,
        )
        for failure in permanent
    )
    return Analysis(NON_STANDARD, f"{len(findings)} failed recipient(s)", key, findings)


def _is_delay_warning(msg: Message) -> bool:
    if DELAY_SUBJECT.search(str(msg.get("Subject", ""))):
        return True
    return bool(DELAY_TEXT.search(report_text(msg, limit=4_000)))


def _from_mail_system(msg: Message) -> bool:
    if msg.get("X-Failed-Recipients") is not None:
        return True
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    return sender.split("@")[0] in MAIL_SYSTEM_SENDERS


def analyse_message(msg: Message, raw: bytes) -> Analysis:
    """What ``msg`` reports, by the ordered rules of the module docstring."""
    key = message_key(msg, raw)
    for reader in (_from_arf, _from_dsn):
        found = reader(msg, key)
        if found is not None:
            return found
    if _is_delay_warning(msg):
        return Analysis(NOTICE, "delay warning (the relay is still trying)", key)
    if _from_mail_system(msg):
        found = _from_detectors(msg, key)
        if found is not None:
            return found
    reason = auto_reply_reason(msg)
    if reason is not None:
        return Analysis(
            AUTO_REPLY, reason, key, (Finding(BounceKind.AUTO_REPLY, None, None, reason),)
        )
    found = _from_detectors(msg, key)
    if found is not None:
        return found
    return Analysis(UNKNOWN, "not a recognised bounce, complaint or auto-reply", key)
