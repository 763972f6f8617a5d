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
from newsletter.content.views import kind_label
from newsletter.rendering.markdown import render_markdown
from newsletter.staff import post_admin
from newsletter.web.admin import publishing
from newsletter.web.admin.deps import Staff, editor, viewer
from newsletter.web.admin.publishing import alert_context
from newsletter.web.admin.rendering import page_language, redirect, render, translated
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


def _wall(moment: dt.datetime, zone: ZoneInfo) -> str:
    """A moment as a ``datetime-local`` value; seconds only when it has some, so a time set
    through the API to the second comes back unchanged when the form is saved."""
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


def _field(form: FormData, name: str, limit: int) -> str:
    """A form field as the staff member wrote it: browsers send a textarea's line ends as
    CRLF, stored texts use LF, so an unchanged text saves as the same text."""
    return str(form.get(name, "")).replace("\r\n", "\n")[:limit]


def _texts(settings: Settings, form: FormData) -> list[content.TranslationInput]:
    return [
        content.TranslationInput(
            language=lang,
            title=_field(form, f"title_{lang}", 500),
            summary=_field(form, f"summary_{lang}", 5000),
            body_markdown=_field(form, f"body_{lang}", 200_000),
            event_location=_field(form, f"place_{lang}", 300) if f"place_{lang}" in form else None,
        )
        for lang in settings.languages
        if str(form.get(f"title_{lang}", "")).strip() or str(form.get(f"body_{lang}", "")).strip()
    ]


def _downloads(settings: Settings, form: FormData) -> list[content.DownloadInput]:
    """The download rows that carry a label or a link, in the order shown."""
    rows = []
    count = (
        int(str(form.get("download_rows", "0")))
        if str(form.get("download_rows", "0")).isdigit()
        else 0
    )
    for i in range(min(count, 50)):
        label = _field(form, f"download_label_{i}", 300).strip()
        url = _field(form, f"download_url_{i}", 1000).strip()
        language = str(form.get(f"download_language_{i}", ""))
        if label or url:
            rows.append(
                content.DownloadInput(
                    label, url, language if language in settings.languages else None
                )
            )
    return rows


def _values(settings: Settings, post: Post) -> dict[str, str]:
    """Every field of the form as the stored post fills it (what a save sends back)."""
    zone = ZoneInfo(settings.org_timezone)
    values = {
        "kind": post.kind.value,
        "contacts": post.contacts,
        "no_alert": "" if post.alert_enabled else "yes",
    }
    for t in post.translations:
        values |= {
            f"title_{t.language}": t.title,
            f"summary_{t.language}": t.summary,
            f"body_{t.language}": t.body_markdown,
            f"place_{t.language}": t.event_location or "",
        }
    if post.embargo_until:
        values["embargo"] = _wall(post.embargo_until, zone)
    if post.event_start and post.event_timezone:
        values |= {
            "event_start": _wall(post.event_start, ZoneInfo(post.event_timezone)),
            "event_timezone": post.event_timezone,
            "event_duration": str(post.event_duration_minutes or ""),
            "event_location": post.event_location or "",
            "event_online_url": post.event_online_url or "",
            "registration_url": post.registration_url or "",
        }
    return values


def _download_rows(post: Post | None, form: FormData | None) -> list[dict[str, str]]:
    """The rows of the downloads table: the stored ones (or those just typed) and two free."""
    if form is not None:
        count = str(form.get("download_rows", "0"))
        shown = [
            {
                "label": str(form.get(f"download_label_{i}", "")),
                "url": str(form.get(f"download_url_{i}", "")),
                "language": str(form.get(f"download_language_{i}", "")),
            }
            for i in range(min(int(count) if count.isdigit() else 0, 50))
        ]
    else:
        shown = [
            {"label": d.label, "url": d.url, "language": d.language or ""}
            for d in (post.downloads if post else [])
        ]
    shown = [row for row in shown if row["label"] or row["url"]]
    return shown + [{"label": "", "url": "", "language": ""}] * 2


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
    values: dict[str, str] = {}
    if form is not None:
        values = {k: str(v) for k, v in form.items()}
    elif post is not None:
        values = _values(settings, post)
    return render(
        request,
        "post_form.html",
        {
            "post": post,
            "v": values,
            "error": error,
            "previews": previews or {},
            "languages": settings.languages,
            "kinds": [(k.value, kind_label(k, page_language(request))) for k in PostKind],
            "zone": settings.org_timezone,
            **alert_context(settings, staff.db, post),
            "downloads": _download_rows(post, form),
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
        duration = str(form.get("event_duration", "")).strip()
        if duration and not duration.isdigit():
            raise content.PostError("The duration must be between 1 minute and 7 days.")
        event = content.EventInput(
            start=start,
            timezone=str(form.get("event_timezone", "")).strip() or settings.org_timezone,
            duration_minutes=int(duration) if duration else None,
            location=_field(form, "event_location", 300) or None,
            online_url=_field(form, "event_online_url", 1000).strip() or None,
            registration_url=_field(form, "registration_url", 1000).strip() or None,
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
        contacts=_field(form, "contacts", 5000),
        downloads=_downloads(settings, form),
        alert_enabled=form.get("no_alert") != "yes",
    )
    return post_admin.save_post(
        staff.db, settings, staff.actor, data, post, created_by_id=staff.user.id
    )
