"""Rendering staff pages: the language of the page, the layout's context, notices."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from newsletter.config import Settings
from newsletter.i18n import gettext, negotiate_language, using_language

#: Short confirmations shown after a redirect; the query string carries only the code, so a
#: crafted link cannot put words on our pages.
NOTICES = {
    "saved": "Saved.",
    "signed-out": "You are signed out.",
    "reset-sent": "If an account exists for that address, we have sent it a link to reset "
    "the password.",
    "password-changed": "Your password has been changed. Please sign in.",
    "totp-on": "Two-step sign-in is on.",
    "totp-off": "Two-step sign-in is off.",
    "revoked": "The token is revoked.",
    "unsubscribed": "The subscriber is unsubscribed from every list.",
    "suppressed": "The address is suppressed: it will never be mailed again.",
    "erased": "The subscriber is erased.",
    "created": "Created.",
    "test-sent": "The test message was sent.",
    "scheduled": "The campaign is scheduled.",
    "started": "The campaign is sending.",
    "paused": "The campaign is paused.",
    "resumed": "The campaign is sending again.",
    "cancelled": "The campaign is cancelled.",
    "discarded": "The digest is discarded: nothing is sent for that month.",
    "lifted": "The suppression is lifted.",
    "resolved": "The warning is resolved.",
    "already-resolved": "This warning is already resolved.",
    "attributed": "The message is attributed to the subscriber.",
    "discarded-message": "The message is discarded.",
    "reprocessed": "The message was processed again and left the queue.",
    "still-quarantined": "The message was processed again and still needs review.",
    "published": "Published.",
    "held": "Nothing was sent: a second editor must approve this campaign first.",
    "already-published": "This post was already published: nothing changed.",
}


def page_language(request: Request) -> str:
    settings: Settings = request.app.state.settings
    chosen = request.cookies.get("nl_lang")
    if chosen in settings.languages:
        return str(chosen)
    return negotiate_language(
        request.headers.get("accept-language"), settings.languages, settings.default_language
    )


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    language = page_language(request)
    values = {
        "org_name": settings.org_name,
        "language": language,
        "staff_user": getattr(request.state, "staff_user", None),
    }
    values.update(context or {})
    with using_language(language):
        code = request.query_params.get("notice", "")
        values.setdefault("notice", gettext(NOTICES[code]) if code in NOTICES else "")
        return request.app.state.templates.TemplateResponse(
            request, f"web/admin/{template}", values, status_code=status
        )


def redirect(url: str) -> RedirectResponse:
    """303 after a POST, so a reload never resubmits the form."""
    return RedirectResponse(url, status_code=303)


def translated(request: Request, message: str, **variables: object) -> str:
    with using_language(page_language(request)):
        return gettext(message, **variables)


def password_refused(request: Request, exc: Exception) -> str:
    """The refusal of a too-short password (`PasswordRefused` carries the minimum length)."""
    return translated(request, "The password must have at least %(n)s characters.", n=str(exc))
