"""The mail branding page (admins): organisation name per language, colours, postal address,
logo (carried inside each message), and the remote-images switch. One domain call per save."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from newsletter.config import Settings
from newsletter.rendering.branding import (
    DEFAULT_LINK,
    DEFAULT_PRIMARY,
    MAX_LOGO_BYTES,
    branding_row,
    look_of,
)
from newsletter.staff.branding_admin import BrandingInput, BrandingRefused, save_branding
from newsletter.web.admin.deps import Staff, admin
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]


def _page(request: Request, staff: Staff, error: str = "", status: int = 200) -> Response:
    settings: Settings = request.app.state.settings
    row = branding_row(staff.db)
    return render(
        request,
        "branding.html",
        {
            "row": row,
            "look": look_of(row, settings),
            "languages": settings.languages,
            "default_primary": DEFAULT_PRIMARY,
            "default_link": DEFAULT_LINK,
            "error": error,
        },
        status,
    )


@router.get("/admin/branding", response_class=HTMLResponse)
def branding_page(request: Request, staff: Annotated[Staff, Depends(admin)]) -> Response:
    return _page(request, staff)


@router.post("/admin/branding", dependencies=CSRF)
async def branding_save(request: Request, staff: Annotated[Staff, Depends(admin)]) -> Response:
    settings: Settings = request.app.state.settings
    form = await request.form()
    upload = form.get("logo")
    logo = None
    if isinstance(upload, UploadFile) and upload.filename:
        logo = await upload.read(MAX_LOGO_BYTES + 1)
    given = BrandingInput(
        names={lang: str(form.get(f"name_{lang}", "")) for lang in settings.languages},
        primary_colour=str(form.get("primary_colour", "")),
        link_colour=str(form.get("link_colour", "")),
        postal_address=str(form.get("postal_address", "")),
        allow_remote_images=form.get("allow_remote_images") == "true",
        logo=logo or None,
        remove_logo=form.get("remove_logo") == "true",
    )
    try:
        save_branding(staff.db, staff.actor, given)
    except BrandingRefused as exc:
        staff.db.rollback()
        return _page(request, staff, translated(request, str(exc)), 400)
    staff.db.commit()
    return redirect("/admin/branding?notice=saved")
