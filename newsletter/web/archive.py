"""Public archive: ``/archive`` by month, permalinks, ``.ics`` files and an Atom feed.

Thin routes over :mod:`newsletter.content.archive`, which decides what is public. The
"view in your browser" link of every email points at ``/archive/campaigns/<public_id>``.
Nothing here reads subscriber data; pages are in ``?lang=`` or the browser's language.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.content import archive
from newsletter.content.digest import Period
from newsletter.content.events import event_calendar
from newsletter.content.service import translation_for
from newsletter.content.views import KIND_ORDER, kind_label, post_view
from newsletter.db import utcnow
from newsletter.i18n import gettext, negotiate_language, using_language
from newsletter.rendering.markdown import markdown_to_safe_html
from newsletter.web.app import session_dependency

router = APIRouter(prefix="/archive", include_in_schema=False)
DbSession = Annotated[Session, Depends(session_dependency)]


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _language(request: Request) -> str:
    settings = _settings(request)
    asked = request.query_params.get("lang")
    if asked in settings.languages:
        return asked
    return negotiate_language(
        request.headers.get("accept-language"), settings.languages, settings.default_language
    )


def _page(request: Request, template: str, language: str, **context: object) -> HTMLResponse:
    settings = _settings(request)
    base = {"org_name": settings.org_name, "language": language, "languages": settings.languages}
    with using_language(language):
        return request.app.state.templates.TemplateResponse(
            request, f"web/public/{template}", base | context
        )


class NotPublic(HTTPException):
    """A page that does not exist, or not yet (draft, embargo): one answer for both."""


def _not_found(language: str) -> HTTPException:
    return NotPublic(404, gettext("This page does not exist or is not public yet.", language))


def not_public_page(request: Request, exc: Exception) -> HTMLResponse:
    """The archive's 404 as a page in the visitor's language, not a JSON body."""
    language = _language(request)
    response = _page(request, "archive_missing.html", language, message=str(exc.detail))  # type: ignore[attr-defined]
    response.status_code = 404
    return response


@router.get("", response_class=HTMLResponse)
def archive_index(request: Request, session: DbSession) -> HTMLResponse:
    language = _language(request)
    settings, now = _settings(request), utcnow()
    months = archive.months(settings, session, now)
    latest = archive.month_posts(settings, session, months[0].period, now) if months else []
    return _page(
        request,
        "archive.html",
        language,
        months=[(m, m.period.label(language)) for m in months],
        latest=[
            post_view(p, language, settings.default_language, settings=settings) for p in latest
        ],
    )


@router.get("/feed.xml")
def archive_feed(request: Request, session: DbSession) -> Response:
    language = _language(request)
    settings, now = _settings(request), utcnow()
    posts = archive.recent_posts(session, now)
    views = [post_view(p, language, settings.default_language, settings=settings) for p in posts]
    with using_language(language):
        body = request.app.state.templates.get_template("web/public/archive_feed.xml").render(
            org_name=settings.org_name,
            base_url=settings.base_url,
            language=language,
            posts=views,
            updated=max((v.published_at for v in views if v.published_at), default=now),
        )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/{year:int}/{month:int}", response_class=HTMLResponse)
def archive_month(request: Request, session: DbSession, year: int, month: int) -> HTMLResponse:
    language = _language(request)
    settings, now = _settings(request), utcnow()
    try:
        period = Period.parse(f"{year}-{month}")
    except ValueError:
        raise _not_found(language) from None
    posts = archive.month_posts(settings, session, period, now)
    views = [post_view(p, language, settings.default_language, settings=settings) for p in posts]
    groups = [
        (kind_label(kind, language, plural=True), [v for v in views if v.kind == kind])
        for kind in KIND_ORDER
    ]
    campaigns = [
        (c, _subject(c, language, settings.default_language))
        for c in archive.month_campaigns(settings, session, period)
    ]
    return _page(
        request,
        "archive_month.html",
        language,
        period_label=period.label(language),
        groups=[(label, items) for label, items in groups if items],
        campaigns=campaigns,
    )


def _subject(campaign: object, language: str, default: str) -> str:
    by_language = {v.language: v.subject for v in campaign.variants}  # type: ignore[attr-defined]
    return by_language.get(language) or by_language.get(default) or campaign.name  # type: ignore[attr-defined]


def _registrants_only(post: object) -> bool:
    """An event taking registrations keeps its joining link for registrants."""
    setup = getattr(post, "event_setup", None)
    return bool(setup is not None and setup.registration_enabled)


@router.get("/posts/{public_id}.ics")
def archive_post_ics(request: Request, session: DbSession, public_id: str) -> Response:
    language = _language(request)
    settings = _settings(request)
    post = archive.public_post(session, public_id, utcnow())
    if post is None or post.event_start is None:
        raise _not_found(language)
    text = translation_for(post, language, settings.default_language)
    url = f"{settings.base_url}/archive/posts/{post.public_id}"
    return Response(
        event_calendar(
            post, text.title, text.summary, url, show_online_url=not _registrants_only(post)
        ),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{post.public_id}.ics"'},
    )


@router.get("/posts/{public_id}", response_class=HTMLResponse)
def archive_post(request: Request, session: DbSession, public_id: str) -> HTMLResponse:
    language = _language(request)
    settings = _settings(request)
    post = archive.public_post(session, public_id, utcnow())
    if post is None:
        raise _not_found(language)
    view = post_view(post, language, settings.default_language, settings=settings)
    extra: dict[str, object] = {}
    if _registrants_only(post):
        from newsletter.web.events import form_context

        extra = {"registration_form": True, "error": ""} | form_context(request, post, language, {})
    return _page(request, "archive_post.html", language, post=view, **extra)


@router.get("/campaigns/{public_id}", response_class=HTMLResponse)
def archive_campaign(request: Request, session: DbSession, public_id: str) -> HTMLResponse:
    language = _language(request)
    settings, now = _settings(request), utcnow()
    campaign = archive.public_campaign(session, public_id, now)
    if campaign is None:
        raise _not_found(language)
    by_language = {v.language: v for v in campaign.variants}
    variant = by_language.get(language) or by_language.get(settings.default_language)
    posts = archive.campaign_public_posts(campaign, now)
    return _page(
        request,
        "archive_campaign.html",
        language,
        subject=variant.subject if variant else campaign.name,
        body_html=Markup(markdown_to_safe_html(variant.body_markdown) if variant else ""),  # noqa: S704
        posts=[post_view(p, language, settings.default_language, settings=settings) for p in posts],
    )
