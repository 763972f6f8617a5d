"""Helpers the public page routes share: render in a language, read a bounded form."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from newsletter.i18n import gettext, using_language
from newsletter.web.journey import settings_of

MAX_FORM_BYTES = 16 * 1024
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}


def render(
    request: Request, name: str, language: str, *, status_code: int = 200, **context: object
) -> Response:
    """Render ``templates/web/<name>`` in ``language`` (gettext follows the render)."""
    settings = settings_of(request)
    values: dict[str, object] = {
        "org_name": settings.org_name,
        "language": language,
        "languages": [(code, LANGUAGE_NAMES.get(code, code)) for code in settings.languages],
    }
    values.update(context)
    with using_language(language):
        response = request.app.state.templates.TemplateResponse(
            request, f"web/{name}", values, status_code=status_code
        )
    response.headers["Cache-Control"] = "no-store"
    return response


def limit_form_size(request: Request) -> None:
    """Dependency placed before ``require_csrf``: refuse, unread, a body no form of ours needs.

    Browsers always send Content-Length with a form; a request without one (chunked) or
    with a huge one is refused before anything parses it (411/413).
    """
    length = request.headers.get("content-length")
    if length is None:
        raise HTTPException(411, gettext("The form is too large."))
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise HTTPException(413, gettext("The form is too large."))


async def read_form(request: Request) -> FormData:
    """The posted form (size checked first; parsed once, then cached by Starlette)."""
    limit_form_size(request)
    return await request.form(max_files=0, max_fields=100)


def form_fields(form: FormData) -> dict[str, object]:
    """Plain fields of a form; ``lists`` keeps every checked value."""
    fields: dict[str, object] = {
        key: value for key, value in form.items() if isinstance(value, str) and key != "lists"
    }
    fields["lists"] = [value for value in form.getlist("lists") if isinstance(value, str)]
    return fields
