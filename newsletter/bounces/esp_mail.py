"""Email-sending providers' notifications that arrive *as mail*: read as what they are.

Amazon SES publishes bounce, complaint and delivery notifications through SNS, and an SNS
email subscription mails them: the body is the notification's JSON (``email``) or the SNS
envelope whose ``Message`` holds it (``email-json``). SendGrid's, Mailgun's and Postmark's
event webhooks post JSON, and relays or forwarding rules hand those bodies on by mail too.
Read as plain text they look like a hard bounce ("Permanent", "5.1.1" somewhere), so an SES
*delivery* notice would suppress the person it was delivered to. Here each provider's
documented shape becomes findings with a reason (or a notice: delivered, delayed), and the
same policy applies as for a DSN. Nothing here is trusted more than the mail it came in:
attribution (`processing`) still needs our signed token or one of our Message-IDs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import Message
from typing import Any

from newsletter.bounces.classify import normalise_status, reason_for_status
from newsletter.bounces.models import BounceReason

MAX_JSON_CHARS = 2_000_000
R = BounceReason


@dataclass(frozen=True)
class EspFailure:
    address: str | None
    reason: BounceReason
    status: str | None
    diagnostic: str


@dataclass(frozen=True)
class EspNotice:
    """What one provider notification says; ``failures`` empty for a notice."""

    provider: str
    what: str  # "bounce", "complaint", "delivered", "delayed", "other"
    failures: tuple[EspFailure, ...]
    message_ids: tuple[str, ...] = ()


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _json_values(text: str) -> list[Any]:
    """Every JSON object or array in ``text`` (a body may hold a footer after the JSON)."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    at = 0
    while len(found) < 20:
        starts = [i for i in (text.find("{", at), text.find("[", at)) if i >= 0]
        if not starts:
            break
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            at = start + 1
            continue
        if isinstance(value, dict | list):
            found.append(value)
        at = end
    return found


def _text_bodies(msg: Message) -> list[str]:
    texts = []
    for part in msg.walk():
        if part.get_content_type() not in {"text/plain", "application/json"}:
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        head = payload[:MAX_JSON_CHARS]
        if head.lstrip()[:1] in {b"{", b"["} or b'"notificationType"' in head:
            texts.append(head.decode("utf-8", "replace"))
    return texts


def _classified(status: str | None, text: str, default: BounceReason) -> BounceReason:
    reason = reason_for_status(status, text)
    return default if reason == R.UNDETERMINED else reason


_SES_SUBTYPES = {
    "NoEmail": R.USER_UNKNOWN,
    "Suppressed": R.USER_UNKNOWN,  # SES: a recent history of bouncing as an invalid address
    "MailboxFull": R.MAILBOX_FULL,
    "MessageTooLarge": R.MESSAGE_TOO_LARGE,
    "ContentRejected": R.POLICY_BLOCK,
    "AttachmentRejected": R.POLICY_BLOCK,
}


