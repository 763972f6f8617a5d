"""Mailgun webhooks: HMAC-SHA256 of timestamp + token with the webhook signing key.

Mailgun signs ``timestamp + token`` with the domain's *webhook signing key*; the hex digest
is compared in constant time. ``failed`` events with severity ``temporary`` are ignored:
Mailgun retries and reports a ``permanent`` failure if it gives up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from newsletter.bounces.classify import kind_for_status, normalise_status
from newsletter.bounces.models import BounceKind
from newsletter.bounces.providers import (
    ProviderEvent,
    WebhookRejected,
    delivery_from,
    json_object,
)
from newsletter.config import Settings

SOURCE = "mailgun"


def _verify(settings: Settings, signature: dict[str, Any]) -> None:
    key = settings.mailgun_webhook_signing_key
    if not key:
        raise WebhookRejected("Mailgun webhook is not configured", 404)
    message = f"{signature.get('timestamp', '')}{signature.get('token', '')}".encode()
    expected = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(signature.get("signature", ""))):
        raise WebhookRejected("Mailgun signature does not verify")


def events_from(settings: Settings, body: bytes) -> list[ProviderEvent]:
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("Mailgun body is not JSON", 400) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("signature"), dict):
        raise WebhookRejected("Mailgun body has no signature", 401)
    _verify(settings, payload["signature"])
    data = json_object(payload, "event-data")
    event = data.get("event")
    variables = json_object(data, "user-variables")
    common: dict[str, Any] = {
        "source": SOURCE,
        "event_id": str(data.get("id")),
        "address": data.get("recipient"),
        "delivery_id": delivery_from(settings, variables.get("verp")),
    }
    if event == "complained":
        return [ProviderEvent(kind=BounceKind.COMPLAINT, diagnostic="Mailgun complaint", **common)]
    if event == "unsubscribed":
        return [
            ProviderEvent(kind=BounceKind.UNSUBSCRIBE, diagnostic="Mailgun unsubscribe", **common)
        ]
    if event != "failed" or data.get("severity") != "permanent":
        return []
    status_info = json_object(data, "delivery-status")
    text = str(status_info.get("message") or status_info.get("description") or data.get("reason"))
    status = normalise_status(str(status_info.get("enhanced-code") or ""))
    kind = kind_for_status(status, text)
    if kind == BounceKind.SOFT and status is None:
        kind = BounceKind.HARD  # Mailgun gave up for good and gives no finer reason
    return [ProviderEvent(kind=kind, status=status, diagnostic=text[:2000], **common)]
