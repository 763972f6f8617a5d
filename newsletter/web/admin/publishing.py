"""Publishing a post from the console: the confirmation step that says who will be alerted.

Why a step of its own: "Publish now" on a press release mails whole lists within seconds, so
the console says before it happens how many readers, on which lists, in which languages, and
offers to publish without alert. The post's edits are saved as a draft first; this page then
publishes it (`newsletter.staff.post_admin.publish`), once however often it is submitted.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from newsletter import clock
from newsletter.config import Settings
from newsletter.content import service as content
from newsletter.content.alerts import alert_key, unrouted_posts
from newsletter.content.mailings import campaign_exists
from newsletter.content.models import Post
from newsletter.content.routing import (
    ALERTING_KINDS,
    alert_audience,
    alert_route,
    route_label,
)
from newsletter.staff import post_admin
from newsletter.web.admin.deps import Staff, editor
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.admin.tasks import enqueue_after_commit
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]


def alert_context(settings: Settings, db: Session, post: Post | None) -> dict[str, Any]:
    """For the post form: who each kind's alert reaches now, and this post's missed alert."""
    kinds = [post.kind] if post is not None and alert_route(post.kind) else list(ALERTING_KINDS)
    audiences = []
    for kind in kinds:
        route = alert_route(kind)
        found = alert_audience(settings, db, kind)
        if route is not None and found is not None:
            audiences.append((kind, route, found))
    unrouted = []
    if post is not None and post.id is not None:
        unrouted = unrouted_posts(settings, db, clock.now(), post_id=post.id)
    return {
        "alert_audiences": audiences,
        "alert_unrouted": unrouted,
        "route_label": route_label,
        "alert_sent": post is not None
        and post.id is not None
        and campaign_exists(db, alert_key(post)),
    }


def needs_confirmation(post: Post) -> bool:
    """Publishing this draft would send an alert: staff confirm first."""
    return post.published_at is None and post.alert_enabled and alert_route(post.kind) is not None


def confirm_url(post: Post, at: dt.datetime | None) -> str:
    query = f"?at={at.strftime('%Y-%m-%dT%H:%M:%SZ')}" if at else ""
    return f"/admin/posts/{post.id}/publish{query}"


def _moment(value: str) -> dt.datetime | None:
    if not value.strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip()[:30].replace("Z", "+00:00"))
    except ValueError:
        raise content.PostError("Give a date and time.") from None
    if moment.tzinfo is None:
        raise content.PostError("Give a date and time.")
    return moment


def _post(staff: Staff, post_id: int) -> Post:
    post = staff.db.get(Post, post_id)
    if post is None:
        raise HTTPException(404)
    return post


def _confirm_page(
    request: Request, staff: Staff, post: Post, at: dt.datetime | None, error: str = ""
) -> Response:
    settings: Settings = request.app.state.settings
    route = alert_route(post.kind)
    return render(
        request,
        "post_publish.html",
        {
            "post": post,
            "title": content.translation_for(
                post, settings.default_language, settings.default_language
            ).title,
            "at": at,
            "at_value": at.strftime("%Y-%m-%dT%H:%M:%SZ") if at else "",
            "route": route,
            "route_label": route_label,
            "audience": alert_audience(settings, staff.db, post.kind),
            "wants_alert": needs_confirmation(post),
            "error": error,
        },
        400 if error else 200,
    )


@router.get("/admin/posts/{post_id}/publish", response_class=HTMLResponse)
def publish_confirm(
    request: Request, post_id: int, staff: Annotated[Staff, Depends(editor)], at: str = ""
) -> Response:
    post = _post(staff, post_id)
    if post.published_at is not None:
        return redirect(f"/admin/posts/{post.id}/edit?notice=already-published")
    try:
        moment = _moment(at)
    except content.PostError as exc:
        return _confirm_page(request, staff, post, None, translated(request, str(exc)))
    return _confirm_page(request, staff, post, moment)


@router.post("/admin/posts/{post_id}/publish", dependencies=CSRF)
def publish_post(
    request: Request,
    post_id: int,
    staff: Annotated[Staff, Depends(editor)],
    at: Annotated[str, Form()] = "",
    alert: Annotated[str, Form()] = "",
) -> Response:
    """``alert`` "alert" publishes with the alert, "none" without; a second submission (a
    double click) finds the post published and changes nothing."""
    settings: Settings = request.app.state.settings
    post = _post(staff, post_id)
    if alert not in {"alert", "none"}:
        return _confirm_page(request, staff, post, None)
    try:
        done = post_admin.publish(
            staff.db, settings, staff.actor, post, at=_moment(at), alert=alert == "alert"
        )
    except content.PostError as exc:
        staff.db.rollback()
        return _confirm_page(request, staff, post, None, translated(request, str(exc)))
    for campaign_id in done.start:
        enqueue_after_commit(request.app, staff.db, "newsletter.start_campaign", campaign_id)
    staff.db.commit()
    if done.already:
        return redirect(f"/admin/posts/{post.id}/edit?notice=already-published")
    return redirect(f"/admin/posts/{post.id}/edit?notice=published")
