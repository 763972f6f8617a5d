"""Sending the press list's queued messages, each once (claim, send, record).

The claim, backoff and recording rules are those of every keyed outbox
(``newsletter.registrations.delivery``); only what a message says differs.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.content.models import Post
from newsletter.db import unit_of_work
from newsletter.delivery.mailers import Mailer, make_mailer
from newsletter.delivery.system_mail import bounce_address, sign
from newsletter.press.messages import PressMessageBuilder
from newsletter.press.models import PressMessage
from newsletter.registrations.delivery import (
    DeliveryReport,
    claim,
    due_ids,
    finish,
    reclaim_stale,
    record_result,
)
from newsletter.registrations.models import MessageStatus
from newsletter.subscribers.status import is_suppressed

log = logging.getLogger(__name__)


def deliver(
    settings: Settings,
    factory: sessionmaker[Session],
    message_ids: Sequence[int],
    clock: Callable[[], dt.datetime],
    *,
    time_budget: float = 50.0,
) -> DeliveryReport:
    report = DeliveryReport()
    builder = PressMessageBuilder(settings)
    deadline = time.monotonic() + time_budget
    mailer: Mailer | None = None
    try:
        for message_id in message_ids:
            if time.monotonic() > deadline:
                break
            with unit_of_work(factory) as session:
                claimed = claim(session, message_id, clock(), PressMessage)
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
    builder: PressMessageBuilder,
    mailer: Mailer,
    message_id: int,
    clock: Callable[[], dt.datetime],
    report: DeliveryReport,
) -> None:
    with unit_of_work(factory) as session:
        row = session.get(PressMessage, message_id)
        assert row is not None
        kind = row.key.partition(":")[0]
        post = session.get(Post, row.briefing.post_id)
        current = f"{kind}:{row.briefing.sequence}"
        reason = ""
        if post is None or not row.journalist.active:
            reason = "journalist removed or release deleted"
        elif kind == "moved" and row.key != current:
            reason = "superseded by a later change"  # only the latest embargo time goes out
        elif is_suppressed(session, row.journalist.email):
            reason = "address suppressed"
        if reason:
            finish(row, MessageStatus.SKIPPED, reason, clock())
            report.skipped += 1
            return
        assert post is not None
        data = builder.build(row.journalist, kind, post, row.briefing)
        result = mailer.send(bounce_address(settings), [row.journalist.email], sign(settings, data))
        record_result(row, result, clock(), report)
        log.info("press message %s (%s): %s %s", message_id, kind, result.outcome, result.code)


def deliver_due(
    settings: Settings, factory: sessionmaker[Session], clock: Callable[[], dt.datetime]
) -> DeliveryReport:
    with unit_of_work(factory) as session:
        reclaim_stale(session, clock(), PressMessage)
        ids = due_ids(session, clock(), model=PressMessage)
    return deliver(settings, factory, ids, clock)
