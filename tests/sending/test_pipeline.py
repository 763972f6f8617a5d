"""The sending pipeline in-process, on real PostgreSQL and the real SMTP test server.

Worker-process behaviour (fan-out, SIGKILL, two workers) is in test_sending_worker.py; here the
batch function itself runs in the test's process so each outcome rule is quick to check.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns import maintenance, service
from newsletter.delivery import pipeline
from newsletter.links import delivery_id_from_verp
from newsletter.models import (
    BounceEvent,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.subscribers.status import is_suppressed
from tests.conftest import make_test_settings
from tests.sending.helpers import seed_campaign


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, smtp_server):
    return make_test_settings(
        tmp_path,
        database_url=pg_url,
        smtp_url=smtp_server.url,
        send_batch_size=20,
        send_chunk_size=5,
        send_retry_base_seconds=0.2,
    )


def start(factory: sessionmaker[Session], settings, count: int) -> tuple[int, service.Batches]:
    with factory() as session, session.begin():
        seeded = seed_campaign(session, count)
    with factory() as session, session.begin():
        batches = service.start_campaign(session, seeded.campaign_id, settings=settings)
    return seeded.campaign_id, batches


def run_batches(factory, settings, batches: service.Batches) -> list[pipeline.BatchReport]:
    return [
        pipeline.send_batch(factory, settings, batches.campaign_id, first, last)
        for first, last in batches.ranges
    ]


def statuses(factory, campaign_id: int) -> Counter:
    with factory() as session:
        rows = session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.campaign_id == campaign_id)
            .group_by(Delivery.status)
        ).all()
    return Counter({str(status): count for status, count in rows})


def test_each_batch_sends_its_recipients_once_over_one_connection(
    committed_db, settings, smtp_server
) -> None:
    campaign_id, batches = start(committed_db, settings, 50)
    assert len(batches.ranges) == 3
    reports = run_batches(committed_db, settings, batches)
    assert sum(report.sent for report in reports) == 50
    received = smtp_server.wait_for(50)
    rcpts = [message.rcpt_tos[0] for message in received]
    assert len(rcpts) == len(set(rcpts)) == 50
    assert smtp_server.connections == 3  # one SMTP connection per batch
    with committed_db() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign.status is CampaignStatus.SENT and campaign.finished_at is not None
        assert service.progress(session, campaign_id)["sent"] == 50
        delivery = session.scalar(
            select(Delivery).where(Delivery.campaign_id == campaign_id).limit(1)
        )
        assert delivery.message_id and delivery.sent_at and delivery.last_reply_code == 250
    for message in received:  # the envelope sender is the delivery's VERP address
        assert delivery_id_from_verp(settings, message.mail_from) is not None


def test_a_4xx_is_deferred_with_backoff_then_sent_by_the_sweep(
    committed_db, settings, smtp_server
) -> None:
    campaign_id, batches = start(committed_db, settings, 10)
    smtp_server.fail_next(3, "451 4.3.0 try again later")
    before = dt.datetime.now(dt.UTC)
    run_batches(committed_db, settings, batches)
    assert statuses(committed_db, campaign_id) == Counter({"sent": 7, "deferred": 3})
    with committed_db() as session:
        assert service.progress(session, campaign_id)["deferred"] == 3
        retry_at = session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(Delivery.campaign_id == campaign_id)
        )
        assert retry_at >= before + dt.timedelta(seconds=0.2)  # the base backoff
        assert session.get(Campaign, campaign_id).status is CampaignStatus.SENDING
    time.sleep(0.3)
    with committed_db() as session, session.begin():
        plan = maintenance.tick(session, settings, dt.datetime.now(dt.UTC))
    assert plan.sweeps == {campaign_id: 1}
    pipeline.sweep(committed_db, settings, campaign_id)
    assert statuses(committed_db, campaign_id) == Counter({"sent": 10})
    assert len({m.rcpt_tos[0] for m in smtp_server.messages}) == 10
    with committed_db() as session:
        assert session.get(Campaign, campaign_id).status is CampaignStatus.SENT
        assert service.progress(session, campaign_id)["deferred"] == 0


def test_a_5xx_becomes_a_bounce_and_no_such_user_suppresses_the_address(
    committed_db, settings, smtp_server
) -> None:
    campaign_id, batches = start(committed_db, settings, 6)
    smtp_server.reply_to_rcpt(
        lambda address: (
            "550 5.1.1 no such user"
            if address == "reader1@example.org"
            else ("554 5.7.1 policy rejection" if address == "reader2@example.org" else None)
        )
    )
    run_batches(committed_db, settings, batches)
    assert statuses(committed_db, campaign_id) == Counter({"sent": 4, "bounced": 2})
    with committed_db() as session:
        events = session.scalars(select(BounceEvent).order_by(BounceEvent.id)).all()
        assert [(e.source, e.status_code) for e in events] == [("smtp", "5.1.1"), ("smtp", "5.7.1")]
        assert all(e.delivery_id and e.campaign_id == campaign_id for e in events)
        assert is_suppressed(session, "reader1@example.org")
        assert not is_suppressed(session, "reader2@example.org")
        gone = session.scalar(select(Subscriber).where(Subscriber.email == "reader1@example.org"))
        assert gone.status is SubscriberStatus.BOUNCED
        assert service.progress(session, campaign_id)["bounced"] == 2


def test_who_unsubscribed_after_the_snapshot_is_skipped(
    committed_db, settings, smtp_server
) -> None:
    campaign_id, batches = start(committed_db, settings, 8)
    with committed_db() as session, session.begin():
        left = session.scalar(
            select(Subscriber.id).where(Subscriber.email == "reader3@example.org")
        )
        session.execute(
            update(Subscription)
            .where(Subscription.subscriber_id == left)
            .values(status=SubscriptionStatus.UNSUBSCRIBED)
        )
    run_batches(committed_db, settings, batches)
    assert "reader3@example.org" not in {m.rcpt_tos[0] for m in smtp_server.messages}
    assert statuses(committed_db, campaign_id) == Counter({"sent": 7, "skipped": 1})


def test_pause_stops_within_a_chunk_and_resume_finishes_without_duplicates(
    committed_db, settings, smtp_server
) -> None:
    campaign_id, batches = start(committed_db, settings, 20)

    def pause_after_six(message) -> None:
        if len(smtp_server.messages) == 5:  # this is the sixth message
            with committed_db() as session, session.begin():
                service.pause_campaign(session, campaign_id)

    smtp_server.reply_to_data(pause_after_six)
    report = run_batches(committed_db, settings, batches)[0]
    assert report.stopped == "paused" and report.sent == 10 and report.released == 10
    assert len(smtp_server.messages) == 10  # the chunk in flight finished, nothing after it
    with committed_db() as session, session.begin():
        resumed = service.resume_campaign(session, campaign_id, settings=settings)
    run_batches(committed_db, settings, resumed)
    rcpts = [m.rcpt_tos[0] for m in smtp_server.messages]
    assert len(rcpts) == len(set(rcpts)) == 20
    assert statuses(committed_db, campaign_id) == Counter({"sent": 20})


def test_cancel_skips_everything_not_yet_sent(committed_db, settings, smtp_server) -> None:
    campaign_id, batches = start(committed_db, settings, 20)

    def cancel_at_third(message) -> None:
        if len(smtp_server.messages) == 2:
            with committed_db() as session, session.begin():
                service.cancel_campaign(session, campaign_id)

    smtp_server.reply_to_data(cancel_at_third)
    run_batches(committed_db, settings, batches)
    assert len(smtp_server.messages) == 5
    assert statuses(committed_db, campaign_id) == Counter({"sent": 5, "skipped": 15})
    with committed_db() as session:
        assert session.get(Campaign, campaign_id).status is CampaignStatus.CANCELLED
        assert service.progress(session, campaign_id)["skipped"] == 15


def test_a_high_error_rate_pauses_the_campaign(committed_db, tmp_path, pg_url, smtp_server) -> None:
    settings = make_test_settings(
        tmp_path,
        database_url=pg_url,
        smtp_url=smtp_server.url,
        send_batch_size=100,
        send_chunk_size=10,
        send_auto_pause_min_attempts=20,
        send_auto_pause_error_rate=0.5,
    )
    campaign_id, batches = start(committed_db, settings, 60)
    smtp_server.reply_to_data("554 5.7.1 rejected as spam")
    report = run_batches(committed_db, settings, batches)[0]
    assert report.stopped == "paused" and report.failed == 20 and report.released == 40
    with committed_db() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign.status is CampaignStatus.PAUSED
        assert campaign.status_reason.startswith("auto-paused: error rate 100%")


def test_claims_of_a_dead_worker_are_taken_back_by_the_tick(committed_db, settings) -> None:
    campaign_id, _ = start(committed_db, settings, 5)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with committed_db() as session, session.begin():
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign_id)
            .values(status=DeliveryStatus.SENDING, claimed_at=long_ago, claimed_by="dead:1")
        )
    with committed_db() as session, session.begin():
        plan = maintenance.tick(session, settings, dt.datetime.now(dt.UTC))
    assert plan.reclaimed == {campaign_id: 5} and plan.sweeps == {campaign_id: 1}
    assert statuses(committed_db, campaign_id) == Counter({"queued": 5})


def test_a_range_longer_than_this_workers_batch_is_sent_whole(committed_db, settings) -> None:
    """Ranges cut with a bigger SEND_BATCH_SIZE (the web process resuming) are not cut short."""
    campaign_id, batches = start(
        committed_db, settings.model_copy(update={"send_batch_size": 50}), 30
    )
    [(first, last)] = batches.ranges  # one range of 30 for a worker whose batches are 20
    report = pipeline.send_range(committed_db, settings, campaign_id, first, last)
    assert report.claimed == 30 and report.sent == 30
    assert statuses(committed_db, campaign_id) == Counter({"sent": 30})
