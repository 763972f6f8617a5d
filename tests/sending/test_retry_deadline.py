"""A delivery deferred until its retry deadline is a bounce, counted by the bounce policy.

Real PostgreSQL, the real pipeline and the real SMTP test server. The test moves the service's
clock past the first retry instead of sleeping, so the second attempt is the last one however
long the first took (a loaded machine used to miss a one-second deadline).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter import clock
from newsletter.bounces.models import BounceEvent, BounceKind, StaffWarning
from newsletter.campaigns import service
from newsletter.delivery import pipeline
from newsletter.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Subscriber
from tests.conftest import make_test_settings
from tests.sending.helpers import seed_campaign
from tests.sending.outages import free_port

pytestmark = pytest.mark.date_sensitive


def _settings(tmp_path: Path, pg_url: str, smtp_url: str):
    return make_test_settings(
        tmp_path,
        database_url=pg_url,
        smtp_url=smtp_url,
        # Attempt 1 retries at +600 s (within the deadline), attempt 2 would at +1200 s (past it).
        send_retry_base_seconds=600,
        send_retry_deadline_seconds=1000,
    )


def _send_until_the_deadline(factory, settings, count: int) -> int:
    with factory() as session, session.begin():
        campaign_id = seed_campaign(session, count).campaign_id
    with factory() as session, session.begin():
        batches = service.start_campaign(session, campaign_id, settings=settings)
    for first, last in batches.ranges:
        pipeline.send_batch(factory, settings, campaign_id, first, last)
    with factory() as session:
        assert service.progress(session, campaign_id)["deferred"] >= 1
    clock.set_offset(clock.offset() + 605)  # the retry is due; the next would pass the deadline
    pipeline.sweep(factory, settings, campaign_id, max_seconds=10)
    return campaign_id


def _delivery_of(session, address: str) -> Delivery:
    return session.scalar(
        select(Delivery)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Subscriber.email == address)
    )


def test_a_mailbox_full_until_the_deadline_becomes_a_soft_bounce_the_policy_counts(
    tmp_path, pg_url, committed_db, smtp_server
) -> None:
    settings = _settings(tmp_path, pg_url, smtp_server.url)
    full = "reader1@example.org"
    smtp_server.reply_to_rcpt(lambda a: "452 4.2.2 mailbox full" if a == full else None)
    campaign_id = _send_until_the_deadline(committed_db, settings, 3)

    with committed_db() as session:
        delivery = _delivery_of(session, full)
        assert delivery.status is DeliveryStatus.BOUNCED and delivery.attempts == 2
        assert delivery.last_reply == "retry deadline passed; last reply: 452 4.2.2 mailbox full"
        [event] = session.scalars(select(BounceEvent)).all()
        assert (event.source, event.source_event_id) == ("smtp", f"{delivery.id}:expired")
        assert (event.kind, event.status_code) == (BounceKind.SOFT, "4.2.2")
        assert event.delivery_id == delivery.id and event.campaign_id == campaign_id
        person = session.get(Subscriber, delivery.subscriber_id)
        assert person.bounce_score == pytest.approx(settings.bounce_soft_weight)  # counted
        assert service.progress(session, campaign_id) == {
            "total": 3, "queued": 0, "sent": 2, "deferred": 0, "failed": 0,
            "bounced": 1, "skipped": 0,
        }  # fmt: skip
        assert session.get(Campaign, campaign_id).status is CampaignStatus.SENT


def test_our_relay_down_until_the_deadline_warns_staff_and_spares_the_subscribers(
    tmp_path, pg_url, committed_db
) -> None:
    unreachable = f"smtp://127.0.0.1:{free_port()}?timeout=2"  # nothing listens there
    settings = _settings(tmp_path, pg_url, unreachable)
    campaign_id = _send_until_the_deadline(committed_db, settings, 2)

    with committed_db() as session:
        events = session.scalars(select(BounceEvent)).all()
        assert {event.kind for event in events} == {BounceKind.SENDER_PROBLEM}
        assert len(events) == 2 and {e.status_code for e in events} == {"4.4.7"}
        assert all(
            person.bounce_score in (None, 0) for person in session.scalars(select(Subscriber))
        )
        [warning] = session.scalars(select(StaffWarning)).all()
        assert warning.campaign_id == campaign_id and warning.occurrences == 2
        assert service.progress(session, campaign_id)["bounced"] == 2
