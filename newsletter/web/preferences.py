"""Preference centre and unsubscribe pages, reached through signed links in every email.

- ``GET /unsubscribe/{token}`` shows what will happen and changes nothing (link scanners).
- ``POST /unsubscribe/{token}`` with ``List-Unsubscribe=One-Click`` is RFC 8058: a mail
  client's request, no cookie, no CSRF token, answered 200 with no page to click through.
  Any other POST comes from our page and must carry the CSRF token.
- ``/preferences/{token}``: name, language, time zone, topics, the discreet and
  low-bandwidth editions; unsubscribe from everything;
  download my data (JSON); erase me. Every change is a CSRF-protected POST.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from starlette.responses import PlainTextResponse, Response

from newsletter.db import unit_of_work
from newsletter.i18n import gettext, using_language
from newsletter.links import (
    UnsubscribeScope,
    parse_preferences_token,
    parse_unsubscribe_token,
    preferences_url,
)
from newsletter.subscribers import data_rights, service
from newsletter.subscribers.inputs import (
    MAX_NAME,
    InvalidInput,
    clean_flag,
    clean_language,
    clean_list_slugs,
    clean_text,
    clean_timezone,
)
from newsletter.subscribers.models import MailingList, Subscriber
from newsletter.tokens import InvalidToken
from newsletter.web.alt_address import page_link_settings
from newsletter.web.csrf import require_csrf
from newsletter.web.journey import page_language, settings_of
from newsletter.web.pages import form_fields, limit_form_size, read_form, render

router = APIRouter(include_in_schema=False)
ONE_CLICK = "One-Click"


def _gone(request: Request) -> Response:
    language = page_language(request)
    with using_language(language):
        title = gettext("This link is not valid")
        message = gettext("It may be incomplete or no longer in use.")
    return render(
        request, "public/message.html", language, status_code=404, title=title, message=message
    )


def _scope_from(request: Request, token: str) -> UnsubscribeScope | None:
    try:
        return parse_unsubscribe_token(settings_of(request), token)
    except InvalidToken:
        return None


def _list_name(session, scope: UnsubscribeScope, language: str) -> str | None:  # type: ignore[no-untyped-def]
    """The names of the scope's lists ("Press releases, Events"); None: from everything."""
    if scope.everything:
        return None
    lists = session.scalars(
        select(MailingList).where(MailingList.id.in_(scope.list_ids)).order_by(MailingList.id)
    ).all()
    return ", ".join(item.name_in(language) for item in lists) or None


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    scope = _scope_from(request, token)
    if scope is None:
        return _gone(request)
    with request.app.state.session_factory() as session:
        try:
            subscriber = service.subscriber_by_public_id(session, scope.subscriber_public_id)
        except InvalidToken:
            return _gone(request)
        language = page_language(request, subscriber.language)
        list_name = _list_name(session, scope, language)
    return render(request, "public/unsubscribe.html", language, token=token, list_name=list_name)


@router.post("/unsubscribe/{token}")
async def unsubscribe_submit(request: Request, token: str) -> Response:
    scope = _scope_from(request, token)
    form = await read_form(request)
    one_click = form.get("List-Unsubscribe") == ONE_CLICK
    if not one_click:
        await require_csrf(request)
    if scope is None:
        return PlainTextResponse("invalid link", status_code=404) if one_click else _gone(request)
    reason = "one-click unsubscribe (RFC 8058)" if one_click else "unsubscribe page"
    with unit_of_work(request.app.state.session_factory) as session:
        subscriber = service.unsubscribe(session, scope, reason, "subscriber")
        language = page_language(request, subscriber.language if subscriber else None)
        list_name = _list_name(session, scope, language)
        public_id = subscriber.public_id if subscriber else None
    if one_click:
        return PlainTextResponse("unsubscribed")
    if public_id is None:
        return _gone(request)
    return render(
        request,
        "public/unsubscribed.html",
        language,
        list_name=list_name,
        preferences_url=preferences_url(page_link_settings(request), public_id),
    )


