"""The registrant's own link (see or cancel a registration): signed, opaque, one purpose."""

from __future__ import annotations

from newsletter.config import Settings
from newsletter.tokens import signer

PURPOSE = "event-registration"


def manage_token(settings: Settings, registration_public_id: str) -> str:
    return signer(settings.secret_key, PURPOSE).sign(registration_public_id)


def manage_url(settings: Settings, registration_public_id: str) -> str:
    token = manage_token(settings, registration_public_id)
    return f"{settings.base_url.rstrip('/')}/events/registration/{token}"


def parse_manage_token(settings: Settings, token: str) -> str:
    """The registration's public id; raises ``InvalidToken`` for anything else."""
    return signer(settings.secret_key, PURPOSE).verify(token)
