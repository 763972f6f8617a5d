"""SendGrid's signed Event Webhook: ECDSA (P-256, SHA-256) over timestamp + raw body.

SendGrid sends the signature (base64 DER) and the timestamp in the
``X-Twilio-Email-Event-Webhook-Signature`` / ``-Timestamp`` headers; the verification key is
the public key shown in the SendGrid console (``SENDGRID_WEBHOOK_PUBLIC_KEY``, base64 DER
or PEM). One request carries a batch of events; each has its own ``sg_event_id``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from newsletter.bounces.classify import kind_for_status, normalise_status
from newsletter.bounces.models import BounceKind
from newsletter.bounces.providers import ProviderEvent, WebhookRejected, delivery_from
from newsletter.config import Settings

SOURCE = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_SENDER_SIDE = {"Reputation", "Content", "Frequency or Volume Too High", "Technical"}


def _public_key(text: str) -> ec.EllipticCurvePublicKey:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode(text))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an ECDSA public key")
    return key


def verify(settings: Settings, body: bytes, signature: str | None, timestamp: str | None) -> None:
    if not settings.sendgrid_webhook_public_key:
        raise WebhookRejected("SendGrid webhook is not configured", 404)
    if not signature or not timestamp:
        raise WebhookRejected("SendGrid signature headers are missing")
    try:
        key = _public_key(settings.sendgrid_webhook_public_key)
        key.verify(
            base64.b64decode(signature, validate=True),
            timestamp.encode() + body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        raise WebhookRejected("SendGrid signature does not verify") from None


def _event(settings: Settings, item: dict[str, Any]) -> ProviderEvent | None:
    name, address = item.get("event"), item.get("email")
    reason = str(item.get("reason") or item.get("response") or name)[:2000]
    status = normalise_status(str(item.get("status") or ""))
    common: dict[str, Any] = {
        "source": SOURCE,
        "event_id": str(item.get("sg_event_id")),
        "address": address,
        "delivery_id": delivery_from(settings, item.get("verp")),
    }
    if name == "spamreport":
        return ProviderEvent(kind=BounceKind.COMPLAINT, diagnostic="SendGrid spam report", **common)
    if name in {"unsubscribe", "group_unsubscribe"}:
        return ProviderEvent(kind=BounceKind.UNSUBSCRIBE, diagnostic=f"SendGrid {name}", **common)
    if name != "bounce":
        return None  # deferred (SendGrid retries), dropped, delivered, open, click, ...
    kind = kind_for_status(status, reason)
    if item.get("type") == "blocked" or item.get("bounce_classification") in _SENDER_SIDE:
        if kind != BounceKind.HARD:
            kind = BounceKind.SENDER_PROBLEM
    elif kind == BounceKind.SOFT and status is None:
        kind = BounceKind.HARD  # a SendGrid "bounce" is a permanent refusal
    return ProviderEvent(kind=kind, status=status, diagnostic=reason, **common)


def events_from(settings: Settings, body: bytes) -> list[ProviderEvent]:
    try:
        items: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("SendGrid body is not JSON", 400) from None
    if not isinstance(items, list):
        raise WebhookRejected("SendGrid body is not a list of events", 400)
    events = [_event(settings, item) for item in items[:1000] if isinstance(item, dict)]
    return [event for event in events if event is not None]
