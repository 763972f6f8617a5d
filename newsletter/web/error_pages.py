"""404, 405 and 500 on the public site as pages in the reader's language; JSON for machines.

A reader who follows a dead link, re-sends a form by reloading, or meets a fault should read a
sentence in their language on the site's layout, not ``{"detail":"Not Found"}``. The language
is the one every public page uses (``?lang=``, then ``Accept-Language``). Machine endpoints
(``/api/...``, webhooks, metrics, the health check, the OpenAPI document) and clients asking for
JSON only keep FastAPI's JSON bodies, which the API's OpenAPI document promises.
"""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException

from newsletter.i18n import gettext, using_language
from newsletter.web.journey import page_language
from newsletter.web.pages import render

log = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/api/", "/webhooks/", "/metrics", "/healthz", "/openapi.json")
# msgids of newsletter/locale: (title, message) of each page.
PAGES = {
    404: ("Page not found", "This page does not exist, or no longer does."),
    405: (
        "This page cannot be used that way",
        "Go back to the previous page and follow one of its links or forms.",
    ),
    500: (
        "Something went wrong",
        "The service could not answer this time. The fault is recorded; please try again in "
        "a moment.",
    ),
}


def wants_page(request: Request) -> bool:
    """A person's browser on the public site, not a program calling an endpoint."""
    if request.url.path.startswith(MACHINE_PREFIXES):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/json" not in accept


def error_page(request: Request, status: int, headers: dict[str, str] | None = None) -> Response:
    language = page_language(request)
    title, message = PAGES[status]
    with using_language(language):
        title, message = gettext(title), gettext(message)
    response = render(
        request, "public/error.html", language, status_code=status, title=title, message=message
    )
    response.headers.update(headers or {})
    return response


async def public_http_error(request: Request, exc: Exception) -> Response:
    """404 and 405 as pages for browsers; every other case as FastAPI answers it."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (404, 405) and wants_page(request):
        return error_page(request, exc.status_code, dict(exc.headers or {}))
    return await http_exception_handler(request, exc)


async def server_error(request: Request, exc: Exception) -> Response:
    """An unhandled exception: a page for browsers, JSON for machines (the error is logged
    and reported by the server as usual, after this answer)."""
    from newsletter.web.app import SECURITY_HEADERS  # outside the middleware: set them here

    if not wants_page(request):
        response: Response = JSONResponse({"detail": "Internal Server Error"}, status_code=500)
    else:
        try:
            response = error_page(request, 500)
        except Exception:  # the page itself failed (templates, settings): say it plainly
            log.exception("the error page could not be rendered")
            response = PlainTextResponse("Internal Server Error", status_code=500)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
