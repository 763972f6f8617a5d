"""One returned message -> what it says: failures, a complaint, an auto-reply, or nothing known.

The order matters and is the rule:

1. an ARF report (RFC 5965) is a complaint (``auth-failure`` reports a sender problem,
   ``not-spam`` is ignored, ``fraud``/``virus`` go to staff review);
2. an email-sending provider's notification in the body (SES via SNS email, SendGrid,
   Mailgun, Postmark JSON; `esp_mail`) is read as the provider documents it: an SES
   *delivery* notice is not a bounce;
3. an RFC 3464 DSN, in any MIME shape, gives one finding per ``failed`` recipient;
   ``delayed``/``delivered``/``relayed`` notices (and read receipts) are ignored;
4. delay warnings in any wording are ignored: a delay is never a bounce;
5. a message from a mail system (MAILER-DAEMON, postmaster, X-Failed-Recipients, a failure
   subject in any of several languages) goes to flufl.bounce's detectors, then to the plain
   text reader: real bounces carry ``Auto-Submitted`` too (RFC 3464 asks for it), so that
   header must not make them auto-replies;
6. an auto-reply (RFC 3834 ``auto-replied``, X-Autoreply, Precedence, EN/FR subjects) is ignored;
   then flufl.bounce reads the other non-standard bounces (qmail, Yahoo, ...);
7. anything else is unknown: kept for staff review, never dropped (and, at a verified VERP
   address, counted as an undetermined soft bounce by `processing`).

Each finding carries a reason (`classify.reason_for_status`); the kind is the reason's row of the
policy table. This module only reads; `newsletter.bounces.processing` applies the policy.
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
from newsletter.bounces.classify import normalise_status, reason_for_status
from newsletter.bounces.esp_mail import EspNotice, read_esp_notification
from newsletter.bounces.models import BounceKind, BounceReason
from newsletter.bounces.nonstandard import report_text, scan
from newsletter.bounces.policy import kind_for_reason
from newsletter.bounces.reports import parse_arf, parse_dsn, report_type

DSN, ARF, AUTO_REPLY, NON_STANDARD, NOTICE, UNKNOWN, ESP = (
    "dsn", "arf", "auto_reply", "non_standard", "notice", "unknown", "esp",
)  # fmt: skip
R = BounceReason
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
MAIL_SYSTEM_SENDERS = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "mailer", "mdaemon",
     "mail.administrator", "bounce", "bounces", "nobody", "smtp", "mta", "mail-router"}
)  # fmt: skip
MAIL_SYSTEM_NAMES = re.compile(
    r"mail delivery (system|subsystem|service)|mailer[- ]daemon|postmaster|mail administrator"
    r"|microsoft outlook|mail (system|server|router)|delivery (status|notification)",
    re.IGNORECASE,
)
# How mail systems title a failure report, in the languages supporters' providers use.
FAILURE_SUBJECT = re.compile(
    r"undeliver|undelivered|delivery (status notification|failure|failed|has failed|problem"
    r"|error|notification)|failure notice|returned mail|mail delivery (failed|failure)"
    r"|could not be delivered|couldn'?t be delivered|not delivered|nondeliverable|non-?delivery"
    r"|returned to sender|mail system error|message (not delivered|rejected|bounced)"
    r"|delivery report|unzustellbar|nicht zugestellt|non remis|non distribu|[ée]chec de"
    r" (la )?(remise|distribution)|no se (pudo|puede) entregar|no entregado|non recapitato"
    r"|mancata consegna|onbestelbaar|niet bezorgd|недоставлен|не доставлен|ошибка доставки"
    r"|配信(エラー|失敗|不能)|送信エラー|未送達|メール(が)?(届きませんでした|送信できませんでした)"
    r"|returned mail|mail returned|delivery status|n[ãa]o entregue|mensagem devolvida"
    r"|n[ãa]o foi poss[íi]vel entregar|系统退信|退信|投递失败|发送失败|未能(成功)?(送达|投递)"
    r"|無法投遞|傳送失敗|전송 실패|반송|niedostarczon|nie dostarczono",
    re.IGNORECASE,
)
FAILURE_TEXT = re.compile(
    r"could not be delivered|couldn'?t be delivered|was not delivered|wasn'?t delivered"
    r"|delivery (has )?failed|permanent (error|failure)|undeliverable|delivery to the following"
    r" recipients? failed|failed permanently|rejected your message|unable to deliver"
    r"|not be delivered|returned to you|the following addresses? (had|failed)"
    r"|konnte nicht zugestellt|n'a pas pu [êe]tre (remis|distribu)|не может быть доставлено"
    r"|не было доставлено|届きませんでした|配信できませんでした|送信できませんでした"
    r"|n[ãa]o (foi poss[íi]vel entregar|p[ôo]de ser entregue)|no se pudo entregar"
    r"|no (ha )?podido ser entregad|non (è stato|e' stato|può essere) recapitat|kon niet worden"
    r" (afgeleverd|bezorgd)|nie (mog[łl]a|mo[żz]e) (zosta[ćc] )?dostarczon"
    r"|被退回|未能(成功)?(送达|投递)|无法(送达|投递)|投递失败",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_STATUS_IN_TEXT = re.compile(r"(?<![.\d])([45]\.\d{1,3}\.\d{1,3})(?![.\d])")
_TAGS = re.compile(r"<[^>]{0,2000}>")
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
    reason: BounceReason = R.UNDETERMINED
    # Every address the report names for this failure (a DSN's Original- and Final-Recipient),
    # so attribution can check the failure is about the delivery's address.
    addresses: tuple[str, ...] = ()


def finding(
    reason: BounceReason,
    recipient: str | None,
    status: str | None,
    diagnostic: str,
    addresses: tuple[str | None, ...] | None = None,
) -> Finding:
    """A finding whose kind is its reason's row of the policy table."""
    named = tuple(a for a in (addresses if addresses is not None else (recipient,)) if a)
    return Finding(kind_for_reason(reason), recipient, status, diagnostic, reason, named)


