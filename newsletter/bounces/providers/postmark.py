"""Postmark bounce and spam-complaint webhooks, authenticated with HTTP Basic credentials.

Postmark documents basic auth credentials embedded in the webhook URL
(``https://user:password@host/webhooks/postmark``); both are compared in constant time.
Postmark rewrites the return path, so the delivery is named by the delivery tag the engine
passes as message metadata (``X-PM-Metadata-verp``, back as ``Metadata.verp``); otherwise the
bounced address is used.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from typing import Any

from newsletter.bounces.classify import kind_for_status
from newsletter.bounces.models import BounceKind
from newsletter.bounces.providers import (
    ProviderEvent,
    WebhookRejected,
    delivery_from,
    json_object,
)
from newsletter.config import Settings

SOURCE = "postmark"
KINDS = {
    "HardBounce": BounceKind.HARD,
    "BadEmailAddress": BounceKind.HARD,
    "SoftBounce": BounceKind.SOFT,
    "Transient": BounceKind.SOFT,
    "DnsError": BounceKind.SOFT,
    "SpamComplaint": BounceKind.COMPLAINT,
    "SpamNotification": BounceKind.SENDER_PROBLEM,
    "Blocked": BounceKind.SENDER_PROBLEM,
    "DMARCPolicy": BounceKind.SENDER_PROBLEM,
    "AutoResponder": BounceKind.AUTO_REPLY,
    "Unsubscribe": BounceKind.UNSUBSCRIBE,
}


def check_basic_auth(settings: Settings, authorization: str | None) -> None:
    user, password = settings.postmark_webhook_username, settings.postmark_webhook_password
    if not user or not password:
        raise WebhookRejected("Postmark webhook is not configured", 404)
    scheme, _, encoded = (authorization or "").partition(" ")
    try:
        given = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        given = ""
    given_user, _, given_password = given.partition(":")
    ok_user = hmac.compare_digest(given_user.encode(), user.encode())
    ok_password = hmac.compare_digest(given_password.encode(), password.encode())
    if scheme.lower() != "basic" or not (ok_user and ok_password):
        raise WebhookRejected("Postmark webhook credentials do not match")


def events_from(settings: Settings, body: bytes) -> list[ProviderEvent]:
    try:
        record: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("Postmark body is not JSON", 400) from None
    if not isinstance(record, dict) or record.get("RecordType") not in {"Bounce", "SpamComplaint"}:
        return []
    kind = KINDS.get(str(record.get("Type")), BounceKind.UNKNOWN)
    details = str(record.get("Details") or record.get("Description") or record.get("Type"))
    if kind == BounceKind.HARD and kind_for_status(None, details) == BounceKind.SENDER_PROBLEM:
        kind = BounceKind.SENDER_PROBLEM
    metadata = json_object(record, "Metadata")
    return [
        ProviderEvent(
            source=SOURCE,
            event_id=str(record.get("ID")),
            kind=kind,
            address=record.get("Email"),
            diagnostic=details[:2000],
            delivery_id=delivery_from(settings, metadata.get("verp")),
        )
    ]
