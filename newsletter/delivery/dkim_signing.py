"""DKIM signatures (RFC 6376; ed25519 per RFC 8463), RSA or ed25519, when ``DKIM_*`` name a key.

Each message is signed after personalisation (its body differs per recipient: the unsubscribe
links), so signing is per message and on the sending critical path. dkimpy canonicalises and
signs in pure Python: about 19 ms a message with RSA-2048 and 2.7 ms with ed25519 here, which
caps one worker near 50 messages/s with RSA. This signer does the same standard work with the
C-backed primitives of ``cryptography`` and ``hashlib`` (hundreds of microseconds with RSA-2048,
tens with ed25519; ``benchmarks/send_throughput.py --dkim-cost``), and the tests check every
signature with dkimpy's independent verifier.

Canonicalisation is ``relaxed/simple`` (dkimpy's default): headers relaxed, so a relay that
refolds them does not break the signature; the body simple, which the quoted-printable bodies
this service writes (CRLF lines, no trailing white space) survive unchanged.

Key files: a PEM private key (RSA, PKCS#1 or PKCS#8; or ed25519 in PKCS#8), or the base64
ed25519 seed that ``dknewkey --ktype ed25519`` writes.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from newsletter import clock

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"list-id",
    b"list-unsubscribe", b"list-unsubscribe-post", b"feedback-id", b"mime-version",
    b"content-type",
)  # fmt: skip
RSA = b"rsa-sha256"
ED25519 = b"ed25519-sha256"

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

_FOLDING = re.compile(rb"\r\n(?=[ \t])")
_WHITE_SPACE = re.compile(rb"[ \t]+")


class DkimKeyError(ValueError):
    """The configured key cannot be used; str() says why (for the operator, at start-up)."""


def load_key(path: Path) -> tuple[bytes, PrivateKey]:
    """``(algorithm, private key)`` from a key file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DkimKeyError(f"cannot read the DKIM key {path}: {exc.strerror}") from None
    if b"PRIVATE KEY" not in data:
        try:
            seed = base64.b64decode(data.strip(), validate=True)
            if len(seed) != 32:
                raise ValueError
        except ValueError:
            raise DkimKeyError("the DKIM key is neither PEM nor a base64 ed25519 seed") from None
        return ED25519, ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise DkimKeyError(f"cannot parse the DKIM key: {exc}") from None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return ED25519, key
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 1024:
            raise DkimKeyError("the DKIM RSA key is shorter than 1024 bits")
        return RSA, key
    raise DkimKeyError("the DKIM key must be RSA or ed25519")


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfolded value, white space runs as one space, trimmed."""
    value = _WHITE_SPACE.sub(b" ", _FOLDING.sub(b"", value)).strip(b" \t\r\n")
    return name.strip().lower() + b":" + value


def simple_body_hash(body: bytes) -> bytes:
    """RFC 6376 3.4.3: the body with trailing empty lines reduced to one CRLF, hashed."""
    end = len(body)
    while body.endswith(b"\r\n", 0, end):
        end -= 2
    digest = hashlib.sha256(memoryview(body)[:end])
    digest.update(b"\r\n")
    return digest.digest()


def _headers(block: bytes) -> list[tuple[bytes, bytes]]:
    """``(name, raw value with its folding)`` for each header field of a CRLF header block."""
    fields: list[tuple[bytes, bytes]] = []
    for line in block.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        elif line:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    return fields


_WIDTH = 76


def _fold(atoms: list[tuple[bool, bytes]], line: bytes) -> bytes:
    """Join ``(after a space?, text)`` atoms onto ``line``, folding before one that would pass
    76 columns. Folds only go where RFC 6376 allows white space: between tags, around the
    colons of h=, inside base64 values."""
    lines = []
    for spaced, atom in atoms:
        piece = (b" " if spaced else b"") + atom
        if len(line) + len(piece) > _WIDTH and line.strip():
            lines.append(line)
            line = b" " + atom
        else:
            line += piece
    return b"\r\n".join([*lines, line])


def _tag_atoms(tags: list[bytes]) -> list[tuple[bool, bytes]]:
    atoms: list[tuple[bool, bytes]] = []
    for index, tag in enumerate(tags):
        end = b";" if index < len(tags) - 1 else b""
        if tag.startswith(b"h="):
            names = tag.split(b":")
            parts = [name + b":" for name in names[:-1]] + [names[-1] + end]
        elif tag.startswith(b"bh="):
            parts = [tag[:40], tag[40:] + end]
        else:
            parts = [tag + end]
        atoms.extend((position == 0, part) for position, part in enumerate(parts) if part)
    return atoms


def sign_message(
    message: bytes,
    *,
    domain: bytes,
    selector: bytes,
    algorithm: bytes,
    key: PrivateKey,
    now: int | None = None,
) -> bytes:
    """The DKIM-Signature header (CRLF-terminated) for a CRLF message."""
    head, separator, body = message.partition(b"\r\n\r\n")
    if not separator:
        head, body = message, b""
    fields = _headers(head)
    present = {name.strip().lower(): value for name, value in fields}  # last one wins (bottom-up)
    signed = [name for name in SIGNED_HEADERS if name in present]
    tags = [
        b"v=1",
        b"a=" + algorithm,
        b"c=relaxed/simple",
        b"d=" + domain,
        b"s=" + selector,
        b"t=" + str(int(clock.timestamp()) if now is None else now).encode(),
        b"h=" + b":".join(signed),
        b"bh=" + base64.b64encode(simple_body_hash(body)),
        b"b=",
    ]
    unsigned = _fold(_tag_atoms(tags), b"DKIM-Signature:")
    hashed = b"".join(relaxed_header(name, present[name]) + b"\r\n" for name in signed)
    hashed += relaxed_header(b"dkim-signature", unsigned.partition(b":")[2])
    if algorithm == ED25519:
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        signature = key.sign(hashlib.sha256(hashed).digest())
    else:
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(hashed, padding.PKCS1v15(), hashes.SHA256())
    encoded = base64.b64encode(signature)
    chunks = [(False, encoded[start : start + 64]) for start in range(0, len(encoded), 64)]
    # the verifier deletes b='s whole value before hashing, so its folds need no care
    fold = unsigned.rfind(b"\r\n")
    last = fold + 2 if fold >= 0 else 0
    return unsigned[:last] + _fold(chunks, unsigned[last:]) + b"\r\n"


@functools.cache
def dkim_signer(domain: str, selector: str, key_path: Path) -> Callable[[bytes], bytes]:
    """A function that prefixes a message with its DKIM-Signature header (key read once)."""
    algorithm, key = load_key(key_path)
    domain_bytes, selector_bytes = domain.encode("ascii"), selector.encode("ascii")

    def sign(message: bytes) -> bytes:
        header = sign_message(
            message, domain=domain_bytes, selector=selector_bytes, algorithm=algorithm, key=key
        )
        return header + message

    return sign
