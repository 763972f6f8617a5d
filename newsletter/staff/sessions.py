"""Server-side staff sessions behind an opaque cookie.

The cookie holds 32 random bytes; the table holds only their SHA-256, so a database leak
gives no usable session. A session ends at sign-out, after ``STAFF_SESSION_HOURS``, after
``STAFF_SESSION_IDLE_MINUTES`` without a request, or when the password changes. Every
sign-in (and the second factor) opens a fresh session: ids are rotated, never reused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.staff.models import StaffSession, StaffUser

COOKIE_NAME = "nl_staff"
_TOUCH_EVERY = dt.timedelta(seconds=60)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def open_session(
    db: Session,
    user: StaffUser,
    settings: Settings,
    *,
    ip: str | None,
    user_agent: str = "",
    second_factor_pending: bool = False,
) -> str:
    """Create a session and return the cookie value (shown to the browser only)."""
    raw = secrets.token_urlsafe(32)
    now = utcnow()
    db.add(
        StaffSession(
            token_hash=_digest(raw),
            staff_user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + dt.timedelta(hours=settings.staff_session_hours),
            second_factor_pending=second_factor_pending,
            ip=ip,
            user_agent=user_agent[:200],
        )
    )
    db.flush()
    return raw


def find_session(
    db: Session, raw: str | None, settings: Settings, now: dt.datetime | None = None
) -> StaffSession | None:
    """The live session for a cookie value, refreshed; None when absent, expired or idle."""
    if not raw or len(raw) > 100:
        return None
    now = now or utcnow()
    found = db.scalar(select(StaffSession).where(StaffSession.token_hash == _digest(raw)))
    if found is None:
        return None
    idle = dt.timedelta(minutes=settings.staff_session_idle_minutes)
    if found.expires_at <= now or found.last_seen_at + idle <= now:
        db.delete(found)
        return None
    if not found.staff_user.is_active:
        return None
    if now - found.last_seen_at >= _TOUCH_EVERY:
        found.last_seen_at = now
    return found


def close_session(db: Session, raw: str | None) -> None:
    if raw:
        db.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(raw)))


def close_all_sessions(db: Session, user_id: int) -> None:
    db.execute(delete(StaffSession).where(StaffSession.staff_user_id == user_id))