def _subscriber(request: Request, session, token: str) -> Subscriber:  # type: ignore[no-untyped-def]
    public_id = parse_preferences_token(settings_of(request), token)
    return service.subscriber_by_public_id(session, public_id)


def _preferences_page(
    request: Request,
    session,
    subscriber: Subscriber,
    token: str,  # type: ignore[no-untyped-def]
    *,
    status_code: int = 200,
    **extra: object,
) -> Response:
    language = page_language(request, subscriber.language)
    active = service.active_list_ids(session, subscriber)
    lists = [
        (item.slug, item.name_in(language), item.id in active)
        for item in service.public_lists(session)
    ]
    return render(
        request,
        "public/preferences.html",
        language,
        status_code=status_code,
        token=token,
        subscriber=subscriber,
        lists=lists,
        **extra,
    )


@router.get("/preferences/{token}")
def preferences_page(request: Request, token: str) -> Response:
    with request.app.state.session_factory() as session:
        try:
            subscriber = _subscriber(request, session, token)
        except InvalidToken:
            return _gone(request)
        return _preferences_page(request, session, subscriber, token)


@router.post("/preferences/{token}", dependencies=[Depends(limit_form_size), Depends(require_csrf)])
async def preferences_submit(request: Request, token: str) -> Response:
    fields = form_fields(await read_form(request))
    settings = settings_of(request)
    with unit_of_work(request.app.state.session_factory) as session:
        try:
            subscriber = _subscriber(request, session, token)
        except InvalidToken:
            return _gone(request)
        language = page_language(request, subscriber.language)
        try:
            with using_language(language):
                preferences = service.Preferences(
                    name=clean_text(fields.get("name"), "name", MAX_NAME),
                    language=clean_language(fields.get("language"), settings, language),
                    timezone=clean_timezone(fields.get("timezone")),
                    list_slugs=clean_list_slugs(fields.get("lists")),
                    discreet=clean_flag(fields.get("discreet")),
                    low_bandwidth=clean_flag(fields.get("low_bandwidth")),
                )
        except InvalidInput as invalid:
            session.rollback()
            return _preferences_page(
                request, session, subscriber, token, status_code=422, error=invalid.message
            )
        service.update_preferences(session, subscriber, preferences)
        session.flush()
        return _preferences_page(request, session, subscriber, token, saved=True)


@router.post(
    "/preferences/{token}/unsubscribe",
    dependencies=[Depends(limit_form_size), Depends(require_csrf)],
)
def preferences_unsubscribe(request: Request, token: str) -> Response:
    with unit_of_work(request.app.state.session_factory) as session:
        try:
            subscriber = _subscriber(request, session, token)
        except InvalidToken:
            return _gone(request)
        scope = UnsubscribeScope(subscriber.public_id)
        service.unsubscribe(session, scope, "preference centre", "subscriber")
        language = page_language(request, subscriber.language)
    return render(
        request,
        "public/unsubscribed.html",
        language,
        list_name=None,
        preferences_url=preferences_url(page_link_settings(request), subscriber.public_id),
    )


@router.post(
    "/preferences/{token}/export", dependencies=[Depends(limit_form_size), Depends(require_csrf)]
)
def preferences_export(request: Request, token: str) -> Response:
    with request.app.state.session_factory() as session:
        try:
            subscriber = _subscriber(request, session, token)
        except InvalidToken:
            return _gone(request)
        data = data_rights.export_data(session, subscriber)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="my-subscription-data.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/preferences/{token}/erase", dependencies=[Depends(limit_form_size), Depends(require_csrf)]
)
async def preferences_erase(request: Request, token: str) -> Response:
    form = await read_form(request)
    with unit_of_work(request.app.state.session_factory) as session:
        try:
            subscriber = _subscriber(request, session, token)
        except InvalidToken:
            return _gone(request)
        language = page_language(request, subscriber.language)
        if form.get("confirm") != "yes":
            with using_language(language):
                error = gettext("Tick the box to confirm that you want your data erased.")
            return _preferences_page(
                request, session, subscriber, token, status_code=422, error=error
            )
        data_rights.erase(session, subscriber, actor="subscriber")
    return render(request, "public/erased.html", language)
