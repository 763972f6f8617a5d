"""Password reset by email: a signed token that expires and works once.

The token carries the account id and a fingerprint of the current password hash: once the
password changes, every earlier reset link stops working. Asking for a reset answers the
same whether or not the address has an account (no enumeration); the email is sent by a
worker so the answer also takes the same time.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.delivery.system_mail import send_system_mail
from newsletter.rendering.branding import look_from_session
from newsletter.rendering.headers import (
    build_message,
    format_address,
    make_message_id,
    message_bytes,
)
from newsletter.rendering.system_emails import render_system_email
from newsletter.staff.models import StaffUser
from newsletter.staff.passwords import MIN_PASSWORD_LENGTH, hash_password
from newsletter.staff.sessions import close_all_sessions
from newsletter.tokens import InvalidToken, signer

PURPOSE = "staff-password-reset"
LIFETIME_SECONDS = 3600


class PasswordRefused(ValueError):
    """The new password cannot be used; the text says why."""


def _fingerprint(user: StaffUser) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def reset_token(settings: Settings, user: StaffUser) -> str:
    return signer(settings.secret_key, PURPOSE).sign(
        f"{user.id}-{_fingerprint(user)}", max_age_seconds=LIFETIME_SECONDS
    )


def user_for_token(db: Session, settings: Settings, token: str) -> StaffUser | None:
    try:
        subject = signer(settings.secret_key, PURPOSE).verify(token)
    except InvalidToken:
        return None
    user_id, _, fingerprint = subject.partition("-")
    user = db.get(StaffUser, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.is_active or fingerprint != _fingerprint(user):
        return None
    return user


def set_password(db: Session, user: StaffUser, password: str) -> None:
    """Replace the password, lift a lock-out and end every session of the account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused(str(MIN_PASSWORD_LENGTH))
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    close_all_sessions(db, user.id)


def send_reset_email(db: Session, settings: Settings, user_id: int, language: str) -> bool:
    """Mail a reset link to the account's address (the worker's job); False if gone."""
    user = db.get(StaffUser, user_id)
    if user is None or not user.is_active:
        return False
    language = language if language in settings.languages else settings.default_language
    url = f"{settings.base_url}/admin/password-reset/{reset_token(settings, user)}"
    rendered = render_system_email(
        settings.templates_dir,
        "staff_password_reset",
        language,
        {"org_name": settings.org_name, "reset_url": url, "minutes": LIFETIME_SECONDS // 60},
        look_from_session(db, settings),
    )
    message = build_message(
        sender=format_address(settings.from_name, settings.from_address),
        recipient=user.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=make_message_id(settings.from_address.rpartition("@")[2]),
    )
    send_system_mail(settings, "password_reset", user.email, message_bytes(message))
    return True
