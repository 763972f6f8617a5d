"""Amazon SES notifications delivered by SNS, with SNS message-signature verification.

SNS signs every message with a key whose certificate it publishes at ``SigningCertURL``.
We only fetch certificates from ``https://sns.<region>.amazonaws.com/`` (else anybody could
point us at their own certificate), verify the RSA signature (SHA1 for SignatureVersion 1,
SHA256 for 2) over the canonical string SNS documents, and accept only the topics listed in
``SES_SNS_TOPIC_ARNS``: any AWS account can sign messages for its own topics.
A ``SubscriptionConfirmation`` is confirmed by fetching its ``SubscribeURL`` (same host rule).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from newsletter.bounces.classify import kind_for_status, normalise_status
from newsletter.bounces.models import BounceKind
from newsletter.bounces.providers import (
    ProviderEvent,
    WebhookRejected,
    delivery_from,
    header_value,
)
from newsletter.config import Settings
from newsletter.rendering.delivery_headers import GENERIC_HEADER, METADATA_KEY

SOURCE = "ses"
Fetch = Callable[[str], bytes]
_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_SIGNED_KEYS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}  # fmt: skip
_SIGNED_KEYS["UnsubscribeConfirmation"] = _SIGNED_KEYS["SubscriptionConfirmation"]


def check_sns_url(url: str) -> str:
    """Refuse any URL that is not https on an SNS host (certificate and subscribe URLs)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not _SNS_HOST.match(parts.hostname or "") or parts.port:
        raise WebhookRejected("SNS URL is not on an https://sns.<region>.amazonaws.com host")
    return url


@functools.lru_cache(maxsize=16)
def https_fetch(url: str) -> bytes:
    """The production fetcher: certificates are few and stable, so they are cached."""
    response = httpx.get(check_sns_url(url), timeout=10.0, follow_redirects=False)
    response.raise_for_status()
    return response.content


def string_to_sign(message: dict[str, object]) -> bytes:
    keys = _SIGNED_KEYS.get(str(message.get("Type")))
    if keys is None:
        raise WebhookRejected("unknown SNS message type", 400)
    lines = []
    for key in keys:
        if key in message and message[key] is not None:
            lines.append(f"{key}\n{message[key]}\n")
    return "".join(lines).encode("utf-8")


def verify_sns(message: dict[str, object], fetch: Fetch) -> None:
    """Raise `WebhookRejected` unless SNS signed ``message``."""
    version = str(message.get("SignatureVersion", ""))
    # SignatureVersion 1 is SHA1withRSA by AWS's definition (the default for topics).
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(version)  # noqa: S303
    if algorithm is None:
        raise WebhookRejected(f"unsupported SNS SignatureVersion {version[:5]!r}")
    url = check_sns_url(str(message.get("SigningCertURL", "")))
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        certificate = x509.load_pem_x509_certificate(fetch(url))
    except (binascii.Error, ValueError) as exc:
        raise WebhookRejected(f"unreadable SNS signature or certificate: {exc}") from None
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRejected("SNS certificate is not an RSA certificate")
    try:
        key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise WebhookRejected("SNS signature does not verify") from None


def parse_envelope(body: bytes, settings: Settings, fetch: Fetch) -> dict[str, Any]:
    """The verified SNS message from an allowed topic."""
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("SNS body is not JSON", 400) from None
    if not isinstance(message, dict):
        raise WebhookRejected("SNS body is not an object", 400)
    verify_sns(message, fetch)
    if message.get("TopicArn") not in settings.ses_sns_topic_arns:
        raise WebhookRejected("SNS topic is not one of SES_SNS_TOPIC_ARNS", 403)
    return message


def confirm_subscription(message: dict[str, object], fetch: Fetch) -> None:
    """Visit the SubscribeURL of a verified SubscriptionConfirmation."""
    fetch(check_sns_url(str(message.get("SubscribeURL", ""))))


def _bounce_kind(bounce_type: str, sub_type: str, status: str | None, text: str) -> BounceKind:
    if sub_type in {"ContentRejected", "AttachmentRejected", "MessageTooLarge"}:
        return BounceKind.SENDER_PROBLEM
    kind = kind_for_status(status, text)
    if bounce_type == "Permanent" and kind == BounceKind.SOFT and status is None:
        return BounceKind.HARD  # SES says permanent (e.g. NoEmail, Suppressed)
    if bounce_type == "Transient" and kind == BounceKind.HARD:
        return BounceKind.SOFT
    return kind


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def events_from(settings: Settings, notification: dict[str, Any]) -> list[ProviderEvent]:
    """SES bounce and complaint notifications (and event-publishing records) -> events."""
    kind_name = str(notification.get("notificationType") or notification.get("eventType"))
    mail = _dict(notification.get("mail"))
    delivery_id = delivery_from(
        settings,
        _dict(mail.get("tags")).get(METADATA_KEY),  # event publishing: X-SES-MESSAGE-TAGS
        header_value(mail.get("headers"), GENERIC_HEADER),  # notifications with headers
        mail.get("source"),  # the envelope sender, when SES kept our VERP address
    )
    events: list[ProviderEvent] = []
    if kind_name == "Bounce":
        bounce = _dict(notification.get("bounce"))
        bounce_type, sub_type = str(bounce.get("bounceType")), str(bounce.get("bounceSubType"))
        for rcpt in _list(bounce.get("bouncedRecipients")):
            status = normalise_status(rcpt.get("status"))
            text = str(rcpt.get("diagnosticCode") or sub_type)[:2000]
            kind = _bounce_kind(bounce_type, sub_type, status, text)
            address = rcpt.get("emailAddress")
            event_id = f"{bounce.get('feedbackId')}/{address}"
            events.append(ProviderEvent(SOURCE, event_id, kind, address, status, text, delivery_id))
    elif kind_name == "Complaint":
        complaint = _dict(notification.get("complaint"))
        feedback = str(complaint.get("complaintFeedbackType") or "abuse")
        if feedback == "not-spam":
            return []
        for rcpt in _list(complaint.get("complainedRecipients")):
            address = rcpt.get("emailAddress")
            event_id = f"{complaint.get('feedbackId')}/{address}"
            text = f"SES complaint ({feedback})"
            events.append(
                ProviderEvent(
                    SOURCE, event_id, BounceKind.COMPLAINT, address, None, text, delivery_id
                )
            )
    return events


def notification_of(message: dict[str, Any]) -> dict[str, Any]:
    """The SES notification inside a verified SNS Notification (its Message is JSON)."""
    try:
        notification = json.loads(str(message.get("Message", "")))
    except ValueError:
        raise WebhookRejected("SNS Message is not SES JSON", 400) from None
    if not isinstance(notification, dict):
        raise WebhookRejected("SNS Message is not an SES notification", 400)
    return notification