@dataclass(frozen=True)
class Analysis:
    category: str
    note: str
    message_key: str
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    reason: BounceReason | None = None  # what a notice is: delay, delivered, auto-reply


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
        return Analysis(NOTICE, "ARF not-spam report", key, reason=R.DELIVERED)
    kind = _ARF_KINDS.get(report.feedback_type, BounceKind.COMPLAINT)
    reason = {BounceKind.COMPLAINT: R.COMPLAINT, BounceKind.SENDER_PROBLEM: R.AUTH_FAILURE}.get(
        kind, R.UNDETERMINED
    )
    diagnostic = f"ARF {report.feedback_type} report from {report.user_agent or 'unknown agent'}"
    recipients: list[str | None] = list(report.original_rcpt_to) or [None]
    findings = tuple(
        Finding(kind, rcpt, None, diagnostic, reason, (rcpt,) if rcpt else ())
        for rcpt in recipients[:10]
    )
    return Analysis(ARF, f"feedback-type {report.feedback_type}", key, findings, R.COMPLAINT)


def _readable_text(msg: Message) -> str:
    """The human-readable report: plain text, else the HTML part without its tags."""
    text = report_text(msg)
    if text.strip():
        return text
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                html = payload[:40_000].decode(part.get_content_charset() or "utf-8", "replace")
                return " ".join(_TAGS.sub(" ", html).split())
    return ""


def _reason(status: str | None, diagnostic: str, fallback_text: str) -> BounceReason:
    """The reason from the recipient's own diagnostic, else from the report's prose."""
    reason = reason_for_status(status, diagnostic)
    if reason == R.UNDETERMINED and fallback_text:
        reason = reason_for_status(status, fallback_text)
    return reason


def _from_dsn(msg: Message, key: str) -> Analysis | None:
    recipients = parse_dsn(msg)
    if not recipients:
        return None
    failed = [r for r in recipients if r.action == "failed"]
    if not failed:
        actions = ",".join(sorted({r.action for r in recipients}))
        reason = R.DELAY if any(r.action == "delayed" for r in recipients) else R.DELIVERED
        return Analysis(NOTICE, f"DSN without failures ({actions})", key, reason=reason)
    prose = _readable_text(msg)[:4000] if len(failed) == 1 else ""
    findings = tuple(
        finding(
            _reason(r.status, r.diagnostic, prose),
            r.original_recipient or r.final_recipient,
            normalise_status(r.status),
            r.diagnostic or f"status {r.status}",
            (r.original_recipient, r.final_recipient),
        )
        for r in failed[:50]
    )
    return Analysis(DSN, f"{len(failed)} failed recipient(s)", key, findings)


def _from_esp(msg: Message, key: str) -> Analysis | None:
    notice: EspNotice | None = read_esp_notification(msg)
    if notice is None:
        return None
    what = f"{notice.provider} {notice.what} notification"
    if notice.what == "delayed":
        return Analysis(NOTICE, what, key, reason=R.DELAY)
    if notice.what == "auto_reply":
        return Analysis(NOTICE, what, key, reason=R.AUTO_REPLY)
    if not notice.failures:
        return Analysis(NOTICE, what, key, reason=R.DELIVERED)
    findings = tuple(
        finding(f.reason, f.address, f.status, f.diagnostic[:2000]) for f in notice.failures
    )
    return Analysis(ESP, what, key, findings, R.COMPLAINT if notice.what == "complaint" else None)


def _from_detectors(msg: Message, key: str) -> Analysis | None:
    failures = scan(msg)
    if not failures:
        return None
    # The detectors' "temporary" failures are delay warnings ("still trying"): never a bounce.
    # Their "permanent" ones are only as hard as the status and the wording say: a detector files
    # mailbox-full, spam blocks and "retries exhausted" as permanent too, so the table decides.
    permanent = [failure for failure in failures[:50] if failure.permanent]
    if not permanent:
        return Analysis(NOTICE, "delay warning (the relay is still trying)", key, reason=R.DELAY)
    prose = _readable_text(msg)[:4000] if len(permanent) == 1 else ""
    findings = tuple(
        finding(
            _reason(failure.status, failure.diagnostic, prose),
            failure.address,
            failure.status or _first_status(prose),
            failure.diagnostic,
        )
        for failure in permanent
    )
    return Analysis(NON_STANDARD, f"{len(findings)} failed recipient(s)", key, findings)


