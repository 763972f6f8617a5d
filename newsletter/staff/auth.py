"""Checking a staff password: throttled per client, locked per account, no enumeration.

- per client IP: at most ``LOGIN_IP_ATTEMPTS_PER_HOUR`` attempts (shared limiter);
- per account: ``LOGIN_MAX_FAILURES`` wrong passwords lock it for ``LOGIN_LOCKOUT_MINUTES``
  (stored on the row: durable, visible to admins); unknown addresses are counted in the
  limiter the same way, so "locked" reveals nothing about which addresses have accounts;
- an unknown or disabled account costs the same argon2 time as a wrong password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.abuse.ratelimit import RateLimiter
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.staff import audit
from newsletter.staff.models import StaffUser
from newsletter.staff.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from newsletter.staff.totp import has_second_factor


class SignIn(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignIn
    user: StaffUser | None = None
    needs_second_factor: bool = False


def find_staff(db: Session, email: str) -> StaffUser | None:
    address = email.strip().lower()
    if not address or len(address) > 320:
        return None
    return db.scalar(select(StaffUser).where(StaffUser.email == address))


def check_password(
    db: Session,
    settings: Settings,
    limiter: RateLimiter,
    *,
    email: str,
    password: str,
    actor: audit.Actor,
    ip: str | None,
    now: dt.datetime | None = None,
) -> SignInResult:
    """Check one sign-in attempt; ``ip`` is the full client address (for throttling only)."""
    now = now or utcnow()
    if not limiter.hit(f"login-ip:{ip or '-'}", settings.login_ip_attempts_per_hour, 3600).allowed:
        return SignInResult(SignIn.THROTTLED)
    user = find_staff(db, email)
    if user is None or not user.is_active:
        dummy_verify(password)
        key = "login-unknown:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()
        window = settings.login_lockout_minutes * 60
        allowed = limiter.hit(key, settings.login_max_failures, window).allowed
        return SignInResult(SignIn.BAD_CREDENTIALS if allowed else SignIn.LOCKED)
    if user.locked_until is not None and user.locked_until > now:
        return SignInResult(SignIn.LOCKED)
    if not verify_password(password, user.password_hash):
        _count_failure(db, settings, user, actor, now)
        locked = user.locked_until is not None and user.locked_until > now
        return SignInResult(SignIn.LOCKED if locked else SignIn.BAD_CREDENTIALS)
    user.failed_logins = 0
    user.locked_until = None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if not has_second_factor(user):
        user.last_login_at = now
    return SignInResult(SignIn.OK, user, needs_second_factor=has_second_factor(user))


def _count_failure(
    db: Session, settings: Settings, user: StaffUser, actor: audit.Actor, now: dt.datetime
) -> None:
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= settings.login_max_failures:
        user.locked_until = now + dt.timedelta(minutes=settings.login_lockout_minutes)
        user.failed_logins = 0
        audit.record(db, actor, "staff.locked_out", object_type="staff_user", object_id=user.id)