def _ses(value: dict[str, Any]) -> EspNotice | None:
    if value.get("Type") == "Notification" and isinstance(value.get("Message"), str):
        try:
            inner = json.loads(value["Message"])
        except ValueError:
            return None
        return _ses(inner) if isinstance(inner, dict) else None
    name = str(value.get("notificationType") or value.get("eventType") or "")
    if not name or "mail" not in value:
        return None
    mail = _dict(value.get("mail"))
    ids = [str(_dict(mail.get("commonHeaders")).get("messageId") or "")]
    ids += [
        str(h.get("value", ""))
        for h in _list(mail.get("headers"))
        if isinstance(h, dict) and str(h.get("name", "")).lower() == "message-id"
    ]
    message_ids = tuple(dict.fromkeys(i for i in ids if i))
    if name == "Bounce":
        bounce = _dict(value.get("bounce"))
        kind, sub = str(bounce.get("bounceType")), str(bounce.get("bounceSubType"))
        failures = []
        for rcpt in _list(bounce.get("bouncedRecipients"))[:50]:
            rcpt = _dict(rcpt)
            status = normalise_status(str(rcpt.get("status") or ""))
            text = str(rcpt.get("diagnosticCode") or "")
            default = _SES_SUBTYPES.get(sub, R.UNDETERMINED)
            if kind == "Transient" and default == R.UNDETERMINED:
                default = R.TEMPORARY_FAILURE
            reason = _classified(status, text, default) if sub not in _SES_SUBTYPES else default
            if kind == "Transient" and reason in {R.USER_UNKNOWN, R.DOMAIN_NOT_FOUND}:
                reason = R.TEMPORARY_FAILURE  # SES itself says it may recover
            diagnostic = text or f"SES {kind}/{sub}"
            failures.append(EspFailure(rcpt.get("emailAddress"), reason, status, diagnostic))
        return EspNotice("ses", "bounce", tuple(failures), message_ids)
    if name == "Complaint":
        complaint = _dict(value.get("complaint"))
        feedback = str(complaint.get("complaintFeedbackType") or "abuse")
        if feedback == "not-spam":
            return EspNotice("ses", "other", (), message_ids)
        complained = tuple(
            EspFailure(
                _dict(r).get("emailAddress"), R.COMPLAINT, None, f"SES complaint: {feedback}"
            )
            for r in _list(complaint.get("complainedRecipients"))[:10]
        )
        return EspNotice("ses", "complaint", complained, message_ids)
    if name == "DeliveryDelay":
        return EspNotice("ses", "delayed", (), message_ids)
    if name == "Delivery":
        return EspNotice("ses", "delivered", (), message_ids)
    return EspNotice("ses", "other", (), message_ids)


_SENDGRID_CLASSES = {
    "Invalid Address": R.USER_UNKNOWN,
    "Mailbox Unavailable": R.MAILBOX_DISABLED,
    "Technical": R.TEMPORARY_FAILURE,
    "Content": R.POLICY_BLOCK,
    "Reputation": R.SENDER_BLOCKLISTED,
    "Frequency or Volume": R.RATE_LIMITED,
    "Unclassified": R.UNDETERMINED,
}


_SENDGRID_SENDER_SIDE = frozenset({"Content", "Reputation", "Frequency or Volume"})


def _sendgrid(items: list[Any]) -> EspNotice | None:
    events = [_dict(item) for item in items[:1000] if "sg_event_id" in _dict(item)]
    if not events:
        return None
    failures = []
    what = "other"
    for item in events:
        name = str(item.get("event"))
        if name == "spamreport":
            report = EspFailure(item.get("email"), R.COMPLAINT, None, "SendGrid spam report")
            failures.append(report)
            what = "complaint"
        elif name == "bounce":
            status = normalise_status(str(item.get("status") or ""))
            text = str(item.get("reason") or "")
            cls = str(item.get("bounce_classification") or "")
            default = _SENDGRID_CLASSES.get(cls, R.UNDETERMINED)
            reason = _classified(status, text, default)
            blocked = cls in _SENDGRID_SENDER_SIDE or item.get("type") == "blocked"
            if blocked and reason in {R.USER_UNKNOWN, R.DOMAIN_NOT_FOUND, R.UNDETERMINED}:
                reason = default if cls in _SENDGRID_SENDER_SIDE else R.POLICY_BLOCK
            diagnostic = text or "SendGrid bounce"
            failures.append(EspFailure(item.get("email"), reason, status, diagnostic))
            what = "bounce"
        elif name == "deferred" and what == "other":
            what = "delayed"
        elif name == "delivered" and what == "other":
            what = "delivered"
    return EspNotice("sendgrid", what, tuple(failures))


