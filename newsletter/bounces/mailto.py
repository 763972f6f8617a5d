"""The ``List-Unsubscribe`` mailto: a message to ``unsubscribe+<token>@`` unsubscribes.

RFC 2369's mailto is the only way some mail clients offer to leave a list; it must work as
surely as the https link. The token is the same signed scope as the link's (one list or
everything), so the message's content and its sender do not matter.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter import links
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.subscribers import status as subscriber_status
from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.tokens import InvalidToken

log = logging.getLogger(__name__)
REASON = "unsubscribed by email (List-Unsubscribe mailto)"


def token_of(settings: Settings, address: str) -> str | None:
    """The token of an ``unsubscribe+<token>@<bounce domain>`` address, else None."""
    local, _, domain = address.strip().strip("<>").rpartition("@")
    prefix, plus, token = local.partition("+")
    if (
        plus
        and prefix.lower() == "unsubscribe"
        and domain.lower() == settings.bounce_domain.lower()
    ):
        return token
    return None


def unsubscribe_by_mail(session: Session, settings: Settings, token: str) -> int | None:
    """Apply the token's scope; the subscriber id, or None for a bad token or unknown person."""
    try:
        scope = links.parse_unsubscribe_token(settings, token)
    except InvalidToken:
        return None
    subscriber = session.scalar(
        select(Subscriber).where(Subscriber.public_id == scope.subscriber_public_id)
    )
    if subscriber is None:
        return None
    query = update(Subscription).where(
        Subscription.subscriber_id == subscriber.id,
        Subscription.status == SubscriptionStatus.ACTIVE,
    )
    if scope.list_id is not None:
        query = query.where(Subscription.list_id == scope.list_id)
    session.execute(query.values(status=SubscriptionStatus.UNSUBSCRIBED, updated_at=utcnow()))
    if scope.list_id is None and subscriber.status in {
        SubscriberStatus.ACTIVE,
        SubscriberStatus.PENDING,
    }:
        subscriber_status.change_status(
            session, subscriber, SubscriberStatus.UNSUBSCRIBED, REASON, actor="person"
        )
    log.info("subscriber %s unsubscribed by mail (list %s)", subscriber.id, scope.list_id)
    return subscriber.id
