"""Subscriber pages: search and filter, one person's history, edit, unsubscribe, suppress,
erase, and the audited CSV export of a filtered set."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.i18n import using_language
from newsletter.imports.export import export_rows
from newsletter.staff import audit, subscriber_admin
from newsletter.staff.subscriber_search import SubscriberFilter, search, search_page
from newsletter.subscribers.inputs import InvalidInput, clean_timezone
from newsletter.subscribers.models import MailingList, Subscriber, SubscriberStatus
from newsletter.web.admin.deps import Staff, admin, editor
from newsletter.web.admin.rendering import page_language, redirect, render
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]
PAGE = 50


def _criteria(
    q: str = "", status: str = "", list_id: str = "", language: str = ""
) -> SubscriberFilter:
    return SubscriberFilter(
        query=q[:200],
        status=SubscriberStatus(status) if status in {s.value for s in SubscriberStatus} else None,
        list_id=int(list_id) if list_id.isdigit() else None,
        language=language[:8] or None,
    )


def _lists(staff: Staff) -> list[MailingList]:
    return list(staff.db.scalars(select(MailingList).order_by(MailingList.slug)))


def _subscriber(staff: Staff, subscriber_id: int) -> Subscriber:
    subscriber = staff.db.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status == SubscriberStatus.ERASED:
        raise HTTPException(404)
    return subscriber


@router.get("/admin/subscribers", response_class=HTMLResponse)
def subscriber_list(
    request: Request,
    staff: Annotated[Staff, Depends(editor)],
    criteria: Annotated[SubscriberFilter, Depends(_criteria)],
    page: int = 1,
) -> Response:
    page = max(1, min(page, 10_000))
    found = search_page(staff.db, criteria, limit=PAGE, offset=(page - 1) * PAGE)
    settings: Settings = request.app.state.settings
    return render(
        request,
        "subscribers.html",
        {
            "rows": found.rows,
            "total": found.total,
            "total_capped": found.capped,
            "page": page,
            "has_next": len(found.rows) == PAGE and (found.capped or page * PAGE < found.total),
            "criteria": criteria,
            "lists": _lists(staff),
            "statuses": list(SubscriberStatus),
            "languages": settings.languages,
            "can_export": staff.can(admin.min_role),
        },
    )


@router.post("/admin/subscribers/export", dependencies=CSRF)
def subscriber_export(
    request: Request,
    staff: Annotated[Staff, Depends(admin)],
    q: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    list_id: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
) -> Response:
    criteria = _criteria(q, status, list_id, language)
    _rows, total = search(staff.db, criteria, limit=0)
    audit.record(
        staff.db,
        staff.actor,
        "subscribers.export",
        object_type="subscribers",
        detail=criteria.as_detail() | {"rows": total},
    )
    staff.db.commit()
    factory = request.app.state.session_factory

    def stream():  # type: ignore[no-untyped-def]
        with factory() as db:
            yield from export_rows(db, criteria)

    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="subscribers.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/admin/subscribers/{subscriber_id}", response_class=HTMLResponse)
def subscriber_page(
    request: Request, subscriber_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    return _subscriber_view(request, staff, subscriber_id)


def _subscriber_view(
    request: Request, staff: Staff, subscriber_id: int, error: str = "", status: int = 200
) -> Response:
    """The subscriber's page; ``error`` is a refusal of the edit form, already translated."""
    subscriber = _subscriber(staff, subscriber_id)
    settings: Settings = request.app.state.settings
    return render(
        request,
        "subscriber.html",
        {
            "history": subscriber_admin.history(staff.db, subscriber),
            "s": subscriber,
            "lists": _lists(staff),
            "languages": settings.languages,
            "active_lists": {
                sub.list_id for sub in subscriber.subscriptions if sub.status.value == "active"
            },
            "is_admin": staff.can(admin.min_role),
            "error": error,
        },
        status,
    )


@router.post("/admin/subscribers/{subscriber_id}", dependencies=CSRF)
async def subscriber_edit(
    request: Request,
    subscriber_id: int,
    staff: Annotated[Staff, Depends(editor)],
) -> Response:
    form = await request.form()
    settings: Settings = request.app.state.settings
    subscriber = _subscriber(staff, subscriber_id)
    language = str(form.get("language", ""))
    try:
        with using_language(page_language(request)):
            timezone = clean_timezone(form.get("timezone", ""))
    except InvalidInput as invalid:
        return _subscriber_view(request, staff, subscriber_id, invalid.message, 400)
    subscriber_admin.edit(
        staff.db,
        subscriber,
        staff.actor,
        name=str(form.get("name", ""))[:200],
        language=language if language in settings.languages else subscriber.language,
        timezone=timezone,
        list_ids={int(v) for v in form.getlist("lists") if isinstance(v, str) and v.isdigit()},
        discreet=form.get("discreet") == "yes",
        low_bandwidth=form.get("low_bandwidth") == "yes",
    )
    staff.db.commit()
    return redirect(f"/admin/subscribers/{subscriber_id}?notice=saved")


@router.post("/admin/subscribers/{subscriber_id}/unsubscribe", dependencies=CSRF)
def subscriber_unsubscribe(
    subscriber_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    subscriber_admin.unsubscribe(staff.db, _subscriber(staff, subscriber_id), staff.actor)
    staff.db.commit()
    return redirect(f"/admin/subscribers/{subscriber_id}?notice=unsubscribed")


@router.post("/admin/subscribers/{subscriber_id}/suppress", dependencies=CSRF)
def subscriber_suppress(subscriber_id: int, staff: Annotated[Staff, Depends(editor)]) -> Response:
    subscriber_admin.suppress(staff.db, _subscriber(staff, subscriber_id), staff.actor)
    staff.db.commit()
    return redirect(f"/admin/subscribers/{subscriber_id}?notice=suppressed")


@router.post("/admin/subscribers/{subscriber_id}/erase", dependencies=CSRF)
def subscriber_erase(subscriber_id: int, staff: Annotated[Staff, Depends(admin)]) -> Response:
    subscriber_admin.erase(staff.db, _subscriber(staff, subscriber_id), staff.actor)
    staff.db.commit()
    return redirect("/admin/subscribers?notice=erased")
