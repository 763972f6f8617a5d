"""Staff accounts: scrypt password hashes, validation, and the audit entry."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.models import StaffRole
from newsletter.staff.models import AuditLogEntry
from newsletter.staff.passwords import _scrypt_hash, hash_password, needs_rehash, verify_password
from newsletter.staff.service import StaffError, create_staff_user

pytestmark = pytest.mark.date_sensitive


def test_password_hash_verifies_only_the_right_password() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password("correct horse battery staple", stored)
    assert not verify_password("wrong horse battery staple", stored)
    assert not verify_password("anything", "md5$garbage")
    assert not verify_password("anything", "$argon2id$garbage")
    legacy = _scrypt_hash("correct horse battery staple")
    assert verify_password("correct horse battery staple", legacy) and needs_rehash(legacy)
    assert not needs_rehash(stored)


def test_creating_staff_records_an_audit_entry_and_refuses_duplicates(db_session: Session) -> None:
    user = create_staff_user(
        db_session,
        email="Editor@Coalition.example.org",
        name="Ed",
        password="a" * 16,
        role=StaffRole.EDITOR,
    )
    entry = db_session.scalars(select(AuditLogEntry)).one()
    assert (entry.action, entry.object_id) == ("staff.create", str(user.id))
    assert "coalition.example.org" not in repr(entry.detail)
    with pytest.raises(StaffError, match="already exists"):
        create_staff_user(
            db_session,
            email="editor@coalition.example.org",
            name="",
            password="b" * 16,
            role=StaffRole.ADMIN,
        )


def test_short_passwords_are_refused(db_session: Session) -> None:
    with pytest.raises(StaffError, match="at least 12 characters"):
        create_staff_user(
            db_session, email="a@b.example.org", name="", password="short", role=StaffRole.ADMIN
        )
