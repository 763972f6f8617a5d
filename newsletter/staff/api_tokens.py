"""API tokens: scoped, hashed at rest, shown once, revocable.

A token is ``nl_<prefix>_<secret>`` with 32 random bytes of secret; only its SHA-256 is
stored (a fast hash is right here: the secret has 256 bits of entropy, unlike a password).
The prefix is stored in clear so staff can tell their tokens apart. A token acts for the
staff member who made it and can never do more than that person's role allows today: a
demoted or disabled owner shrinks or ends the token's power at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.db import utcnow
from newsletter.staff import audit
from newsletter.staff.models import ApiToken, StaffRole, StaffUser

READ_SCOPES = ("lists:read", "posts:read", "campaigns:read")
SCOPES = (
    "subscribers:read",
    "subscribers:write",
    "subscribers:erase",
    "lists:read",
    "lists:write",
    "posts:read",
    "posts:write",
    "campaigns:read",
    "campaigns:write",
)
ROLE_SCOPES: dict[StaffRole, frozenset[str]] = {
    StaffRole.VIEWER: frozenset(READ_SCOPES),
    StaffRole.EDITOR: frozenset(SCOPES) - {"subscribers:erase"},
    StaffRole.ADMIN: frozenset(SCOPES),
}
_TOUCH_EVERY = dt.timedelta(minutes=1)


class TokenRefused(ValueError):
    """The token request cannot be honoured; the text says why."""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(
    db: Session,
    owner: StaffUser,
    actor: audit.Actor,
    *,
    name: str,
    scopes: list[str],
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Make a token; the clear value is returned here once and never stored."""
    name = " ".join(name.split())[:100]
    if not name:
        raise TokenRefused("Give the token a name (what uses it).")
    wanted = set(scopes)
    if not wanted or not wanted <= set(SCOPES):
        raise TokenRefused("Choose at least one scope.")
    if not wanted <= ROLE_SCOPES[owner.role]:
        raise TokenRefused("Your role cannot grant some of these scopes.")
    prefix = secrets.token_hex(4)
    raw = f"nl_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        staff_user_id=owner.id,
        name=name,
        token_prefix=prefix,
        token_hash=_digest(raw),
        scopes=sorted(wanted),
        expires_at=utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.add(token)
    db.flush()
    audit.record(
        db,
        actor,
        "api_token.create",
        object_type="api_token",
        object_id=token.id,
        detail={"scopes": token.scopes},
    )
    return token, raw


def authenticate(db: Session, raw: str | None, now: dt.datetime | None = None) -> ApiToken | None:
    """The live token for a presented value, else None (unknown, revoked, expired, owner off)."""
    if not raw or not raw.startswith("nl_") or len(raw) > 100:
        return None
    now = now or utcnow()
    token = db.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.staff_user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= _TOUCH_EVERY:
        token.last_used_at = now
    return token


def effective_scopes(token: ApiToken) -> frozenset[str]:
    return frozenset(token.scopes) & ROLE_SCOPES[token.staff_user.role]


def revoke(db: Session, token: ApiToken, actor: audit.Actor) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(db, actor, "api_token.revoke", object_type="api_token", object_id=token.id)


def visible_tokens(db: Session, user: StaffUser) -> list[ApiToken]:
    """Admins see every token (to revoke a leaked one); others see their own."""
    statement = select(ApiToken).order_by(ApiToken.id.desc())
    if user.role != StaffRole.ADMIN:
        statement = statement.where(ApiToken.staff_user_id == user.id)
    return list(db.scalars(statement))
