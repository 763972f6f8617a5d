"""FastAPI application factory.

Routes are thin: they read the request, call one domain function in a unit of work, and
render. Pages share ``templates/web/base.html``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from newsletter import __version__, clock
from newsletter.broker import broker_transport_options
from newsletter.config import Settings, get_settings, startup_warnings
from newsletter.db import make_engine, make_session_factory
from newsletter.health import broker_ok, database_ok
from newsletter.observability.errors import init_error_reporting
from newsletter.rendering.environment import system_environment
from newsletter.resources import package_folder
from newsletter.subscribers.inputs import zone_choices
from newsletter.web.admin.labels import label
from newsletter.web.alt_address import install_alt_address
from newsletter.web.api_docs import router as api_docs_router
from newsletter.web.csrf import install_csrf
from newsletter.web.journey_routes import router as journey_router
from newsletter.web.metrics_route import router as metrics_router
from newsletter.web.pages import LANGUAGE_NAMES
from newsletter.web.request_log import install_request_log
from newsletter.web.webhooks import router as webhooks_router

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    clock.configure(settings)
    for warning in startup_warnings(settings):
        log.warning("configuration: %s", warning)
    engine = make_engine(settings.database_url)
    transport_options = broker_transport_options(settings)  # once: it prepares folders

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title=settings.org_name,
        version=__version__,
        docs_url=None,  # newsletter/web/api_docs.py serves both viewers from vendored assets
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.templates = Jinja2Templates(env=system_environment(settings.templates_dir))
    app.state.templates.env.globals["time_zones"] = zone_choices()
    app.state.templates.env.filters["label"] = label
    app.state.templates.env.globals["language_names"] = LANGUAGE_NAMES

    install_csrf(app, settings)
    install_alt_address(app, settings)  # Onion-Location when ALT_BASE_URL is an onion
    install_request_log(app)
    init_error_reporting(settings, "web")
    app.mount("/static", StaticFiles(directory=package_folder("static")), name="static")
    app.include_router(journey_router)  # subscribe, confirm, preferences, unsubscribe
    app.include_router(webhooks_router)  # provider bounce/complaint webhooks
    app.include_router(metrics_router)  # Prometheus, behind METRICS_TOKEN
    app.include_router(api_docs_router)  # /api/docs and /redoc, no CDN

    @app.middleware("http")
    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        checks = {
            "database": database_ok(engine),
            "broker": broker_ok(settings.broker_url, transport_options),
        }
        healthy = all(checks.values())
        body = {"status": "ok" if healthy else "unavailable"} | {
            name: "ok" if ok else "unreachable" for name, ok in checks.items()
        }
        return JSONResponse(body, status_code=200 if healthy else 503)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> Response:
        from newsletter.web.journey import page_language
        from newsletter.web.pages import render

        return render(request, "public/home.html", page_language(request))

    # -- content: the public archive --
    from newsletter.web.archive import NotPublic, not_public_page
    from newsletter.web.archive import router as archive_router
    from newsletter.web.events import router as events_router

    app.include_router(archive_router)
    app.include_router(events_router)  # event registration: form, registrant's own page
    app.add_exception_handler(NotPublic, not_public_page)

    from newsletter.web.admin import install_staff_console

    install_staff_console(app)  # /admin pages and /api/v1; 403/404 pages, public or console
    from newsletter.web.error_pages import server_error

    app.add_exception_handler(Exception, server_error)  # 500: a page for browsers, JSON for API
    return app


def session_dependency(request: Request) -> Iterator[Session]:
    """A request-scoped session; the route commits what it changed."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()
