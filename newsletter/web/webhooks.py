"""Provider webhooks: thin shells over ``newsletter.bounces.providers``.

Each route authenticates the request as its provider documents, records the events in one
transaction and answers 200 (providers retry anything else; replays are harmless because
each event id is recorded once). 401/403: not authentic; 400: unreadable; 404: provider not
configured; 413: too large. Log lines carry the provider and the reason, never an address.
The work (database, SNS certificate fetch) runs in the thread pool, off the event loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from newsletter.bounces.providers import (
    ProviderEvent,
    WebhookRejected,
    apply_events,
    mailgun,
    postmark,
    sendgrid,
    ses,
)
from newsletter.config import Settings
from newsletter.db import unit_of_work
from newsletter.observability import metrics

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", tags=["webhooks"])
MAX_BODY = 5 * 1024 * 1024
Parse = Callable[[FastAPI, Settings, Headers, bytes], list[ProviderEvent] | JSONResponse]


def _ses(app: FastAPI, settings: Settings, headers: Headers, body: bytes) -> list | JSONResponse:
    if not settings.ses_sns_topic_arns:
        raise WebhookRejected("SES webhook is not configured (SES_SNS_TOPIC_ARNS)", 404)
    fetch = getattr(app.state, "sns_fetch", None) or ses.https_fetch  # tests inject a fetcher
    message = ses.parse_envelope(body, settings, fetch)
    if message.get("Type") == "SubscriptionConfirmation":
        ses.confirm_subscription(message, fetch)
        log.info("webhook ses: subscription to an allowed topic confirmed")
        return JSONResponse({"confirmed": True})
    if message.get("Type") != "Notification":
        return JSONResponse({"ignored": str(message.get("Type"))})
    return ses.events_from(settings, ses.notification_of(message))


def _postmark(app: FastAPI, settings: Settings, headers: Headers, body: bytes) -> list:
    postmark.check_basic_auth(settings, headers.get("authorization"))
    return postmark.events_from(settings, body)


def _sendgrid(app: FastAPI, settings: Settings, headers: Headers, body: bytes) -> list:
    signature = headers.get(sendgrid.SIGNATURE_HEADER)
    sendgrid.verify(settings, body, signature, headers.get(sendgrid.TIMESTAMP_HEADER))
    return sendgrid.events_from(settings, body)


def _mailgun(app: FastAPI, settings: Settings, headers: Headers, body: bytes) -> list:
    return mailgun.events_from(settings, body)


def _handle(
    provider: str, parse: Parse, app: FastAPI, headers: Headers, body: bytes
) -> JSONResponse:
    settings: Settings = app.state.settings
    try:
        if len(body) > MAX_BODY:
            raise WebhookRejected("body too large", 413)
        events = parse(app, settings, headers, body)
    except WebhookRejected as exc:
        log.warning("webhook %s refused (%d): %s", provider, exc.status_code, exc)
        metrics.WEBHOOK_EVENTS.labels(provider=provider, result=f"refused_{exc.status_code}").inc()
        return JSONResponse({"error": str(exc)}, status_code=exc.status_code)
    if isinstance(events, JSONResponse):
        return events
    with unit_of_work(app.state.session_factory) as session:
        recorded = apply_events(session, settings, events)
    log.info("webhook %s: %d event(s), %d new", provider, len(events), recorded)
    metrics.WEBHOOK_EVENTS.labels(provider=provider, result="recorded").inc(recorded)
    metrics.WEBHOOK_EVENTS.labels(provider=provider, result="replayed").inc(len(events) - recorded)
    return JSONResponse({"received": len(events), "recorded": recorded})


def _route(provider: str, parse: Parse) -> None:
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        return await run_in_threadpool(_handle, provider, parse, request.app, request.headers, body)

    webhook.__name__ = f"{provider}_webhook"
    router.add_api_route(f"/{provider}", webhook, methods=["POST"], name=f"webhook_{provider}")


for _provider, _parse in {
    "ses": _ses, "postmark": _postmark, "sendgrid": _sendgrid, "mailgun": _mailgun,
}.items():  # fmt: skip
    _route(_provider, _parse)
