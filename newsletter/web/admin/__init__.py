"""The staff console (``/admin``) and the REST API (``/api/v1``), installed on the app."""

from __future__ import annotations

from types import ModuleType

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from newsletter.resources import package_folder


def install_staff_console(app: FastAPI) -> None:
    """Every staff router, plus the console's stylesheet (the CSP forbids inline styles)."""
    from newsletter.web.admin import (
        account,
        auth,
        bounces,
        branding,
        campaigns,
        dashboard,
        digests,
        events,
        imports,
        lists,
        posts,
        press,
        publishing,
        subscribers,
        system,
        templates,
        tokens,
    )
    from newsletter.web.admin.errors import install_error_pages
    from newsletter.web.api import campaigns as api_campaigns
    from newsletter.web.api import content as api_content
    from newsletter.web.api import lists as api_lists
    from newsletter.web.api import subscribers as api_subscribers

    pages: tuple[ModuleType, ...] = (auth, account, dashboard, subscribers, lists, imports)
    pages += (tokens, campaigns, posts)
    pages += (digests, events, press, system, bounces, branding)

    pages += (tokens, campaigns, publishing, posts)
    pages += (digests, events, press, system)
    for module in (*pages, templates):
        app.include_router(module.router, include_in_schema=False)
    for module in (api_subscribers, api_lists, api_content, api_campaigns):
        app.include_router(module.router)
    admin_static = StaticFiles(directory=package_folder("static") / "admin")
    app.mount("/admin/static", admin_static, name="admin-static")
    install_error_pages(app)
