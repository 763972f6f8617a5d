"""The alternative public address (``ALT_BASE_URL``): a mirror or an onion service.

Why: a discreet reader's links point there (`newsletter.rendering.editions`), so the archive,
the confirmation, unsubscribe and preference pages must work at that address too. The mirror
or the onion service forwards to this same app; nothing here checks the Host, so every page
answers at both addresses. What this module adds:

- the absolute links a page prints (the preference link after confirming or unsubscribing)
  stay on the address the page was asked at;
- when the alternative address is an onion, public pages served at the ordinary address carry
  ``Onion-Location`` (Tor Browser then offers the onion version of the same page).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from starlette.responses import Response

from newsletter.config import Settings
from newsletter.rendering.editions import link_settings

#: Pages with these prefixes are staff-only or machine-facing: no onion advertisement.
_NOT_ADVERTISED = ("/admin", "/api", "/metrics", "/healthz", "/webhooks", "/static")


def _alt_host(settings: Settings) -> str:
    return (urlsplit(settings.alt_base_url).hostname or "").lower()


def asked_at_alt(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    host = _alt_host(settings)
    return bool(host) and (request.url.hostname or "").lower() == host


def page_link_settings(request: Request) -> Settings:
    """The settings whose ``base_url`` a page's absolute links should use."""
    settings: Settings = request.app.state.settings
    return link_settings(settings) if asked_at_alt(request) else settings


def install_alt_address(app: FastAPI, settings: Settings) -> None:
    """Add ``Onion-Location`` to public HTML pages when ``ALT_BASE_URL`` is an onion."""
    if not _alt_host(settings).endswith(".onion"):
        return
    alt = settings.alt_base_url.rstrip("/")

    @app.middleware("http")
    async def onion_location(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        path = request.url.path
        if (
            not asked_at_alt(request)
            and not path.startswith(_NOT_ADVERTISED)
            and response.headers.get("content-type", "").startswith("text/html")
        ):
            query = f"?{request.url.query}" if request.url.query else ""
            response.headers["Onion-Location"] = f"{alt}{path}{query}"
        return response
