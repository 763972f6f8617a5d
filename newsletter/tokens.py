"""Signed, single-purpose tokens for links and VERP addresses (invariant `opaque-scoped-tokens`).

A token carries an opaque id (a subscriber's public id, a delivery id), never an address.
It is bound to one *purpose* ("confirm", "unsubscribe", "preferences", "verp", ...): the
purpose is mixed into the HMAC key, so a token minted for one purpose never verifies for
another. Tokens may carry an expiry; unsubscribe tokens deliberately do not, because a
supporter must be able to leave from a years-old email.

Format: ``<payload>.<signature>`` in URL-safe base64 without padding. The payload is
``subject`` or ``subject:expires`` (expiry as Unix seconds). Short enough for the local part
of a VERP address (RFC 5321 allows 64 octets).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass

from newsletter import clock

_SEPARATOR = ":"


class InvalidToken(ValueError):
    """The token is malformed, forged, for another purpose, or expired."""


class ExpiredToken(InvalidToken):
    """The token was genuine but its lifetime has passed."""


def _b64encode(raw: bytes, case_insensitive: bool) -> str:
    if case_insensitive:
        return base64.b32encode(raw).rstrip(b"=").decode("ascii").lower()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str, case_insensitive: bool) -> bytes:
    try:
        if case_insensitive:
            return base64.b32decode(text.upper() + "=" * (-len(text) % 8))
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("malformed token") from exc


@functools.lru_cache(maxsize=64)
def _derived_key(purpose: str, secret_key: str) -> bytes:
    """The HMAC key of one purpose (cached: the sending engine signs four tokens a message)."""
    return hashlib.sha256(f"{purpose}\0{secret_key}".encode()).digest()


@dataclass(frozen=True)
class TokenSigner:
    """Mints and checks tokens for one purpose with the installation's secret key."""

    secret_key: str
    purpose: str
    signature_bytes: int = 16
    #: base32 in lower case, for VERP local parts that some MTAs fold to one case.
    case_insensitive: bool = False

    def _signature(self, payload: bytes) -> bytes:
        key = _derived_key(self.purpose, self.secret_key)
        return hmac.digest(key, payload, "sha256")[: self.signature_bytes]

    def sign(
        self, subject: str, *, max_age_seconds: int | None = None, now: float | None = None
    ) -> str:
        """A token for ``subject`` (an opaque id without ':'), optionally expiring."""
        if _SEPARATOR in subject:
            raise ValueError("a token subject cannot contain ':'")
        payload = subject
        if max_age_seconds is not None:
            expires = int((now if now is not None else clock.timestamp()) + max_age_seconds)
            payload = f"{subject}{_SEPARATOR}{expires}"
        return self.sign_bytes(payload.encode())

    def sign_bytes(self, raw: bytes) -> str:
        """A token for a binary payload (never expiring): for the tightest places, such as an
        SMTP local part, where a packed payload is shorter than its text."""
        parts = (raw, self._signature(raw))
        return ".".join(_b64encode(part, self.case_insensitive) for part in parts)

    def verify_bytes(self, token: str) -> bytes:
        """The payload of a genuine token for this purpose; else InvalidToken."""
        if not token or len(token) > 512 or token.count(".") != 1:
            raise InvalidToken("malformed token")
        encoded_payload, encoded_signature = token.split(".")
        raw = _b64decode(encoded_payload, self.case_insensitive)
        signature = _b64decode(encoded_signature, self.case_insensitive)
        if not hmac.compare_digest(signature, self._signature(raw)):
            raise InvalidToken("bad signature")
        return raw

    def verify(self, token: str, *, now: float | None = None) -> str:
        """The subject of a genuine, unexpired token for this purpose; else InvalidToken."""
        raw = self.verify_bytes(token)
        try:
            payload = raw.decode()
        except UnicodeDecodeError as exc:
            raise InvalidToken("malformed token") from exc
        subject, _, expires = payload.partition(_SEPARATOR)
        if expires:
            current = now if now is not None else clock.timestamp()
            if not expires.isdigit() or int(expires) < current:
                raise ExpiredToken("token expired")
        return subject


def signer(
    secret_key: str, purpose: str, *, signature_bytes: int = 16, case_insensitive: bool = False
) -> TokenSigner:
    """A signer for one purpose.

    VERP uses fewer signature bytes and ``case_insensitive=True`` so that the token fits an
    SMTP local part and survives an MTA that lower-cases it.
    """
    return TokenSigner(
        secret_key=secret_key,
        purpose=purpose,
        signature_bytes=signature_bytes,
        case_insensitive=case_insensitive,
    )
