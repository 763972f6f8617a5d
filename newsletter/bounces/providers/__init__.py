"""Provider webhooks (Amazon SES via SNS, Postmark, SendGrid, Mailgun) -> one event type.

Each provider module authenticates a request the way its provider documents and turns the
payload into `ProviderEvent` values; `apply_events` hands them to the bounce policy. The
provider's own event id is the ``source_event_id``, so a webhook delivered twice (providers
retry on any non-2xx) is recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from newsletter import links
from newsletter.bounces.models import BounceKind
from newsletter.bounces.policy import record_bounce
from newsletter.config import Settings


class WebhookRejected(Exception):
    """The request is not authentic (401) or not readable (400); ``str()`` is for the log."""

    def __init__(self, message: str, status_code: int = 401) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class ProviderEvent:
    source: str
    event_id: str
    kind: BounceKind
    address: str | None
    status: str | None = None
    diagnostic: str = ""
    delivery_id: int | None = None


def json_object(container: dict[str, Any], key: str) -> dict[str, Any]:
    """The JSON object under ``key``, or an empty one: providers omit or null what they lack."""
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def delivery_from(settings: Settings, *candidates: object) -> int | None:
    """The delivery named by the first genuine candidate: a delivery tag or a VERP address.

    Providers echo back the delivery tag the engine put in their metadata header
    (`newsletter.rendering.delivery_headers`, key ``verp``); older messages carried the VERP
    address there. A list (SES tags) names its first value. Forgeries name nothing.
    """
    for candidate in candidates:
        if isinstance(candidate, list) and candidate:
            candidate = candidate[0]
        if not isinstance(candidate, str) or not candidate:
            continue
        if "@" in candidate:
            found = links.delivery_id_from_verp(settings, candidate)
        else:
            found = links.delivery_id_from_tag(settings, candidate)
        if found is not None:
            return found
    return None


def header_value(headers: object, name: str) -> str | None:
    """A header's value in a provider's ``[{"name": ..., "value": ...}]`` list (SES)."""
    if isinstance(headers, list):
        for item in headers:
            if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
                value = item.get("value")
                return value if isinstance(value, str) else None
    return None


def apply_events(session: Session, settings: Settings, events: list[ProviderEvent]) -> int:
    """Record each event through the policy; how many were new (replays return None)."""
    recorded = 0
    for event in events:
        result = record_bounce(
            session,
            source=event.source,
            source_event_id=event.event_id,
            kind=event.kind,
            diagnostic=event.diagnostic,
            status_code=event.status,
            delivery_id=event.delivery_id,
            address=event.address,
            settings=settings,
        )
        recorded += result is not None
    return recorded
