"""The staff console (``/admin``) and the REST API (``/api/v1``), installed on the app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from newsletter.config import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static" / "admin"


def install_staff_console(app: FastAPI) -> None:
    """Every staff router, plus the console's stylesheet (the CSP forbids inline styles)."""
    from newsletter.web.admin import account, auth, dashboard, imports, lists, subscribers

    for module in (auth, account, dashboard, subscribers, lists, imports):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/admin/static", StaticFiles(directory=STATIC_DIR), name="admin-static")
