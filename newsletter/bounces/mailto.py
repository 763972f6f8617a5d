"""The ``List-Unsubscribe`` mailto: a message to ``unsubscribe+<token>@`` unsubscribes.

RFC 2369's mailto is the only way some mail clients offer to leave a list; it must work as
surely as the https link. The token is the same signed scope as the link's (the email's lists
or everything), so the message's content and its sender do not matter.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from newsletter import links
from newsletter.config import Settings
from newsletter.subscribers import service as subscriber_service
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
    subscriber = subscriber_service.unsubscribe(session, scope, REASON, "person")
    if subscriber is None:
        return None
    lists = ",".join(map(str, scope.list_ids)) or "all"
    log.info("subscriber %s unsubscribed by mail (lists %s)", subscriber.id, lists)
    return subscriber.id
