"""Email template pages: edit a campaign template's three parts, validated on save, versioned."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from newsletter.config import Settings
from newsletter.staff import templates_store as store
from newsletter.staff.campaign_admin import available_templates
from newsletter.web.admin.deps import Staff, editor
from newsletter.web.admin.rendering import redirect, render
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]


def _name(settings: Settings, name: str) -> str:
    if name not in available_templates(settings):
        raise HTTPException(404)
    return name


@router.get("/admin/templates", response_class=HTMLResponse)
def template_index(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    settings: Settings = request.app.state.settings
    names = available_templates(settings)
    return render(
        request,
        "templates.html",
        {
            "rows": [(n, store.current(staff.db, n)) for n in names],
        },
    )


def _page(
    request: Request,
    staff: Staff,
    name: str,
    sources: dict[str, str],
    problems: list[store.TemplateProblem] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "template_form.html",
        {
            "name": name,
            "sources": sources,
            "problems": problems or [],
            "versions": store.versions(staff.db, name),
            "parts": store.PARTS,
        },
        status,
    )


@router.get("/admin/templates/{name}", response_class=HTMLResponse)
def template_edit(
    request: Request, name: str, staff: Annotated[Staff, Depends(editor)], version: int = 0
) -> Response:
    settings: Settings = request.app.state.settings
    name = _name(settings, name)
    chosen = next((v for v in store.versions(staff.db, name) if v.version == version), None)
    chosen = chosen or store.current(staff.db, name)
    if chosen is not None:
        sources = {
            "subject.txt": chosen.subject,
            "body.txt": chosen.body_text,
            "body.html": chosen.body_html,
        }
    else:
        sources = {part: store.shipped_source(settings, name, part) for part in store.PARTS}
    return _page(request, staff, name, sources)


@router.post("/admin/templates/{name}", dependencies=CSRF)
async def template_save(
    request: Request, name: str, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    settings: Settings = request.app.state.settings
    name = _name(settings, name)
    form = await request.form()
    # browsers send a textarea's line ends as CRLF; the sources are stored with LF
    sources = {part: str(form.get(part, "")).replace("\r\n", "\n") for part in store.PARTS}
    try:
        store.save_version(
            staff.db, settings, staff.actor, name, sources, note=str(form.get("note", ""))
        )
    except store.TemplateRefused as exc:
        staff.db.rollback()
        return _page(request, staff, name, sources, exc.problems, 400)
    staff.db.commit()
    return redirect(f"/admin/templates/{name}?notice=saved")
