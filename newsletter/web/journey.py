"""What the sign-up shells (hosted page, embedded form, JSON API) share.

:func:`handle_sign_up` runs the bot checks, validates, calls ``service.subscribe`` in one
transaction, and sends the decided email after the commit. It returns a
:class:`SignUpAnswer` that each shell turns into HTML or JSON. Whatever the address's
status, an accepted sign-up yields the same answer (no enumeration); bots that tripped the
honeypot or the fill time get that same answer too, and nothing is stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from fastapi import BackgroundTasks, Request
from sqlalchemy.orm import Session

from newsletter.abuse import form_guard
from newsletter.abuse.ratelimit import RateLimiter, make_rate_limiter
from newsletter.config import Settings
from newsletter.db import unit_of_work
from newsletter.i18n import negotiate_language, using_language
from newsletter.observability import metrics
from newsletter.subscribers import notifications, service
from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.inputs import InvalidInput, clean_sign_up

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignUpAnswer:
    kind: Literal["accepted", "invalid", "limited", "refused", "wait"]
    language: str
    field: str = ""
    message: str = ""
    retry_after: int = 0
    ticket: str = ""  # "wait": the no-JavaScript path's ticket, for the form sent again

    @property
    def status_code(self) -> int:
        codes = {"accepted": 200, "invalid": 422, "limited": 429, "refused": 400, "wait": 200}
        return codes[self.kind]


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def rate_limiter(request: Request) -> RateLimiter:
    """One limiter per app (its Redis pool, or the memory fallback, shared by requests)."""
    state = request.app.state
    if getattr(state, "rate_limiter", None) is None:
        state.rate_limiter = make_rate_limiter(state.settings)
    return state.rate_limiter


def client_ip(request: Request) -> str:
    """The peer address (run behind a proxy with uvicorn --proxy-headers to get the real one)."""
    return request.client.host if request.client else "unknown"


def page_language(request: Request, chosen: object = None) -> str:
    """The form's language if it is offered, else the best match of Accept-Language."""
    settings = settings_of(request)
    if isinstance(chosen, str) and chosen in settings.languages:
        return chosen
    query = request.query_params.get("lang")
    if query in settings.languages:
        return query
    return negotiate_language(
        request.headers.get("accept-language"), settings.languages, settings.default_language
    )


def _enqueue(request: Request, kind: str, subscriber_id: int) -> None:
    """Hand an email the relay did not take to the retrying Celery task."""
    state = request.app.state
    try:
        if getattr(state, "celery", None) is None:
            from workers.celery_app import make_celery

            state.celery = make_celery(state.settings)
        state.celery.send_task("newsletter.send_journey_email", args=[kind, subscriber_id])
        log.info("journey email %s for subscriber %s queued for retry", kind, subscriber_id)
    except Exception:
        log.exception(
            "journey email %s for subscriber %s: broker unreachable, NOT queued",
            kind,
            subscriber_id,
        )


def send_decided_email(request: Request, outcome: service.JourneyOutcome) -> None:
    """After the commit: send now, or queue for retry (never lost silently).

    Routes run this as a background task, after the response has gone: every answer takes
    the same time whether or not an email is sent (no enumeration by timing), and a slow
    relay never holds the person's page (the mailer gives up after ``SMTP_TIMEOUT``).
    """
    if outcome.email is None or outcome.subscriber_id is None:
        return
    session: Session = request.app.state.session_factory()
    try:
        notifications.send_or_hand_over(
            settings_of(request),
            session,
            outcome.email,
            outcome.subscriber_id,
            lambda kind, subscriber_id: _enqueue(request, kind, subscriber_id),
        )
    finally:
        session.close()


def handle_sign_up(
    request: Request,
    background: BackgroundTasks,
    fields: dict[str, object],
    *,
    source: str,
    stamp_required: bool,
) -> SignUpAnswer:
    settings = settings_of(request)
    language = page_language(request, fields.get("language"))
    limiter = rate_limiter(request)
    ip = client_ip(request)
    with using_language(language):
        check = form_guard.check_submission(
            settings,
            limiter,
            ip=ip,
            fields=fields,
            stamp_required=stamp_required,
            without_javascript=source != "api",
        )
        if check.verdict is form_guard.Verdict.DROP:
            log.info("sign-up from %s dropped: %s", source, check.why)
            return _counted(SignUpAnswer("accepted", language), "refused", "bot")
        if check.verdict is form_guard.Verdict.WAIT:
            answer = SignUpAnswer(
                "wait", language, message=check.message, retry_after=check.retry_after,
                ticket=check.ticket,
            )  # fmt: skip
            return _counted(answer, "refused", "nojs_wait")
        if check.verdict is not form_guard.Verdict.OK:
            kind: Literal["limited", "refused"] = (
                "limited" if check.verdict is form_guard.Verdict.LIMITED else "refused"
            )
            answer = SignUpAnswer(
                kind, language, message=check.message, retry_after=check.retry_after
            )
            return _counted(answer, "refused", "rate_limited" if kind == "limited" else "form")
        try:
            sign_up = clean_sign_up(
                fields, settings, source=source, ip=ip, fallback_language=language
            )
        except InvalidInput as invalid:
            answer = SignUpAnswer("invalid", language, invalid.field, invalid.message)
            return _counted(answer, "refused", f"invalid_{invalid.field}")
        check = form_guard.check_address(settings, limiter, address_hash(sign_up.email))
        if check.verdict is form_guard.Verdict.LIMITED:
            answer = SignUpAnswer(
                "limited", language, message=check.message, retry_after=check.retry_after
            )
            return _counted(answer, "refused", "address_rate_limited")
        try:
            with unit_of_work(request.app.state.session_factory) as session:
                outcome = service.subscribe(session, settings, sign_up, limiter)
        except InvalidInput as invalid:
            answer = SignUpAnswer("invalid", language, invalid.field, invalid.message)
            return _counted(answer, "refused", f"invalid_{invalid.field}")
        background.add_task(send_decided_email, request, outcome)
    return _counted(SignUpAnswer("accepted", sign_up.language), "accepted", "accepted")


def _counted(answer: SignUpAnswer, result: str, reason: str) -> SignUpAnswer:
    """Count the attempt (``newsletter_signups_total``): a fixed reason, never the input."""
    metrics.SIGNUPS.labels(result=result, reason=reason[:40]).inc()
    return answer
