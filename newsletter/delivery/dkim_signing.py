"""DKIM signatures (dkimpy), RSA or ed25519, when ``DKIM_*`` settings name a key.

The key is read and checked once per process; each message is signed after personalisation
(its body differs per recipient: the unsubscribe links), so signing is per message. What it
costs is printed by ``benchmarks/send_throughput.py --dkim-cost``: dkimpy's RSA is pure Python
(about 8 ms a message at 2048 bits, which caps one worker near 125 messages/s), while ed25519
is far cheaper. Prefer ed25519 plus RSA at the relay, or let the relay sign, for big lists.

Key files: a PEM private key (RSA, PKCS#1 or PKCS#8; or ed25519 in PKCS#8), or the base64
ed25519 seed that ``dknewkey --ktype ed25519`` writes.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"list-id",
    b"list-unsubscribe", b"list-unsubscribe-post", b"feedback-id", b"mime-version",
    b"content-type",
)  # fmt: skip
RSA = b"rsa-sha256"
ED25519 = b"ed25519-sha256"


class DkimKeyError(ValueError):
    """The configured key cannot be used; str() says why (for the operator, at start-up)."""


def load_key(path: Path) -> tuple[bytes, bytes]:
    """``(algorithm, key in dkimpy's format)`` from a key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"cannot read the DKIM key {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" not in data:
        seed = data.strip()
        try:
            if len(base64.b64decode(seed, validate=True)) != 32:
                raise ValueError
        except ValueError:
            raise DkimKeyError("the DKIM key is neither PEM nor a base64 ed25519 seed") from None
        return ED25519, seed
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimKeyError(f"cannot parse the DKIM key: {exc}") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return ED25519, base64.b64encode(raw)
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 1024:
            raise DkimKeyError("the DKIM RSA key is shorter than 1024 bits")
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        return RSA, pem
    raise DkimKeyError("the DKIM key must be RSA or ed25519")


@functools.cache
def dkim_signer(domain: str, selector: str, key_path: Path) -> Callable[[bytes], bytes]:
    """A function that prefixes a message with its DKIM-Signature header."""
    algorithm, key = load_key(key_path)
    domain_bytes, selector_bytes = domain.encode("ascii"), selector.encode("ascii")

    def sign(message: bytes) -> bytes:
        header = dkim.sign(
            message,
            selector_bytes,
            domain_bytes,
            key,
            signature_algorithm=algorithm,
            include_headers=list(SIGNED_HEADERS),
            linesep=b"\r\n",
        )
        return header + message

    return sign
