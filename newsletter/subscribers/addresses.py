"""Address normalisation and hashing: one place decides what "the same address" means.

Suppressions store only the hash, so an erased supporter's address is never kept in clear
but can still never be mailed again (invariant `suppressed-before-next-send`). The hash is keyed
when ``ADDRESS_HASH_KEY`` is set (see :func:`address_hash` for why).
"""

from __future__ import annotations

import functools
import hashlib
import hmac

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
    """The address's fingerprint: HMAC-SHA-256 under ``ADDRESS_HASH_KEY``, else SHA-256.

    Why keyed (a decision of the subscriber journey): an erased supporter survives only as this
    hash in the
    suppression list. Unkeyed, anyone holding a copy of the database (a seized server, a
    leaked backup) can hash a list of suspected activists' addresses and learn who was once
    subscribed. With a key kept outside the database, the hashes confirm nothing on their
    own. The key is its own setting, not ``SECRET_KEY``: rotating the secret must never make
    suppressed addresses mailable again, so ``ADDRESS_HASH_KEY`` is set once, at
    installation, and never changed (changing it forgets every suppression).
    Empty (the default, and installs that predate the setting): plain SHA-256.
    """
    data = normalised.casefold().encode("utf-8")
    key = _hash_key()
    if not key:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


@functools.cache
def _hash_key() -> bytes:
    """Read once per process from the same settings every entry point validates at start."""
    from newsletter.config import get_settings

    return get_settings().address_hash_key.encode("utf-8")
