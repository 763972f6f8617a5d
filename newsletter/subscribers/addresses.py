"""Address normalisation and hashing: one place decides what "the same address" means.

Suppressions store only the hash, so an erased supporter's address is never kept in clear
but can still never be mailed again (invariant 7).
"""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    """The text is not a usable email address; ``str()`` says why, for the person who typed it."""


def normalise_address(raw: str) -> str:
    """Return the canonical form of an address (Unicode-normalised, domain lower-cased)."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(str(exc)) from None
    local, _, domain = result.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def address_hash(normalised: str) -> str:
    """SHA-256 of the normalised, case-folded address.

    Unkeyed on purpose: a keyed hash would silently stop matching after a SECRET_KEY
    rotation, and an erased person would then be mailed again.
    """
    return hashlib.sha256(normalised.casefold().encode("utf-8")).hexdigest()
