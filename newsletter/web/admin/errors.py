"""403 and 404 in the staff console as pages, in the reader's language, on the console layout.

A person who follows a stale link or lacks the role should see the console (navigation, a
sentence they can read), not a JSON body. Everything else goes to the public site's error
pages (newsletter/web/error_pages.py), which leave the API (``/api/v1``) its JSON, with the
schemas its OpenAPI document promises, as for an ``/admin`` request that asks for JSON only.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from newsletter.web.admin.rendering import render, translated
from newsletter.web.error_pages import public_http_error

PAGES = {
    403: ("Not allowed", "Your role does not allow this."),
    404: ("Page not found", "This page does not exist, or no longer does."),
}


def _wants_page(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/json" not in accept


async def console_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code not in PAGES or not path.startswith("/admin") or not _wants_page(request):
        return await public_http_error(request, exc)  # the public site's pages, or JSON
    title, message = PAGES[exc.status_code]
    if exc.status_code == 403 and isinstance(exc.detail, str):
        message = exc.detail  # an English message id: "Your role ...", "This form has expired ..."
    context = {
        "title": translated(request, title),
        "message": translated(request, message),
        "status": exc.status_code,
    }
    return render(request, "error.html", context, exc.status_code)


def install_error_pages(app: FastAPI) -> None:
    """Console pages, else the public site's (newsletter/web/error_pages.py), else JSON."""
    app.add_exception_handler(HTTPException, console_http_error)
