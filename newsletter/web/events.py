"""Public event registration: the form on the event's page, the alert's form, the
registrant's own page (see, cancel).

Thin shells over :mod:`newsletter.registrations.service`. The same bot checks as the sign-up
form apply (``abuse.form_guard``: rate limits, honeypot, fill time, proof-of-work), and the
form works without JavaScript: the time zone is a list the person can choose from, which the
page's script merely preselects from the browser. The alert's form (a mail client cannot
carry our CSRF token) only opens the page with the fields filled in; the person confirms
there. Confirmations leave after the commit, from a background task (same timing whatever
the outcome), and the event beat sends anything the relay did not take.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import available_timezones

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from starlette.responses import Response

from newsletter.abuse import form_guard
from newsletter.content import archive
from newsletter.content.events import event_times, zone_or
from newsletter.content.models import Post
from newsletter.content.service import translation_for
from newsletter.db import unit_of_work, utcnow
from newsletter.i18n import gettext, using_language
from newsletter.registrations import service
from newsletter.registrations.delivery import deliver
from newsletter.registrations.links import parse_manage_token
from newsletter.registrations.models import (
    MessageStatus,
    Registration,
    RegistrationMessage,
    RegistrationStatus,
)
from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.inputs import (
    InvalidInput,
    clean_address,
    clean_language,
    clean_text,
    clean_timezone,
)
from newsletter.tokens import InvalidToken
from newsletter.web.csrf import require_csrf
from newsletter.web.journey import client_ip, page_language, rate_limiter, settings_of
from newsletter.web.pages import LANGUAGE_NAMES, form_fields, limit_form_size, read_form, render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
ZONES = tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")))


def form_context(request: Request, post: Post, language: str, values: dict[str, object]) -> dict:
    """What the registration form needs: bot-check fields, zones, the event in words."""
    settings = settings_of(request)
    with request.app.state.session_factory() as session:
        setup = service.find_setup(session, post.id)
        is_open = service.accepts_registrations(setup, post, utcnow())
    zone = str(values.get("timezone") or settings.org_timezone)
    return {
        "event_post_id": post.public_id,
        "registration_is_open": is_open,
        "stamp": str(values.get(form_guard.STAMP_FIELD) or form_guard.form_stamp(settings)),
        "nojs_ticket": str(values.get(form_guard.NOJS_FIELD) or ""),
        "altcha": settings.altcha_enabled,
        "honeypot": form_guard.HONEYPOT_FIELD,
        "zones": ZONES,
        "chosen_zone": zone,
        "values": values,
        "form_language": values.get("language") or language,
        "language_choices": [(c, LANGUAGE_NAMES.get(c, c)) for c in settings.languages],
    }


def _public_event(request: Request, public_id: str) -> Post | None:
    with request.app.state.session_factory() as session:
        post = archive.public_post(session, public_id, utcnow())
        return post if post is not None and post.event_start is not None else None


def _message(request: Request, language: str, title: str, message: str, status: int = 200):
    return render(
        request, "public/message.html", language, status_code=status, title=title, message=message
    )


def _form_page(
    request: Request, post: Post, language: str, values: dict, error: str = "", status: int = 200
) -> Response:
    settings = settings_of(request)
    text = translation_for(post, language, settings.default_language)
    return render(
        request,
        "public/event_register.html",
        language,
        status_code=status,
        title=text.title,
        error=error,
        **form_context(request, post, language, values),
    )


@router.post("/events/{public_id}/register/start")
async def register_start(request: Request, public_id: str) -> Response:
    """The alert's form: show the event's form filled in; nothing is stored yet."""
    fields = form_fields(await read_form(request))
    language = page_language(request, fields.get("language"))
    post = _public_event(request, public_id)
    if post is None:
        with using_language(language):
            return _message(request, language, gettext("This event is not open."), "", 404)
    values = {k: fields.get(k, "") for k in ("name", "email", "language")}
    return _form_page(request, post, language, values)


@dataclass(frozen=True)
class Answer:
    page: str  # "done", "form", "message"
    status: int = 200
    error: str = ""
    waitlisted: bool = False
    message_ids: tuple[int, ...] = ()
    ticket: str = ""  # the no-JavaScript path: the form comes back with it, to send again


def _register(request: Request, post_id: int, fields: dict[str, object], language: str) -> Answer:
    settings = settings_of(request)
    limiter = rate_limiter(request)
    with using_language(language):
        check = form_guard.check_submission(
            settings,
            limiter,
            ip=client_ip(request),
            fields=fields,
            stamp_required=True,
            without_javascript=True,
        )
        if check.verdict is form_guard.Verdict.DROP:
            log.info("event registration dropped: %s", check.why)
            return Answer("done")
        if check.verdict is form_guard.Verdict.WAIT:
            return Answer("form", 200, check.message, ticket=check.ticket)
        if check.verdict is not form_guard.Verdict.OK:
            status = 429 if check.verdict is form_guard.Verdict.LIMITED else 400
            return Answer("form", status, check.message)
        try:
            email = clean_address(fields.get("email"), settings)
            given = service.RegistrationInput(
                email=email,
                name=clean_text(fields.get("name"), "name", 200),
                language=clean_language(fields.get("language"), settings, language),
                timezone=clean_timezone(fields.get("timezone")),
            )
        except InvalidInput as invalid:
            return Answer("form", 400, invalid.message)
        check = form_guard.check_address(settings, limiter, address_hash(email))
        if check.verdict is form_guard.Verdict.LIMITED:
            return Answer("form", 429, check.message)
        try:
            with unit_of_work(request.app.state.session_factory) as session:
                post = session.get(Post, post_id)
                assert post is not None
                result = service.register(session, post, given, utcnow())
                registration = result.registration
                waitlisted = registration.status == RegistrationStatus.WAITLISTED
                ids = tuple(_queued_ids(session, [registration.id]))
        except service.RegistrationError as refused:
            return Answer("form", 409, str(refused))
    return Answer("done", waitlisted=waitlisted, message_ids=ids)


def _queued_ids(session, registration_ids: list[int]) -> list[int]:  # type: ignore[no-untyped-def]
    return list(
        session.scalars(
            select(RegistrationMessage.id).where(
                RegistrationMessage.registration_id.in_(registration_ids),
                RegistrationMessage.status == MessageStatus.QUEUED,
            )
        )
    )


def send_now(request: Request, message_ids: tuple[int, ...]) -> None:
    """After the response: send the registrant's mail; what fails stays queued for the beat."""
    if not message_ids:
        return
    try:
        deliver(settings_of(request), request.app.state.session_factory, message_ids, utcnow)
    except Exception:  # the beat sends what is still queued
        log.exception("event messages %s not sent now; the event beat will", message_ids)