def _first_status(text: str) -> str | None:
    found = _STATUS_IN_TEXT.search(text)
    return normalise_status(found.group(1)) if found else None


# Header lines of a returned message whose addresses are ours or ids, never a failed recipient.
_OUR_HEADER_LINES = re.compile(
    r"^\s*(from|sender|reply-to|return-path|message-id|in-reply-to|references|list-unsubscribe"
    r"|list-id|errors-to|x-original-message-id|x-mailer|dkim-signature|feedback-id)\s*:.*$",
    re.IGNORECASE | re.MULTILINE,
)


def _failed_addresses(msg: Message, text: str, ours: str) -> list[str]:
    """X-Failed-Recipients, else the addresses the report's prose names (not ours)."""
    header = " ".join(str(v) for v in msg.get_all("X-Failed-Recipients") or [])
    named = _ADDRESS.findall(header) or _ADDRESS.findall(_OUR_HEADER_LINES.sub(" ", text))
    ours_lines = " ".join(line.group(0) for line in _OUR_HEADER_LINES.finditer(text))
    not_failed = {address.lower() for address in _ADDRESS.findall(ours_lines)}
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    found: list[str] = []
    for address in named:
        lowered = address.lower()
        if lowered == sender or lowered.endswith("@" + ours) or lowered in found:
            continue
        if lowered in not_failed:
            continue
        if lowered.split("@")[0] in MAIL_SYSTEM_SENDERS:
            continue
        found.append(lowered)
    return found[:10]


def _from_failure_text(msg: Message, key: str, ours: str) -> Analysis | None:
    """A failure report no detector knows: its prose decides, never hard without the words."""
    text = _readable_text(msg)[:20_000]
    if not (FAILURE_TEXT.search(text) or FAILURE_SUBJECT.search(_subject(msg))):
        return None
    addresses = _failed_addresses(msg, text, ours) if ours else []
    findings = []
    candidates: list[str | None] = list(addresses) or [None]
    for address in candidates:
        snippet = text
        if address is not None:
            at = text.lower().find(address)
            if at >= 0 and len(addresses) > 1:
                snippet = text[at : at + 600]
        status = _first_status(snippet)
        reason = reason_for_status(status, snippet)
        diagnostic = " ".join(snippet.split())[:1000]
        findings.append(finding(reason, address, status, diagnostic))
    return Analysis(
        NON_STANDARD, f"failure report in prose ({len(findings)})", key, tuple(findings)
    )


def _subject(msg: Message) -> str:
    return " ".join(str(msg.get("Subject", "")).split())[:300]


def _is_delay_warning(msg: Message) -> bool:
    if DELAY_SUBJECT.search(_subject(msg)):
        return True
    return bool(DELAY_TEXT.search(report_text(msg, limit=4_000)))


def _from_mail_system(msg: Message) -> bool:
    if msg.get("X-Failed-Recipients") is not None:
        return True
    name, sender = parseaddr(str(msg.get("From", "")))
    if sender.lower().split("@")[0] in MAIL_SYSTEM_SENDERS or MAIL_SYSTEM_NAMES.search(name):
        return True
    subject = re.sub(r"^\s*(re|aw|tr|fw|fwd|wg)\s*:\s*", "", _subject(msg), flags=re.IGNORECASE)
    return bool(FAILURE_SUBJECT.search(subject)) and auto_reply_reason(msg) is None


def analyse_message(msg: Message, raw: bytes, *, bounce_domain: str = "") -> Analysis:
    """What ``msg`` reports, by the ordered rules of the module docstring.

    ``bounce_domain``: our own domain, so the prose reader never takes our addresses for the
    failed recipient.
    """
    key = message_key(msg, raw)
    for reader in (_from_arf, _from_esp, _from_dsn):
        found = reader(msg, key)
        if found is not None:
            return found
    if report_type(msg) == "disposition-notification":
        return Analysis(NOTICE, "read receipt (MDN)", key, reason=R.DELIVERED)
    if _is_delay_warning(msg):
        return Analysis(NOTICE, "delay warning (the relay is still trying)", key, reason=R.DELAY)
    if _from_mail_system(msg):
        found = _from_detectors(msg, key) or _from_failure_text(msg, key, bounce_domain.lower())
        if found is not None:
            return found
    reason = auto_reply_reason(msg)
    if reason is not None:
        return Analysis(
            AUTO_REPLY,
            reason,
            key,
            (Finding(BounceKind.AUTO_REPLY, None, None, reason, R.AUTO_REPLY),),
            R.AUTO_REPLY,
        )
    found = _from_detectors(msg, key)
    if found is not None:
        return found
    return Analysis(
        UNKNOWN, "not a recognised bounce, complaint or auto-reply", key, reason=R.UNDETERMINED
    )
