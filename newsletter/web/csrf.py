"""CSRF protection for browser forms (double-submit cookie, signed).

Every HTML response to a browser without our cookie gets one: a random value in
``nl_csrf`` (HttpOnly, SameSite=Lax, Secure on https). Forms carry ``csrf_token``, an HMAC
of that cookie under the secret key, which :func:`require_csrf` checks on every POST from a
browser form. Another site can make a browser send the cookie but can neither read it nor
compute the token.

Exempt by design (they do not add the dependency): the RFC 8058 one-click unsubscribe POST
(mail clients send no cookie), the JSON API (token-authenticated or CORS-limited, no
cookies) and provider webhooks (signature-authenticated).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import FastAPI, HTTPException, Request
from starlette.responses import Response

from newsletter.config import Settings
from newsletter.i18n import gettext

COOKIE_NAME = "nl_csrf"
FORM_FIELD = "csrf_token"
HEADER_NAME = "x-csrf-token"
_COOKIE_LENGTH = 43  # secrets.token_urlsafe(32)


def _form_token(secret_key: str, cookie_value: str) -> str:
    key = hashlib.sha256(f"csrf\0{secret_key}".encode()).digest()
    return hmac.new(key, cookie_value.encode(), hashlib.sha256).hexdigest()


def _plausible_cookie(value: str | None) -> bool:
    return value is not None and len(value) == _COOKIE_LENGTH and value.isascii()


def install_csrf(app: FastAPI, settings: Settings) -> None:
    """Give every request ``request.state.csrf_token`` and browsers the cookie behind it."""
    secure = settings.base_url.startswith("https://")

    @app.middleware("http")
    async def csrf_cookie(request: Request, call_next):  # type: ignore[no-untyped-def]
        value = request.cookies.get(COOKIE_NAME)
        fresh = not _plausible_cookie(value)
        if fresh:
            value = secrets.token_urlsafe(32)
        assert value is not None
        request.state.csrf_token = _form_token(settings.secret_key, value)
        response: Response = await call_next(request)
        if fresh and response.headers.get("content-type", "").startswith("text/html"):
            response.set_cookie(
                COOKIE_NAME, value, httponly=True, samesite="lax", secure=secure, path="/"
            )
        return response


async def require_csrf(request: Request) -> None:
    """Dependency for browser-form POST routes: 403 unless the form token matches."""
    settings: Settings = request.app.state.settings
    cookie = request.cookies.get(COOKIE_NAME)
    submitted = request.headers.get(HEADER_NAME)
    if submitted is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(FORM_FIELD)
        submitted = field if isinstance(field, str) else None
    expected = (
        _form_token(settings.secret_key, cookie) if cookie and _plausible_cookie(cookie) else None
    )
    if expected is None or submitted is None or not hmac.compare_digest(submitted, expected):
        raise HTTPException(
            status_code=403,
            detail=gettext(
                "This form has expired or was sent from another site. "
                "Please reload the page and try again."
            ),
        )
