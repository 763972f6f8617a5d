"""Creating staff accounts, with the audit entry that every staff change leaves."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.staff import audit
from newsletter.staff.models import StaffRole, StaffUser
from newsletter.staff.passwords import MIN_PASSWORD_LENGTH, hash_password
from newsletter.staff.sessions import close_all_sessions
from newsletter.subscribers.addresses import normalise_address


class StaffError(ValueError):
    """A staff account request that cannot be honoured; the text says why."""


def create_staff_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: StaffRole,
    actor: str | audit.Actor = "cli",
) -> StaffUser:
    address = normalise_address(email).lower()  # sign-in names are case-insensitive
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(StaffUser.id).where(StaffUser.email == address)) is not None:
        raise StaffError("a staff account with this address already exists")
    user = StaffUser(
        email=address, name=name.strip()[:200], password_hash=hash_password(password), role=role
    )
    session.add(user)
    session.flush()
    who = actor if isinstance(actor, audit.Actor) else audit.Actor(actor)
    audit.record(
        session,
        who,
        "staff.create",
        object_type="staff_user",
        object_id=user.id,
        detail={"role": role.value},
    )
    return user


def update_staff_user(
    session: Session,
    user: StaffUser,
    actor: audit.Actor,
    *,
    role: StaffRole | None = None,
    is_active: bool | None = None,
    unlock: bool = False,
) -> None:
    """Change a colleague's role or access; disabling ends their sessions at once."""
    changes: dict[str, object] = {}
    if role is not None and role != user.role:
        changes["role"] = role.value
        user.role = role
    if is_active is not None and is_active != user.is_active:
        changes["is_active"] = is_active
        user.is_active = is_active
        if not is_active:
            close_all_sessions(session, user.id)
    if unlock and user.locked_until is not None:
        changes["unlocked"] = True
        user.locked_until = None
        user.failed_logins = 0
    if changes:
        audit.record(
            session,
            actor,
            "staff.update",
            object_type="staff_user",
            object_id=user.id,
            detail=changes,
        )
