"""Console pages of the press: the press list (add, update, remove, CSV import) and a
release's press page (structured contacts, briefing under embargo, move, lift, withdraw).

Thin shells over :mod:`newsletter.staff.press_admin`. Each mail to the press is a two-step
form: the first POST shows "this emails N journalists", the second sends if N still holds.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from newsletter.config import Settings
from newsletter.content.models import Post
from newsletter.content.service import translation_for
from newsletter.db import utcnow
from newsletter.press import service
from newsletter.press.models import Journalist, PressMessage
from newsletter.registrations.models import MessageStatus
from newsletter.staff import press_admin
from newsletter.staff.event_admin import CountChanged
from newsletter.subscribers.inputs import InvalidInput
from newsletter.web.admin.deps import Staff, editor, viewer
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.csrf import require_csrf

log = logging.getLogger(__name__)
router = APIRouter()
CSRF = [Depends(require_csrf)]
MAX_CONTACTS = 6
MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _list_page(
    request: Request, staff: Staff, error: str = "", report: str = "", status: int = 200
) -> Response:
    return render(
        request,
        "press.html",
        {
            "journalists": service.press_list(staff.db),
            "can_edit": staff.can(editor.min_role),
            "languages": _settings(request).languages,
            "error": error,
            "report": report,
        },
        status,
    )


@router.get("/admin/press", response_class=HTMLResponse)
def press_index(request: Request, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    return _list_page(request, staff)


@router.post("/admin/press/journalists", dependencies=CSRF)
async def press_add(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        given = service.clean_journalist(_settings(request), fields)
    except InvalidInput as invalid:
        return _list_page(request, staff, error=translated(request, invalid.message), status=400)
    press_admin.save_journalist(staff.db, staff.actor, given)
    staff.db.commit()
    return redirect("/admin/press?notice=saved")


@router.post("/admin/press/journalists/{journalist_id}/remove", dependencies=CSRF)
def press_remove(
    request: Request, journalist_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    journalist = staff.db.get(Journalist, journalist_id)
    if journalist is None:
        raise HTTPException(404)
    press_admin.remove_journalist(staff.db, staff.actor, journalist)
    staff.db.commit()
    return redirect("/admin/press?notice=saved")


@router.post("/admin/press/import", dependencies=CSRF)
async def press_import(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    form = await request.form()
    upload = form.get("file")
    text = str(form.get("csv", ""))
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(raw) > MAX_IMPORT_BYTES:
            return _list_page(request, staff, error=translated(request, "The file is too large."))
        text = raw.decode("utf-8-sig", errors="replace")
    added, updated, problems = press_admin.import_journalists(
        staff.db, _settings(request), staff.actor, text
    )
    staff.db.commit()
    report = translated(
        request, "%(added)s added, %(updated)s updated.", added=str(added), updated=str(updated)
    )
    if problems:
        report += " " + "; ".join(problems[:20])
    return _list_page(request, staff, report=report)


# ---- A release's press page ---------------------------------------------------------------


def _post(staff: Staff, post_id: int) -> Post:
    post = staff.db.get(Post, post_id)
    if post is None:
        raise HTTPException(404)
    return post


def _release_page(
    request: Request,
    staff: Staff,
    post: Post,
    *,
    error: str = "",
    confirm: dict[str, object] | None = None,
    status: int = 200,
) -> Response:
    settings = _settings(request)
    zone = ZoneInfo(settings.org_timezone)
    briefing = service.briefing_for(staff.db, post)
    return render(
        request,
        "press_release.html",
        {
            "post": post,
            "title": translation_for(
                post, settings.default_language, settings.default_language
            ).title,
            "briefing": briefing,
            "embargo_local": post.embargo_until.astimezone(zone) if post.embargo_until else None,
            "zone": settings.org_timezone,
            "contacts": list(post.press_contacts),  # type: ignore[attr-defined]
            "blank_contacts": max(1, MAX_CONTACTS - len(post.press_contacts)),  # type: ignore[attr-defined]
            "languages": settings.languages,
            "journalists": press_admin.audience_count(staff.db),
            "log": press_admin.briefing_log(staff.db, post),
            "now": utcnow(),
            "can_edit": staff.can(editor.min_role),
            "error": error,
            "confirm": confirm,
        },
        status,
    )


@router.get("/admin/posts/{post_id}/press", response_class=HTMLResponse)
def release_press(
    request: Request, post_id: int, staff: Annotated[Staff, Depends(viewer)]
) -> Response:
    return _release_page(request, staff, _post(staff, post_id))


def _contacts(settings: Settings, form: FormData) -> list[service.ContactInput]:
    found = []
    for index in range(MAX_CONTACTS):
        name = str(form.get(f"c{index}_name", "")).strip()
        if not name:
            continue
        found.append(
            service.ContactInput(
                name=name,
                organisation=str(form.get(f"c{index}_organisation", "")),
                roles={
                    lang: str(form.get(f"c{index}_role_{lang}", "")) for lang in settings.languages
                },
                phone=str(form.get(f"c{index}_phone", "")),
                email=str(form.get(f"c{index}_email", "")),
                spoken_languages=str(form.get(f"c{index}_languages", "")),
            )
        )
    return found


@router.post("/admin/posts/{post_id}/press/contacts", dependencies=CSRF)
async def release_contacts(
    request: Request, post_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    post = _post(staff, post_id)
    form = await request.form()
    try:
        service.set_contacts(post, _contacts(_settings(request), form))
    except service.BriefingError as exc:
        staff.db.rollback()
        return _release_page(request, staff, post, error=translated(request, str(exc)), status=400)
    staff.db.commit()
    return redirect(f"/admin/posts/{post.id}/press?notice=saved")


def _embargo(settings: Settings, form: FormData) -> dt.datetime | None:
    text = str(form.get("embargo", "")).strip()
    if not text:
        return None
    try:
        naive = dt.datetime.fromisoformat(text[:30])
        zone = ZoneInfo(str(form.get("timezone") or settings.org_timezone))
    except (ValueError, ZoneInfoNotFoundError):
        raise service.BriefingError("Give a date and time.") from None
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


@router.post("/admin/posts/{post_id}/press/{action}", dependencies=CSRF)
async def release_action(
    request: Request, post_id: int, action: str, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    if action not in press_admin.ACTIONS:
        raise HTTPException(404)
    settings = _settings(request)
    post = _post(staff, post_id)
    form = await request.form()
    fields = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    confirmed = fields.pop("confirmed_count", "")
    try:
        embargo = _embargo(settings, form) if action in {"brief", "move"} else None
        if action in {"brief", "move"} and embargo is None:
            raise service.BriefingError("Give a date and time.")
        if not confirmed.isdigit():
            count = press_admin.audience_count(staff.db)
            confirm = {"action": action, "count": count, "fields": fields}
            return _release_page(request, staff, post, confirm=confirm)
        _count, started = press_admin.act(
            staff.db,
            settings,
            staff.actor,
            post,
            action,
            confirmed_count=int(confirmed),
            now=utcnow(),
            embargo_until=embargo,
        )
    except CountChanged as changed:
        staff.db.rollback()
        message = translated(request, "The number of journalists changed; please confirm again.")
        confirm = {"action": action, "count": changed.count, "fields": fields}
        return _release_page(request, staff, post, error=message, confirm=confirm, status=409)
    except service.BriefingError as exc:
        staff.db.rollback()
        return _release_page(request, staff, post, error=translated(request, str(exc)), status=400)
    ids = list(
        staff.db.scalars(select(PressMessage.id).where(PressMessage.status == MessageStatus.QUEUED))
    )
    staff.db.commit()
    _enqueue(request, ids, started)
    return redirect(f"/admin/posts/{post.id}/press?notice=saved")


def _enqueue(request: Request, message_ids: list[int], campaign_ids: list[int]) -> None:
    """Hand the mail to a worker now; the press beat and the engine's tick are the backstop."""
    state = request.app.state
    try:
        if getattr(state, "celery", None) is None:
            from workers.celery_app import make_celery

            state.celery = make_celery(state.settings)
        if message_ids:
            state.celery.send_task("newsletter.send_press_messages", args=[message_ids])
        for campaign_id in campaign_ids:
            state.celery.send_task("newsletter.start_campaign", args=[campaign_id])
    except Exception:
        log.warning("press mail not enqueued; the beat sends it within a minute")
