"""Post pages: write and edit in every language side by side, Markdown preview, publish now,
publish at a time, embargo. The content rules are the content service's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from starlette.datastructures import FormData

from newsletter.config import Settings
from newsletter.content import service as content
from newsletter.content.models import Post, PostKind
from newsletter.rendering.markdown import render_markdown
from newsletter.staff import post_admin
from newsletter.web.admin import publishing
from newsletter.web.admin.deps import Staff, editor, viewer
from newsletter.web.admin.publishing import alert_context
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.admin.tasks import enqueue_after_commit
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]


def _local(settings: Settings, value: str) -> dt.datetime | None:
    """A ``datetime-local`` field in the organisation's zone, as aware UTC (None if empty)."""
    if not value.strip():
        return None
    try:
        naive = dt.datetime.fromisoformat(value.strip()[:30])
    except ValueError:
        raise content.PostError("Give a date and time.") from None
    return naive.replace(tzinfo=ZoneInfo(settings.org_timezone)).astimezone(dt.UTC)


def _texts(settings: Settings, form: FormData) -> list[content.TranslationInput]:
    return [
        content.TranslationInput(
            language=lang,
            title=str(form.get(f"title_{lang}", ""))[:500],
            summary=str(form.get(f"summary_{lang}", ""))[:5000],
            body_markdown=str(form.get(f"body_{lang}", ""))[:200_000],
        )
        for lang in settings.languages
        if str(form.get(f"title_{lang}", "")).strip() or str(form.get(f"body_{lang}", "")).strip()
    ]


def _page(
    request: Request,
    staff: Staff,
    post: Post | None,
    form: FormData | None = None,
    error: str = "",
    previews: dict[str, Markup] | None = None,
    status: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    zone = ZoneInfo(settings.org_timezone)
    values: dict[str, str] = {}
    if form is not None:
        values = {k: str(v) for k, v in form.items()}
    elif post is not None:
        values = {"kind": post.kind.value}
        for t in post.translations:
            values |= {
                f"title_{t.language}": t.title,
                f"summary_{t.language}": t.summary,
                f"body_{t.language}": t.body_markdown,
            }
        if post.embargo_until:
            values["embargo"] = post.embargo_until.astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        if post.event_start and post.event_timezone:
            values["event_start"] = post.event_start.astimezone(
                ZoneInfo(post.event_timezone)
            ).strftime("%Y-%m-%dT%H:%M")
            values["event_timezone"] = post.event_timezone
            values["event_location"] = post.event_location or ""
            values["registration_url"] = post.registration_url or ""
    return render(
        request,
        "post_form.html",
        {
            "post": post,
            "v": values,
            "error": error,
            "previews": previews or {},
            "languages": settings.languages,
            "kinds": list(PostKind),
            "zone": settings.org_timezone,
            **alert_context(settings, staff.db, post),
        },
        status,
    )


@router.get("/admin/posts", response_class=HTMLResponse)
def post_index(request: Request, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    posts = staff.db.scalars(select(Post).order_by(Post.id.desc()).limit(100)).all()
    return render(request, "posts.html", {"posts": posts, "can_edit": staff.can(editor.min_role)})


@router.get("/admin/posts/new", response_class=HTMLResponse)
def post_new(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    return _page(request, staff, None)


@router.get("/admin/posts/{post_id}/edit", response_class=HTMLResponse)
def post_edit(request: Request, post_id: int, staff: Annotated[Staff, Depends(editor)]) -> Response:
    post = staff.db.get(Post, post_id)
    if post is None:
        raise HTTPException(404)
    return _page(request, staff, post)


@router.post("/admin/posts/{post_id}/edit", dependencies=CSRF)
async def post_save(
    request: Request, post_id: str, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    """``post_id`` "new" creates; "Preview" re-shows the form with the Markdown rendered."""
    settings: Settings = request.app.state.settings
    post = None
    if post_id != "new":
        post = staff.db.get(Post, int(post_id)) if post_id.isdigit() else None
        if post is None:
            raise HTTPException(404)
    form = await request.form()
    texts = _texts(settings, form)
    if form.get("action") == "preview":
        previews = {t.language: Markup(render_markdown(t.body_markdown)) for t in texts}  # noqa: S704 - sanitised by the content service
        return _page(request, staff, post, form, previews=previews)
    publish = str(form.get("publish", "draft"))
    confirm = publish in {"now", "at"} and (post is None or post.published_at is None)
    try:
        post = _save(staff, settings, post, _as_draft(form) if confirm else form, texts)
        if confirm:  # saved as a draft; publishing goes through the alert's confirmation
            at = _local(settings, str(form.get("publish_at", ""))) if publish == "at" else None
            if publish == "at" and at is None:
                raise content.PostError("Give a date and time.")
            if publishing.needs_confirmation(post):
                staff.db.commit()
                return redirect(publishing.confirm_url(post, at))
            post_admin.publish(staff.db, settings, staff.actor, post, at=at, alert=True)
    except content.PostError as exc:
        staff.db.rollback()
        return _page(request, staff, post, form, error=translated(request, str(exc)), status=400)
    for campaign_id in post_admin.alerts_to_start(staff.db, post):
        enqueue_after_commit(request.app, staff.db, "newsletter.start_campaign", campaign_id)
    staff.db.commit()
    return redirect(f"/admin/posts/{post.id}/edit?notice=saved")


def _as_draft(form: FormData) -> FormData:
    """The form with "keep as draft": its edits are saved before the publishing step."""
    items = [(k, v) for k, v in form.multi_items() if k != "publish"]
    return FormData([*items, ("publish", "draft")])


def _save(
    staff: Staff,
    settings: Settings,
    post: Post | None,
    form: FormData,
    texts: list[content.TranslationInput],
) -> Post:
    kind_value = str(form.get("kind", PostKind.NEWS.value))
    kind = PostKind(kind_value) if kind_value in {k.value for k in PostKind} else PostKind.NEWS
    event = None
    if str(form.get("event_start", "")).strip():
        try:
            start = dt.datetime.fromisoformat(str(form.get("event_start")).strip()[:30])
        except ValueError:
            raise content.PostError("Give a date and time.") from None
        event = content.EventInput(
            start=start,
            timezone=str(form.get("event_timezone", "")) or settings.org_timezone,
            location=str(form.get("event_location", "")) or None,
            registration_url=str(form.get("registration_url", "")) or None,
        )
    publish = str(form.get("publish", "draft"))
    data = post_admin.PostInput(
        kind=kind,
        texts=texts,
        event=event,
        embargo_until=_local(settings, str(form.get("embargo", ""))),
        publish=post_admin.Publish(publish)
        if publish in set(post_admin.Publish)
        else post_admin.Publish.DRAFT,
        publish_at=_local(settings, str(form.get("publish_at", ""))),
    )
    return post_admin.save_post(
        staff.db, settings, staff.actor, data, post, created_by_id=staff.user.id
    )
