"""Which delivery (or subscriber) a returned message is about, in a way a forger cannot steer.

Evidence, strongest first (``Attribution.via``):

``envelope``  the SMTP recipient is our signed VERP address (``bounces+<token>@``): the relay
              returned *that* delivery;
``header``    the bounce's own To/Delivered-To/X-Original-To/Envelope-To carries it (what a
              relay's bounce mailbox keeps of the envelope);
``report``    an ARF report's ``Original-Mail-From`` carries it (believed only for complaints
              from a known feedback loop: `processing` checks the sender);
``mailto``    a complaint whose report is redacted still quotes our ``List-Unsubscribe``
              mailto token, which names the subscriber.

A token found only *inside the returned message* is not believed by itself: anyone can quote
somebody else's VERP address in a fake returned header. The returned message's Message-IDs
are collected instead (``returned_message_ids``); `processing` accepts them only when one is
exactly the Message-ID we sent a delivery with. A VERP-shaped address at the top of the message
whose signature does not check marks the message ``forged``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from newsletter import links
from newsletter.bounces.reports import parse_arf
from newsletter.config import Settings
from newsletter.tokens import InvalidToken

SCAN_LIMIT = 2_000_000
ENVELOPE_HEADERS = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
_MESSAGE_ID_LINE = re.compile(r"^\s*Message-ID:\s*(<[^<>\s]{1,250}>)", re.IGNORECASE | re.MULTILINE)
RETURNED_TYPES = ("message/rfc822", "text/rfc822-headers", "message/global", "message/partial")


@dataclass(frozen=True)
class Attribution:
    delivery_id: int | None = None
    subscriber_public_id: str | None = None
    via: str = ""
    forged: bool = False
    returned_message_ids: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.delivery_id is not None or self.subscriber_public_id is not None

    @property
    def names_delivery(self) -> bool:
        """A delivery named by the envelope or the bounce's own headers (not the returned copy)."""
        return self.delivery_id is not None and self.via in {"envelope", "header"}


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


def returned_message_ids(msg: Message, raw: bytes) -> tuple[str, ...]:
    """Message-IDs of the returned message (attached, as headers, or pasted as text) and the
    ``In-Reply-To``/``References`` of an answer: never the bounce's own Message-ID."""
    own = " ".join(str(msg.get("Message-ID", "")).split())
    found: list[str] = []
    for name in ("In-Reply-To", "References"):
        for value in msg.get_all(name) or []:
            found += re.findall(r"<[^<>\s]{1,250}>", str(value))
    for part in msg.walk():
        if part.get_content_type() in RETURNED_TYPES:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message) and inner.get("Message-ID"):
                found.append(" ".join(str(inner.get("Message-ID")).split()))
            elif isinstance(payload, str):
                headers = HeaderParser().parsestr(payload[:100_000])
                if headers.get("Message-ID"):
                    found.append(" ".join(str(headers.get("Message-ID")).split()))
    for text in _texts(msg, raw)[1:]:
        found += _MESSAGE_ID_LINE.findall(text)
    header_end = raw.find(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.find(b"\n\n")
    body = raw[header_end:SCAN_LIMIT].decode("utf-8", "replace") if header_end > 0 else ""
    found += _MESSAGE_ID_LINE.findall(body)
    return tuple(dict.fromkeys(mid for mid in found if mid != own))[:50]


def _verp_in(settings: Settings, values: list[str]) -> tuple[set[int], bool]:
    """Deliveries named by VERP addresses in ``values``, and whether one did not verify."""
    domain = re.escape(settings.bounce_domain)
    verp = re.compile(rf"bounces\+([^@\s<>\"]+)@{domain}", re.IGNORECASE)
    deliveries: set[int] = set()
    forged = False
    for value in values:
        for token in verp.findall(value):
            found = links.delivery_id_from_verp(
                settings, f"bounces+{token}@{settings.bounce_domain}"
            )
            if found is None:
                forged = True
            else:
                deliveries.add(found)
    return deliveries, forged


def attribute(
    settings: Settings, msg: Message, raw: bytes, envelope_to: list[str] | None = None
) -> Attribution:
    """What names the delivery or subscriber, by the order of the module docstring."""
    returned = returned_message_ids(msg, raw)
    deliveries, forged = _verp_in(settings, list(envelope_to or []))
    if len(deliveries) == 1:
        return Attribution(delivery_id=deliveries.pop(), via="envelope", forged=forged,
                           returned_message_ids=returned)  # fmt: skip
    headers = [str(value) for name in ENVELOPE_HEADERS for value in msg.get_all(name) or []]
    header_deliveries, header_forged = _verp_in(settings, headers)
    forged = forged or header_forged
    if len(header_deliveries) == 1 and not forged:
        return Attribution(delivery_id=header_deliveries.pop(), via="header",
                           returned_message_ids=returned)  # fmt: skip
    report = parse_arf(msg)
    if report is not None and report.original_mail_from and not forged:
        arf_deliveries, arf_forged = _verp_in(settings, [report.original_mail_from])
        if len(arf_deliveries) == 1 and not arf_forged:
            return Attribution(delivery_id=arf_deliveries.pop(), via="report",
                               returned_message_ids=returned)  # fmt: skip
    domain = re.escape(settings.bounce_domain)
    mailto = re.compile(rf"unsubscribe\+([a-z0-9.]+)@{domain}", re.IGNORECASE)
    subscribers: set[str] = set()
    if report is not None and not forged:
        for text in _texts(msg, raw):
            for token in mailto.findall(text):
                try:
                    parsed = links.parse_unsubscribe_token(settings, token)
                except InvalidToken:
                    continue
                subscribers.add(parsed.subscriber_public_id)
    if len(subscribers) == 1:
        return Attribution(subscriber_public_id=subscribers.pop(), via="mailto",
                           returned_message_ids=returned)  # fmt: skip
    return Attribution(forged=forged, returned_message_ids=returned)
