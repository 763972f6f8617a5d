"""Column helper for status enums stored as plain strings (portable, easy to migrate)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


def str_enum(enum_type: type[StrEnum], length: int = 32) -> Enum:
    """A VARCHAR column holding an enum's values, not a native database enum type.

    Native enums need an ALTER TYPE per new value; a string column evolves with no
    migration pain and reads the same on PostgreSQL and SQLite.
    """
    return Enum(
        enum_type,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
