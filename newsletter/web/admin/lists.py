"""List pages: every list with its subscriber count and the mail it receives; create and
edit per-language texts and routes; the first run's default lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.content.routing import Route, route_label, routes_of
from newsletter.staff import summaries
from newsletter.staff.lists_admin import ListRefused, create_default_lists, save_list
from newsletter.subscribers.models import MailingList
from newsletter.web.admin.deps import Staff, editor
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]


@router.get("/admin/lists", response_class=HTMLResponse)
def list_index(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    lists = staff.db.scalars(select(MailingList).order_by(MailingList.slug)).all()
    settings: Settings = request.app.state.settings
    summary = summaries.current(staff.db, settings)
    routes = {m.id: sorted(routes_of(settings, m)) for m in lists}
    return render(
        request,
        "lists.html",
        {
            "lists": lists,
            "counts": summary.list_totals,
            "summary": summary,
            "summary_minutes": max(1, round(settings.summary_refresh_seconds / 60)),
            "routes": routes,
            "route_label": route_label,
        },
    )


@router.post("/admin/lists/defaults", dependencies=CSRF)
def list_defaults(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    """First run: make the default bilingual lists (nothing when any list exists)."""
    create_default_lists(staff.db, request.app.state.settings, staff.actor)
    staff.db.commit()
    return redirect("/admin/lists?notice=saved")


def _form_page(
    request: Request, mailing_list: MailingList | None, error: str = "", status: int = 200
) -> Response:
    settings: Settings = request.app.state.settings
    texts = {t.language: t for t in mailing_list.translations} if mailing_list else {}
    return render(
        request,
        "list_form.html",
        {
            "l": mailing_list,
            "texts": texts,
            "all_routes": list(Route),
            "chosen_routes": routes_of(settings, mailing_list) if mailing_list else set(),
            "route_label": route_label,
            "languages": settings.languages,
            "error": error,
        },
        status,
    )


@router.get("/admin/lists/new", response_class=HTMLResponse)
def list_new(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    return _form_page(request, None)


@router.get("/admin/lists/{list_id}", response_class=HTMLResponse)
def list_edit(request: Request, list_id: int, staff: Annotated[Staff, Depends(editor)]) -> Response:
    mailing_list = staff.db.get(MailingList, list_id)
    if mailing_list is None:
        raise HTTPException(404)
    return _form_page(request, mailing_list)


@router.post("/admin/lists/{list_id}", dependencies=CSRF)
async def list_save(
    request: Request, list_id: str, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    """``list_id`` "new" creates a list; a number updates that list."""
    settings: Settings = request.app.state.settings
    mailing_list = None
    if list_id != "new":
        mailing_list = staff.db.get(MailingList, int(list_id)) if list_id.isdigit() else None
        if mailing_list is None:
            raise HTTPException(404)
    form = await request.form()
    texts = {
        lang: (
            str(form.get(f"name_{lang}", "")),
            # a browser sends a textarea's line ends as CRLF; the description is kept in LF
            str(form.get(f"description_{lang}", "")).replace("\r\n", "\n"),
        )
        for lang in settings.languages
    }
    try:
        saved = save_list(
            staff.db,
            staff.actor,
            mailing_list=mailing_list,
            slug=str(form.get("slug", "")),
            is_public=form.get("is_public") == "true",
            texts=texts,
            settings=settings,
            routes={r for r in Route if form.get(f"route_{r.value}") == "true"},
        )
    except ListRefused as exc:
        staff.db.rollback()
        return _form_page(request, mailing_list, translated(request, str(exc)), 400)
    staff.db.commit()
    return redirect(f"/admin/lists/{saved.id}?notice=saved")
