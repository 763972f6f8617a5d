"""Public sign-up pages: ``/subscribe`` (hosted, and the embedded form's target) and confirm.

Thin shells over ``journey.handle_sign_up`` and ``service.confirm``. Everything works
without JavaScript; the only script (``signup.js``: form stamp and ALTCHA solver) is served
from ``/static``.

- ``POST /subscribe``: the hosted form, CSRF-protected.
- ``POST /subscribe/embed``: the copy-paste snippet on the coalition's website. It cannot
  carry our CSRF token (another origin), so it is accepted only when the browser's
  ``Origin`` is one of ``SUBSCRIBE_CORS_ORIGINS``; signing someone up is no more harmful
  from a forged request than from a direct one, and the double opt-in protects the address.
- ``GET /confirm/{token}`` shows a button; ``POST`` confirms (link scanners only GET).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from newsletter.abuse import form_guard
from newsletter.db import unit_of_work
from newsletter.i18n import gettext, using_language
from newsletter.links import preferences_url
from newsletter.subscribers import service
from newsletter.tokens import ExpiredToken, InvalidToken
from newsletter.web.alt_address import page_link_settings
from newsletter.web.csrf import require_csrf
from newsletter.web.journey import (
    SignUpAnswer,
    handle_sign_up,
    page_language,
    send_decided_email,
    settings_of,
)
from newsletter.web.pages import form_fields, limit_form_size, read_form, render

router = APIRouter(include_in_schema=False)


def _form_context(request: Request, language: str) -> dict[str, Any]:
    settings = settings_of(request)
    with request.app.state.session_factory() as session:
        offered = service.public_lists(session)
        lists = [(item.slug, item.name_in(language)) for item in offered]
        descriptions = {item.slug: item.description_in(language) for item in offered}
    return {
        "lists": lists,
        "list_descriptions": descriptions,
        "stamp": form_guard.form_stamp(settings),
        "consent_version": settings.consent_text_version,
        "altcha": settings.altcha_enabled,
        "honeypot": form_guard.HONEYPOT_FIELD,
    }


@router.get("/subscribe")
def subscribe_page(request: Request) -> Response:
    language = page_language(request)
    context = _form_context(request, language)
    return render(
        request, "public/subscribe.html", language, values={}, error="", error_field="",
        wait_message="", nojs_ticket="", **context,
    )  # fmt: skip


def _answer_page(request: Request, answer: SignUpAnswer, fields: dict[str, object]) -> Response:
    if answer.kind == "accepted":
        return render(request, "public/subscribe_done.html", answer.language)
    context = _form_context(request, answer.language)
    if answer.kind == "wait":  # no JavaScript: the same form, filled in, to send again
        context["stamp"] = fields.get(form_guard.STAMP_FIELD) or context["stamp"]
    response = render(
        request,
        "public/subscribe.html",
        answer.language,
        status_code=answer.status_code,
        error="" if answer.kind == "wait" else answer.message,
        error_field=answer.field,
        values=fields,
        wait_message=answer.message if answer.kind == "wait" else "",
        nojs_ticket=answer.ticket,
        **context,
    )
    if answer.retry_after and answer.kind != "wait":
        response.headers["Retry-After"] = str(answer.retry_after)
    return response


@router.post("/subscribe", dependencies=[Depends(limit_form_size), Depends(require_csrf)])
async def subscribe_submit(request: Request, background: BackgroundTasks) -> Response:
    fields = form_fields(await read_form(request))
    answer = await run_in_threadpool(
        handle_sign_up, request, background, fields, source="hosted form", stamp_required=True
    )
    return _answer_page(request, answer, fields)


@router.post("/subscribe/embed")
async def subscribe_embed(request: Request, background: BackgroundTasks) -> Response:
    settings = settings_of(request)
    origin = request.headers.get("origin", "")
    if origin.rstrip("/") not in settings.subscribe_cors_origins:
        language = page_language(request)
        with using_language(language):
            message = gettext("This form may only be used from the coalition's own website.")
        return render(
            request, "public/message.html", language, status_code=403, title=message, message=""
        )
    fields = form_fields(await read_form(request))
    answer = await run_in_threadpool(
        handle_sign_up,
        request,
        background,
        fields,
        source="embedded form",
        stamp_required=settings.altcha_enabled,
    )
    return _answer_page(request, answer, fields)


@router.get("/subscribe/embed.html")
def embed_snippet(request: Request) -> Response:
    """The copy-paste HTML snippet for the coalition's website, filled in for this install.

    ``?lang=fr`` gives the French form. Served as text so staff can copy it as is.
    """
    settings = settings_of(request)
    language = page_language(request)
    context = _form_context(request, language)
    response = render(
        request, "public/embed_snippet.html", language, base_url=settings.base_url, **context
    )
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    return response


def _invalid_link(request: Request, error: InvalidToken) -> Response:
    language = page_language(request)
    with using_language(language):
        if isinstance(error, ExpiredToken):
            title = gettext("This confirmation link has expired")
            message = gettext("Please sign up again: we will send you a new link.")
        else:
            title = gettext("This link is not valid")
            message = gettext("It may be incomplete or no longer in use. Please sign up again.")
    return render(
        request,
        "public/message.html",
        language,
        status_code=404 if not isinstance(error, ExpiredToken) else 410,
        title=title,
        message=message,
        subscribe_link=True,
    )


@router.get("/confirm/{token}")
def confirm_page(request: Request, token: str) -> Response:
    """Shows a button only: GET never confirms (mail scanners open every link)."""
    settings = settings_of(request)
    try:
        with request.app.state.session_factory() as session:
            subscriber = service.subscriber_for_confirm(session, settings, token)
            language = subscriber.language
    except InvalidToken as error:
        return _invalid_link(request, error)
    return render(request, "public/confirm.html", page_language(request, language), token=token)


@router.post("/confirm/{token}", dependencies=[Depends(limit_form_size), Depends(require_csrf)])
def confirm_submit(request: Request, token: str, background: BackgroundTasks) -> Response:
    settings = settings_of(request)
    try:
        with unit_of_work(request.app.state.session_factory) as session:
            outcome = service.confirm(session, settings, token)
            subscriber = service.subscriber_for_confirm(session, settings, token)
            language, public_id = subscriber.language, subscriber.public_id
    except InvalidToken as error:
        return _invalid_link(request, error)
    background.add_task(send_decided_email, request, outcome)
    return render(
        request,
        "public/confirmed.html",
        page_language(request, language),
        preferences_url=preferences_url(page_link_settings(request), public_id),
    )