@router.post(
    "/events/{public_id}/register", dependencies=[Depends(limit_form_size), Depends(require_csrf)]
)
async def register_submit(
    request: Request, public_id: str, background: BackgroundTasks
) -> Response:
    fields = form_fields(await read_form(request))
    language = page_language(request, fields.get("language"))
    post = _public_event(request, public_id)
    if post is None:
        with using_language(language):
            return _message(request, language, gettext("This event is not open."), "", 404)
    answer = await run_in_threadpool(_register, request, post.id, fields, language)
    if answer.page == "form":
        values = {k: fields.get(k, "") for k in ("name", "email", "language", "timezone")}
        if answer.ticket:
            values |= {
                form_guard.NOJS_FIELD: answer.ticket,
                form_guard.STAMP_FIELD: fields.get(form_guard.STAMP_FIELD, ""),
            }
        return _form_page(request, post, language, values, answer.error, answer.status)
    background.add_task(send_now, request, answer.message_ids)
    with using_language(language):
        if answer.waitlisted:
            title = gettext("You are on the waiting list")
            text = gettext("The event is full. If a place becomes free, we will write to you.")
        else:
            title = gettext("Thank you for registering")
            text = gettext(
                "We are sending a confirmation with the event's calendar file to your address."
            )
    return _message(request, language, title, text)


def _registration(request: Request, token: str) -> tuple[Registration, Post] | None:
    try:
        public_id = parse_manage_token(settings_of(request), token)
    except InvalidToken:
        return None
    with request.app.state.session_factory() as session:
        registration = session.scalar(
            select(Registration).where(Registration.public_id == public_id)
        )
        if registration is None:
            return None
        post = session.get(Post, registration.post_id)
        return (registration, post) if post is not None else None


@router.get("/events/registration/{token}")
def registration_page(request: Request, token: str) -> Response:
    """The registrant's page: their registration and a button to cancel it (POST)."""
    found = _registration(request, token)
    language = page_language(request)
    if found is None:
        with using_language(language):
            return _message(request, language, gettext("This link is not valid."), "", 404)
    registration, post = found
    settings = settings_of(request)
    language = page_language(request, registration.language)
    text = translation_for(post, language, settings.default_language)
    zone = zone_or(registration.timezone, settings.org_timezone)
    times = event_times(post, language, zone, settings.event_city_line)
    return render(
        request,
        "public/event_registration.html",
        language,
        title=text.title,
        when=times.when_label if times else "",
        status=str(registration.status),
        token=token,
        # Registrants only; the discreet edition's mail links here instead of to the platform.
        online_url=post.event_online_url
        if str(registration.status) == "registered" and post.event_start
        else "",
    )


@router.post(
    "/events/registration/{token}/cancel",
    dependencies=[Depends(limit_form_size), Depends(require_csrf)],
)
def registration_cancel(request: Request, token: str, background: BackgroundTasks) -> Response:
    found = _registration(request, token)
    language = page_language(request)
    if found is None:
        with using_language(language):
            return _message(request, language, gettext("This link is not valid."), "", 404)
    registration, post = found
    language = page_language(request, registration.language)
    with unit_of_work(request.app.state.session_factory) as session:
        current = session.get(Registration, registration.id)
        assert current is not None
        service.cancel_registration(session, current, utcnow())
        others = session.scalars(
            select(Registration.id).where(Registration.post_id == post.id)
        ).all()
        ids = tuple(_queued_ids(session, list(others)))
    background.add_task(send_now, request, ids)
    with using_language(language):
        return _message(
            request,
            language,
            gettext("Your registration is cancelled"),
            gettext("Thank you for letting us know. You will receive no reminders."),
        )
