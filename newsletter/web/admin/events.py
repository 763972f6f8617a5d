"""Console pages of event registrations: settings, who registered, export, close, and the
notices to registrants (move, cancel, follow-up), each confirmed with its recipient count.

Thin shells over :mod:`newsletter.staff.event_admin`. A notice is a two-step form: the first
POST shows "this emails N people" with the count in a hidden field; the second runs only if
N is still right. The messages leave from the event beat (or at once, after commit).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import select
from starlette.datastructures import FormData

from newsletter.config import Settings
from newsletter.content.models import Post, PostKind
from newsletter.content.service import EventInput, PostError
from newsletter.content.service import translation_for as text_for
from newsletter.db import utcnow
from newsletter.registrations.models import MessageStatus, Registration, RegistrationMessage
from newsletter.registrations.service import RegistrationError, find_setup
from newsletter.staff import event_admin
from newsletter.web.admin.deps import Staff, admin, editor, viewer
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]


def _event(staff: Staff, post_id: int) -> Post:
    post = staff.db.get(Post, post_id)
    if post is None or post.kind != PostKind.EVENT:
        raise HTTPException(404)
    return post


def _title(request: Request, post: Post) -> str:
    settings: Settings = request.app.state.settings
    return text_for(post, settings.default_language, settings.default_language).title


@router.get("/admin/events", response_class=HTMLResponse)
def event_index(request: Request, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    rows = [
        (event_admin.summary(staff.db, p), _title(request, p), find_setup(staff.db, p.id))
        for p in event_admin.event_posts(staff.db)
    ]
    return render(request, "events.html", {"rows": rows})


def _page(
    request: Request,
    staff: Staff,
    post: Post,
    *,
    error: str = "",
    confirm: dict[str, object] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "event.html",
        {
            "post": post,
            "title": _title(request, post),
            "setup": find_setup(staff.db, post.id),
            "summary": event_admin.summary(staff.db, post),
            "registrations": event_admin.registrations(staff.db, post),
            "can_edit": staff.can(editor.min_role),
            "can_export": staff.can(admin.min_role),
            "error": error,
            "confirm": confirm,
            "org_zone": request.app.state.settings.org_timezone,
        },
        status,
    )


@router.get("/admin/events/{post_id}", response_class=HTMLResponse)
def event_page(
    request: Request, post_id: int, staff: Annotated[Staff, Depends(viewer)]
) -> Response:
    return _page(request, staff, _event(staff, post_id))


def _capacity(value: object) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise RegistrationError("The capacity must be a positive number, or empty.")
    return int(text)


@router.post("/admin/events/{post_id}/settings", dependencies=CSRF)
async def event_settings(
    request: Request, post_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    post = _event(staff, post_id)
    form = await request.form()
    try:
        event_admin.configure(
            staff.db,
            staff.actor,
            post,
            enabled=form.get("enabled") == "on",
            capacity=_capacity(form.get("capacity")),
            reminder_offsets=str(form.get("reminders", "")),
            reopen=form.get("reopen") == "on",
            now=utcnow(),
        )
    except RegistrationError as exc:
        staff.db.rollback()
        return _page(request, staff, post, error=translated(request, str(exc)), status=400)
    staff.db.commit()
    return redirect(f"/admin/events/{post.id}?notice=saved")


@router.post("/admin/events/{post_id}/close", dependencies=CSRF)
def event_close(
    request: Request, post_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    event_admin.close(staff.db, staff.actor, _event(staff, post_id), utcnow())
    staff.db.commit()
    return redirect(f"/admin/events/{post_id}?notice=saved")


@router.post("/admin/events/{post_id}/export", dependencies=CSRF)
def event_export(
    request: Request, post_id: int, staff: Annotated[Staff, Depends(admin)]
) -> Response:
    post = _event(staff, post_id)
    body = "".join(event_admin.export_csv(staff.db, staff.actor, post))
    staff.db.commit()
    return StreamingResponse(
        iter([body]),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="registrations-{post.public_id}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _new_start(request: Request, form: FormData, post: Post) -> EventInput:
    zone = str(form.get("timezone") or post.event_timezone or "UTC")
    try:
        start = dt.datetime.fromisoformat(str(form.get("start", "")).strip()[:30])
    except ValueError:
        raise PostError("Give a date and time.") from None
    return EventInput(
        start.replace(tzinfo=None),
        zone,
        duration_minutes=post.event_duration_minutes,
        location=post.event_location,
        online_url=post.event_online_url,
        registration_url=post.registration_url,
    )


@router.post("/admin/events/{post_id}/notify/{kind}", dependencies=CSRF)
async def event_notify(
    request: Request, post_id: int, kind: str, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    """Move, cancel or follow up: first shows the count, then sends on the confirmed count."""
    if kind not in event_admin.NOTICE_KINDS:
        raise HTTPException(404)
    post = _event(staff, post_id)
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    confirmed = fields.get("confirmed_count", "")
    try:
        event = _new_start(request, form, post) if kind == "update" else None
        if not confirmed.isdigit():
            count = event_admin.audience_count(staff.db, post, kind)
            return _page(
                request, staff, post, confirm={"kind": kind, "count": count, "fields": fields}
            )
        event_admin.notify(
            staff.db,
            staff.actor,
            post,
            kind,
            confirmed_count=int(confirmed),
            text=fields.get("text", ""),
            now=utcnow(),
            event=event,
        )
    except event_admin.CountChanged as changed:
        staff.db.rollback()
        fields.pop("confirmed_count", None)
        message = translated(request, "The number of registrants changed; please confirm again.")
        return _page(
            request,
            staff,
            post,
            error=message,
            confirm={"kind": kind, "count": changed.count, "fields": fields},
            status=409,
        )
    except (PostError, RegistrationError) as exc:
        staff.db.rollback()
        return _page(request, staff, post, error=translated(request, str(exc)), status=400)
    ids = staff.db.scalars(
        select(RegistrationMessage.id)
        .join(Registration, Registration.id == RegistrationMessage.registration_id)
        .where(Registration.post_id == post.id, RegistrationMessage.status == MessageStatus.QUEUED)
    ).all()
    staff.db.commit()
    _enqueue(request, list(ids))
    return redirect(f"/admin/events/{post.id}?notice=saved")


def _enqueue(request: Request, message_ids: list[int]) -> None:
    """Hand the queued notices to a worker now; the event beat sends them anyway."""
    if not message_ids:
        return
    state = request.app.state
    try:
        if getattr(state, "celery", None) is None:
            from workers.celery_app import make_celery

            state.celery = make_celery(state.settings)
        state.celery.send_task("newsletter.send_event_messages", args=[message_ids])
    except Exception:  # the beat picks them up within a minute
        import logging

        logging.getLogger(__name__).warning("event notices not enqueued; the beat will send them")
