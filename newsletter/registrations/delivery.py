"""Sending queued registrant messages, each exactly once.

A message is claimed by one conditional UPDATE (``queued`` -> ``sending``) committed before
it is sent: of two beats, two workers or a retried task, one claim wins and the others skip
the row. It is marked sent right after the relay accepted it. A worker killed between the
two leaves the row ``sending``; after ``STALE_CLAIM`` it is handed back, so at most the
message in flight can be repeated (invariant `claim-and-record`'s promise for campaigns).

Relay answers are classified by :mod:`newsletter.delivery.outcomes` (invariant
`one-reply-classifier`): a 4xx defers with backoff, a 5xx ends the row as failed. Suppressed
addresses are never mailed (invariant `suppressed-before-next-send`), checked just before each send.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.content.models import Post
from newsletter.db import rows_changed, unit_of_work
from newsletter.delivery.mailers import Mailer, make_mailer
from newsletter.delivery.outcomes import Outcome, SendResult
from newsletter.delivery.system_mail import bounce_address, sign
from newsletter.registrations.messages import MessageBuilder, message_kind
from newsletter.registrations.models import (
    EventNotice,
    MessageStatus,
    RegistrationMessage,
    RegistrationStatus,
)
from newsletter.registrations.reminders import reminder_still_valid
from newsletter.registrations.service import find_setup
from newsletter.subscribers.service import edition_for_address
from newsletter.subscribers.status import is_suppressed

log = logging.getLogger(__name__)
STALE_CLAIM = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 8
REGISTERED = {RegistrationStatus.REGISTERED}
BOTH = {RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED}
AUDIENCE = {
    "confirm": REGISTERED,
    "promoted": REGISTERED,
    "reminder": REGISTERED,
    "followup": REGISTERED,
    "waitlist": {RegistrationStatus.WAITLISTED},
    "update": BOTH,
    "cancel": BOTH,
}


@dataclass
class DeliveryReport:
    sent: int = 0
    skipped: int = 0
    deferred: int = 0
    failed: int = 0
    lost_claims: int = 0  # another run had claimed the row: the proof it was not sent twice


# The helpers below serve every keyed outbox of the same shape (event registrants' messages
# here, the press list's in ``newsletter.press.delivery``): id, status, due_at, attempts,
# claimed_at, sent_at, last_reply.
def due_ids(session: Session, now: dt.datetime, limit: int = 500, model: Any = None) -> list[int]:
    model = model or RegistrationMessage
    return list(
        session.scalars(
            select(model.id)
            .where(model.status == MessageStatus.QUEUED, model.due_at <= now)
            .order_by(model.due_at, model.id)
            .limit(limit)
        )
    )


def reclaim_stale(session: Session, now: dt.datetime, model: Any = None) -> int:
    """Rows left ``sending`` by a worker that died go back to the queue."""
    model = model or RegistrationMessage
    return rows_changed(
        session,
        update(model)
        .where(model.status == MessageStatus.SENDING, model.claimed_at < now - STALE_CLAIM)
        .values(status=MessageStatus.QUEUED),
    )


def claim(session: Session, message_id: int, now: dt.datetime, model: Any = None) -> bool:
    """True for exactly one caller per queued row."""
    model = model or RegistrationMessage
    claimed = rows_changed(
        session,
        update(model)
        .where(model.id == message_id, model.status == MessageStatus.QUEUED)
        .values(status=MessageStatus.SENDING, claimed_at=now, attempts=model.attempts + 1),
    )
    return claimed == 1


def record_result(row: Any, result: SendResult, now: dt.datetime, report: DeliveryReport) -> None:
    """Sent, deferred with backoff (until ``MAX_ATTEMPTS``), or failed (invariant
    `one-reply-classifier`)."""
    if result.outcome is Outcome.SENT:
        finish(row, MessageStatus.SENT, f"{result.code}", now)
        report.sent += 1
    elif result.outcome is Outcome.DEFERRED and row.attempts < MAX_ATTEMPTS:
        row.status = MessageStatus.QUEUED
        row.due_at = now + dt.timedelta(seconds=min(60 * 2**row.attempts, 3600))
        row.last_reply = f"{result.code} {result.text}"[:300]
        report.deferred += 1
    else:
        finish(row, MessageStatus.FAILED, f"{result.code} {result.text}", now)
        report.failed += 1


def _skip_reason(
    session: Session, row: RegistrationMessage, post: Post | None, now: dt.datetime
) -> str:
    kind = message_kind(row.key)
    registration = row.registration
    if post is None:
        return "event deleted"
    setup = find_setup(session, post.id)
    if registration.status not in AUDIENCE.get(kind, REGISTERED):
        return f"registration is {registration.status}"
    if setup is not None and setup.cancelled_at is not None and kind not in {"cancel", "followup"}:
        return "event cancelled"
    if kind == "reminder" and not reminder_still_valid(row.key, post, setup, now):
        return "reminder no longer matches the event"
    if is_suppressed(session, registration.email):
        return "address suppressed"
    return ""


def finish(row: Any, status: MessageStatus, reply: str, now: dt.datetime) -> None:
    row.status = status
    row.last_reply = reply[:300]
    if status is MessageStatus.SENT:
        row.sent_at = now


def deliver(
    settings: Settings,
    factory: sessionmaker[Session],
    message_ids: Sequence[int],
    clock: Callable[[], dt.datetime],
    *,
    time_budget: float = 50.0,
) -> DeliveryReport:
    """Claim and send each message; returns what became of them."""
    report = DeliveryReport()
    builder = MessageBuilder(settings)
    deadline = time.monotonic() + time_budget
    mailer: Mailer | None = None
    try:
        for message_id in message_ids:
            if time.monotonic() > deadline:
                break
            with unit_of_work(factory) as session:
                claimed = claim(session, message_id, clock())
            if not claimed:
                report.lost_claims += 1
                continue
            mailer = mailer or make_mailer(settings)
            _send_one(settings, factory, builder, mailer, message_id, clock, report)
    finally:
        if mailer is not None:
            mailer.close()
    return report


def _send_one(
    settings: Settings,
    factory: sessionmaker[Session],
    builder: MessageBuilder,
    mailer: Mailer,
    message_id: int,
    clock: Callable[[], dt.datetime],
    report: DeliveryReport,
) -> None:
    with unit_of_work(factory) as session:
        row = session.get(RegistrationMessage, message_id)
        assert row is not None
        now = clock()
        post = session.get(Post, row.registration.post_id)
        reason = _skip_reason(session, row, post, now)
        if reason:
            finish(row, MessageStatus.SKIPPED, reason, now)
            report.skipped += 1
            log.info("event message %s skipped: %s", message_id, reason)
            return
        assert post is not None
        setup = find_setup(session, post.id)
        assert setup is not None
        notice = session.get(EventNotice, row.notice_id) if row.notice_id else None
        edition = edition_for_address(session, row.registration.email)
        data = builder.build(row.registration, row.key, post, setup, notice, now, edition)
        result = mailer.send(
            bounce_address(settings), [row.registration.email], sign(settings, data)
        )
        record_result(row, result, clock(), report)
        log.info(
            "event message %s (%s): %s %s",
            message_id,
            message_kind(row.key),
            result.outcome,
            result.code,
        )


def deliver_due(
    settings: Settings, factory: sessionmaker[Session], clock: Callable[[], dt.datetime]
) -> DeliveryReport:
    """The beat's sweep: hand back stale claims, then send what is due."""
    with unit_of_work(factory) as session:
        reclaim_stale(session, clock())
        ids = due_ids(session, clock())
    return deliver(settings, factory, ids, clock)
