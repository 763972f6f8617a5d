"""Creating staff accounts, with the audit entry that every staff change leaves."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.staff.models import AuditLogEntry, StaffRole, StaffUser
from newsletter.staff.passwords import MIN_PASSWORD_LENGTH, hash_password
from newsletter.subscribers.addresses import normalise_address


class StaffError(ValueError):
    """A staff account request that cannot be honoured; the text says why."""


def create_staff_user(
    session: Session, *, email: str, name: str, password: str, role: StaffRole, actor: str = "cli"
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
    session.add(
        AuditLogEntry(
            actor_type=actor,
            action="staff.create",
            object_type="staff_user",
            object_id=str(user.id),
            detail={"role": role.value},
        )
    )
    return user
