"""Staff password hashes: argon2id for new hashes, scrypt hashes still verified.

Accounts created before argon2 carry a ``scrypt$...`` hash; they still sign in, and the
sign-in replaces the hash with argon2id (``needs_rehash``), so old hashes fade out without
a forced reset. argon2's parameters are the library's RFC 9106 "low memory" profile.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_N, _R, _P, _DKLEN = 2**14, 8, 1, 32
MIN_PASSWORD_LENGTH = 12
_ARGON2 = PasswordHasher()


def hash_password(password: str) -> str:
    return _ARGON2.hash(password)


def _scrypt_hash(password: str) -> str:
    """The legacy format, kept so tests can prove old hashes are still honoured."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    encode = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${encode(salt).decode()}${encode(digest).decode()}"


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_b64, digest_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        actual = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check; an unknown hash format is a mismatch, not an error."""
    if stored.startswith("$argon2"):
        try:
            return _ARGON2.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    return _verify_scrypt(password, stored)


def needs_rehash(stored: str) -> bool:
    """True for scrypt hashes and argon2 hashes made with weaker parameters than today's."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _ARGON2.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def dummy_verify(password: str) -> None:
    """Spend the time of a real check when the account does not exist (no enumeration)."""
    verify_password(password, _DUMMY_HASH)


_DUMMY_HASH = _ARGON2.hash(secrets.token_urlsafe(16))
