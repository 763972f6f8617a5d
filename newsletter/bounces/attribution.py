"""Which delivery (or subscriber) a returned message is about, from our signed tokens only.

A bounce names its delivery through the VERP envelope sender we set (``bounces+<token>@``):
in the SMTP envelope, the bounce's To/Delivered-To headers, an ARF report's
Original-Mail-From or the returned message's Return-Path. Complaint reports often redact
the recipient, but the returned headers still carry our List-Unsubscribe mailto token,
which names the subscriber. Only tokens whose signature checks are believed, so a forged
report cannot name somebody else's delivery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from newsletter import links
from newsletter.config import Settings
from newsletter.tokens import InvalidToken

SCAN_LIMIT = 2_000_000


@dataclass(frozen=True)
class Attribution:
    delivery_id: int | None = None
    subscriber_public_id: str | None = None

    @property
    def found(self) -> bool:
        return self.delivery_id is not None or self.subscriber_public_id is not None


def _texts(msg: Message, raw: bytes) -> list[str]:
    """The raw message, plus every decoded leaf part (QP or base64 may hide a token)."""
    texts = [raw[:SCAN_LIMIT].decode("utf-8", "replace")]
    budget = SCAN_LIMIT
    for part in msg.walk():
        if part.is_multipart() or budget <= 0:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and payload:
            texts.append(payload[:budget].decode("utf-8", "replace"))
            budget -= len(payload)
    return texts


def attribute(
    settings: Settings, msg: Message, raw: bytes, envelope_to: list[str] | None = None
) -> Attribution:
    """The delivery named by a VERP token (envelope first), else a subscriber by mailto token."""
    for address in envelope_to or []:
        delivery_id = links.delivery_id_from_verp(settings, address)
        if delivery_id is not None:
            return Attribution(delivery_id=delivery_id)
    domain = re.escape(settings.bounce_domain)
    verp = re.compile(rf"bounces\+([a-z0-9.]+)@{domain}", re.IGNORECASE)
    mailto = re.compile(rf"unsubscribe\+([a-z0-9.]+)@{domain}", re.IGNORECASE)
    texts = _texts(msg, raw)
    deliveries: set[int] = set()
    for text in texts:
        for token in verp.findall(text):
            found = links.delivery_id_from_verp(
                settings, f"bounces+{token}@{settings.bounce_domain}"
            )
            if found is not None:
                deliveries.add(found)
    if len(deliveries) == 1:
        return Attribution(delivery_id=deliveries.pop())
    subscribers: set[str] = set()
    for text in texts:
        for token in mailto.findall(text):
            try:
                subscribers.add(links.parse_unsubscribe_token(settings, token).subscriber_public_id)
            except InvalidToken:
                continue
    if len(subscribers) == 1:
        return Attribution(subscriber_public_id=subscribers.pop())
    return Attribution()
