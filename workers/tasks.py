"""Celery tasks: each one opens a unit of work, calls one ``newsletter`` function, returns.

Arguments are ids and plain values (JSON); the state lives in the database (invariant
`commit-then-enqueue`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging

from celery import shared_task
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

import newsletter.models  # noqa: F401 - every mapper configured before the first query
from newsletter.campaigns import maintenance, service
from newsletter.config import get_settings
from newsletter.db import make_engine, make_session_factory, unit_of_work, utcnow
from newsletter.delivery import pipeline
from newsletter.delivery.test_send import send_test_message
from newsletter.observability import heartbeats

log = logging.getLogger(__name__)


@functools.cache
def session_factory() -> sessionmaker[Session]:
    """One engine per worker process, created lazily (after the prefork fork)."""
    return make_session_factory(make_engine(get_settings().database_url))


@shared_task(name="newsletter.tick")
def tick() -> list[int]:
    """Once a minute: start due campaigns, reclaim dead workers' claims, sweep due retries."""
    with unit_of_work(session_factory()) as session:
        plan = maintenance.tick(session, get_settings(), utcnow())
        heartbeats.beat(session, heartbeats.BEAT, {"due": len(plan.due)})
    for campaign_id in plan.due:
        start_campaign.delay(campaign_id)
    for campaign_id, count in plan.sweeps.items():
        for _ in range(count):
            send_sweep.delay(campaign_id)
    log.info("tick: %d campaign(s) due, %d with work to sweep", len(plan.due), len(plan.sweeps))
    return plan.due


@shared_task(name="newsletter.send_test")
def send_test(address: str, language: str | None = None) -> dict[str, object]:
    """Send the test message through the configured transport and report the outcome."""
    result = send_test_message(get_settings(), address, language)
    return {"outcome": str(result.outcome), "code": result.code}


# ---- Sending engine ----------------------------------------------------------------
# A database that does not answer (a PostgreSQL restart) fails a task before it sent anything or
# after it recorded what it sent (`pipeline` retries the recording itself): trying the task
# again a little later is safe, and quicker than waiting for the tick's sweep.
DB_RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
}


def enqueue_batches(batches: service.Batches) -> None:
    """Fan out, one task per id range; call only after the snapshot committed (invariant
    `commit-then-enqueue`)."""
    for first_id, last_id in batches.ranges:
        send_batch.delay(batches.campaign_id, first_id, last_id)


@shared_task(name="newsletter.start_campaign", **DB_RETRY)
def start_campaign(campaign_id: int) -> int:
    """Snapshot the recipients, commit, then enqueue the batches; returns how many."""
    with unit_of_work(session_factory()) as session:
        batches = service.start_campaign(session, campaign_id)
    enqueue_batches(batches)
    return len(batches.ranges)


@shared_task(name="newsletter.send_batch", **DB_RETRY)
def send_batch(campaign_id: int, first_id: int, last_id: int) -> dict[str, object]:
    """Claim and send one batch of a campaign (routed to the ``send`` queue)."""
    report = pipeline.send_range(session_factory(), get_settings(), campaign_id, first_id, last_id)
    return dataclasses.asdict(report)


@shared_task(name="newsletter.send_sweep", **DB_RETRY)
def send_sweep(campaign_id: int) -> dict[str, object]:
    """Send what is due in a campaign (retries, reclaimed rows), for up to a minute."""
    report = pipeline.sweep(session_factory(), get_settings(), campaign_id)
    return dataclasses.asdict(report)


# ---- Bounces and complaints ----


@shared_task(name="newsletter.process_inbound")
def process_inbound(inbound_id: int) -> str:
    """Parse one stored inbound message (DSN, complaint, mailto unsubscribe) and apply it."""
    from newsletter.bounces.processing import process_stored

    with unit_of_work(session_factory()) as session:
        return process_stored(session, get_settings(), inbound_id)


@shared_task(name="newsletter.sweep_inbound")
def sweep_inbound() -> int:
    """Every few minutes: process stored messages whose task was lost (e.g. Redis restarted)."""
    from newsletter.bounces.inbox import pending_ids
    from newsletter.bounces.processing import process_stored

    grace = utcnow() - dt.timedelta(minutes=2)  # younger ones still have their own task
    with unit_of_work(session_factory()) as session:
        ids = pending_ids(session, received_before=grace)
    for inbound_id in ids:
        with unit_of_work(session_factory()) as session:
            process_stored(session, get_settings(), inbound_id)
    return len(ids)


@shared_task(name="newsletter.poll_bounce_mailbox")
def poll_bounce_mailbox() -> int:
    """Fetch new messages from the IMAP bounce mailbox (IMAP_URL); each is processed once."""
    from newsletter.bounces.mailbox import poll_mailbox

    return poll_mailbox(get_settings(), session_factory(), process_inbound.delay)


# ---- Subscriber journey -------------------------------------------------------------
@shared_task(name="newsletter.send_journey_email", bind=True, max_retries=10)
def send_journey_email(self, kind: str, subscriber_id: int) -> str:  # type: ignore[no-untyped-def]
    """A confirm/welcome/already email the web process could not hand to the relay: retry it."""
    from newsletter.delivery.outcomes import Outcome
    from newsletter.subscribers.notifications import send_journey_email as send

    with unit_of_work(session_factory()) as session:
        result = send(get_settings(), session, kind, subscriber_id)  # type: ignore[arg-type]
    if result is not None and result.outcome is Outcome.DEFERRED:
        raise self.retry(countdown=min(30 * 2**self.request.retries, 1800))
    return "dropped" if result is None else str(result.outcome)


@shared_task(name="newsletter.purge_pending")
def purge_pending() -> int:
    """Delete sign-ups never confirmed within PENDING_EXPIRY_DAYS (hourly beat entry)."""
    from newsletter.subscribers.data_rights import purge_expired_pending

    with unit_of_work(session_factory()) as session:
        return purge_expired_pending(session, get_settings())


# ---- Staff console ----


@shared_task(name="newsletter.staff_password_reset")
def staff_password_reset(staff_user_id: int, language: str) -> bool:
    """Mail a password-reset link to a staff account (enqueued by the reset page)."""
    from newsletter.staff.reset import send_reset_email

    with unit_of_work(session_factory()) as session:
        return send_reset_email(session, get_settings(), staff_user_id, language)


@shared_task(name="newsletter.import_subscribers")
def import_subscribers(job_id: int) -> None:
    """Run a CSV import (streamed, batched; progress committed after every batch)."""
    from newsletter.imports.csv_import import run_import

    run_import(session_factory(), get_settings(), job_id)


# ---- Reports and retention ----


@shared_task(name="newsletter.refresh_summaries")
def refresh_summaries() -> float:
    """Recompute the dashboard's and lists page's figures; returns how long it took."""
    from newsletter.staff.summaries import refresh

    with unit_of_work(session_factory()) as session:
        return refresh(session, get_settings()).seconds


@shared_task(name="newsletter.fold_deliveries")
def fold_deliveries() -> int:
    """Fold final delivery rows older than DELIVERY_RETENTION_DAYS (hourly; off when unset)."""
    from newsletter.campaigns.retention import fold_all

    days = get_settings().delivery_retention_days
    return fold_all(session_factory(), days) if days else 0
