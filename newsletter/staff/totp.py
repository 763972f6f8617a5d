"""Optional TOTP second factor (RFC 6238, the codes of any authenticator app).

The shared secret is stored encrypted with a key derived from ``SECRET_KEY`` (Fernet), so a
copy of the database alone cannot mint codes. A code is accepted once: the account row keeps
the last time step used, and only a later step is accepted (no replay of a seen code).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken

from newsletter import clock
from newsletter.db import utcnow
from newsletter.staff.models import StaffUser


def _fernet(secret_key: str) -> Fernet:
    key = hashlib.sha256(f"totp\0{secret_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return pyotp.random_base32()


def seal(secret_key: str, totp_secret: str) -> str:
    return _fernet(secret_key).encrypt(totp_secret.encode()).decode()


def unseal(secret_key: str, sealed: str) -> str | None:
    try:
        return _fernet(secret_key).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def provisioning_uri(totp_secret: str, account: str, issuer: str) -> str:
    return pyotp.TOTP(totp_secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """``uri`` as a QR code in inline SVG, for authenticator apps to scan.

    Drawn server-side with SVG attributes only (fill, stroke, transform): the console's CSP
    forbids inline styles and scripts, and the secret must never reach a third-party QR
    service. Dark modules on a white ground with a four-module quiet zone, so phones read it
    on a dark page too.
    """
    buffer = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(
        buffer,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        svgid="totp-qr-code",
        svgclass="totp-qr",
        lineclass=None,
    )
    return buffer.getvalue().decode("ascii")


def matching_step(totp_secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (30 s) whose code this is, allowing one step of clock drift."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    generator = pyotp.TOTP(totp_secret)
    moment = clock.timestamp() if now is None else now
    for drift in (0, -1, 1):
        at = moment + drift * generator.interval
        if hmac.compare_digest(generator.at(at), code):
            return int(at // generator.interval)
    return None


def code_is_valid(totp_secret: str, code: str) -> bool:
    return matching_step(totp_secret, code) is not None


def has_second_factor(user: StaffUser) -> bool:
    return bool(user.totp_secret and user.totp_enabled_at)


def verify_user_code(user: StaffUser, secret_key: str, code: str) -> bool:
    """Check a sign-in code against the user's stored secret; each code works once."""
    secret = unseal(secret_key, user.totp_secret or "")
    step = matching_step(secret, code) if secret else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def enable(user: StaffUser, secret_key: str, totp_secret: str, code: str) -> bool:
    """Turn the second factor on once the person proves their app shows the right codes."""
    step = matching_step(totp_secret, code)
    if step is None:
        return False
    user.totp_secret = seal(secret_key, totp_secret)
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    return True


def disable(user: StaffUser) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