def _mailgun(value: dict[str, Any]) -> EspNotice | None:
    data = _dict(value.get("event-data")) or (value if "severity" in value else {})
    event = str(data.get("event") or "")
    if not event or "recipient" not in data:
        return None
    address = data.get("recipient")
    ids = (str(_dict(_dict(data.get("message")).get("headers")).get("message-id") or ""),)
    message_ids = tuple(f"<{i.strip('<>')}>" for i in ids if i)
    if event == "complained":
        complaint = EspFailure(address, R.COMPLAINT, None, "Mailgun complaint")
        return EspNotice("mailgun", "complaint", (complaint,), message_ids)
    if event == "delivered":
        return EspNotice("mailgun", "delivered", (), message_ids)
    if event != "failed":
        return EspNotice("mailgun", "other", (), message_ids)
    if data.get("severity") == "temporary":
        return EspNotice("mailgun", "delayed", (), message_ids)  # Mailgun retries
    info = _dict(data.get("delivery-status"))
    text = str(info.get("message") or info.get("description") or "")
    status = normalise_status(str(info.get("enhanced-code") or ""))
    reason = _classified(status, text, R.UNDETERMINED)
    if data.get("reason") == "suppress-bounce" and reason == R.UNDETERMINED:
        reason = R.USER_UNKNOWN  # Mailgun: the address bounced hard before
    failure = EspFailure(address, reason, status, text or "Mailgun permanent failure")
    return EspNotice("mailgun", "bounce", (failure,), message_ids)


_POSTMARK_TYPES = {
    "HardBounce": R.USER_UNKNOWN,
    "SoftBounce": R.TEMPORARY_FAILURE,
    "Transient": R.TEMPORARY_FAILURE,
    "DnsError": R.TEMPORARY_DNS,
    "SpamNotification": R.POLICY_BLOCK,
    "SpamComplaint": R.COMPLAINT,
    "BadEmailAddress": R.USER_UNKNOWN,
    "Blocked": R.POLICY_BLOCK,
    "ContentRelated": R.POLICY_BLOCK,
    "ChallengeVerification": R.AUTO_REPLY,
    "AutoResponder": R.AUTO_REPLY,
    "AddressChange": R.AUTO_REPLY,
    "VirusNotification": R.POLICY_BLOCK,
    "SMTPApiError": R.UNDETERMINED,
    "InboundError": R.UNDETERMINED,
    "DMARCPolicy": R.AUTH_FAILURE,
    "Unknown": R.UNDETERMINED,
    "ManuallyDeactivated": R.UNDETERMINED,
    "Unconfirmed": R.UNDETERMINED,
    "Subscribe": R.AUTO_REPLY,
    "OpenRelayTest": R.UNDETERMINED,
    "TemplateRenderingFailed": R.UNDETERMINED,
}


def _postmark(value: dict[str, Any]) -> EspNotice | None:
    record = str(value.get("RecordType") or "")
    if record not in {"Bounce", "SpamComplaint", "Delivery"}:
        return None
    if "Email" not in value and "Recipient" not in value:
        return None
    address = value.get("Email") or value.get("Recipient")
    ids = (f"<{str(value['MessageID']).strip('<>')}>",) if value.get("MessageID") else ()
    if record == "Delivery":
        return EspNotice("postmark", "delivered", (), ids)
    kind = str(value.get("Type") or ("SpamComplaint" if record == "SpamComplaint" else "Unknown"))
    default = _POSTMARK_TYPES.get(kind, R.UNDETERMINED)
    text = str(value.get("Details") or value.get("Description") or kind)
    if default == R.COMPLAINT:
        complaint = EspFailure(address, R.COMPLAINT, None, "Postmark spam complaint")
        return EspNotice("postmark", "complaint", (complaint,), ids)
    if default == R.AUTO_REPLY:
        return EspNotice("postmark", "auto_reply", (), ids)
    # Clear wording outranks Postmark's label (a "HardBounce" that is a blocklisting), but a
    # dead-address wording never hardens what Postmark itself calls soft.
    reason = reason_for_status(None, text)
    dead = {R.USER_UNKNOWN, R.DOMAIN_NOT_FOUND}
    if reason == R.UNDETERMINED or (default not in dead and reason in dead):
        reason = default
    return EspNotice("postmark", "bounce", (EspFailure(address, reason, None, text[:2000]),), ids)


def read_esp_notification(msg: Message) -> EspNotice | None:
    """The provider notification in ``msg``'s body, or None when there is none."""
    for text in _text_bodies(msg):
        for value in _json_values(text):
            if isinstance(value, list):
                found = _sendgrid(value)
            else:
                found = _ses(value) or _postmark(value) or _mailgun(value)
                if found is None and "sg_event_id" in value:
                    found = _sendgrid([value])
            if found is not None:
                return found
    return None
