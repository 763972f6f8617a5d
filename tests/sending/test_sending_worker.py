"""The sending engine through real Celery worker processes, Redis, PostgreSQL and SMTP."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import select

from newsletter.campaigns import service
from newsletter.links import UnsubscribeScope, delivery_id_from_verp, parse_unsubscribe_token
from newsletter.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Subscriber,
)
from newsletter.subscribers.service import unsubscribe
from tests.sending.helpers import seed_campaign

pytestmark = pytest.mark.slow


def wait_until(condition, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def campaign_status(factory, campaign_id: int) -> CampaignStatus:
    with factory() as session:
        return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))


def test_a_2000_recipient_bilingual_campaign_arrives_complete_once_each(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(workers=1)
    with committed_db() as session, session.begin():
        seeded = seed_campaign(session, 2000)
        people = {
            row.email: row
            for row in session.execute(
                select(Subscriber.email, Subscriber.public_id, Subscriber.id)
            )
        }
    leaver = seeded.addresses[-1]

    def unsubscribe_the_last_reader_early(message) -> None:
        if len(smtp_server.messages) == 100:  # mid-campaign: the 101st message is arriving
            scope = UnsubscribeScope.of(people[leaver].public_id, seeded.list_ids[:1])
            with committed_db() as session, session.begin():
                unsubscribe(session, scope, "one-click link", "subscriber")

    smtp_server.reply_to_data(unsubscribe_the_last_reader_early)
    started = time.monotonic()
    fleet.app.send_task("newsletter.start_campaign", args=[seeded.campaign_id])
    received = smtp_server.wait_for(1999, timeout=90)
    wait_until(lambda: campaign_status(committed_db, seeded.campaign_id) is CampaignStatus.SENT,
               15, "the campaign to be marked sent")  # fmt: skip
    print(f"\n2000-recipient campaign delivered in {time.monotonic() - started:.1f} s")

    rcpts = Counter(message.rcpt_tos[0] for message in received)
    assert len(received) == 1999 and max(rcpts.values()) == 1
    assert set(rcpts) == set(seeded.addresses) - {leaver}
    with committed_db() as session:
        deliveries = {
            row.subscriber_id: row
            for row in session.execute(
                select(Delivery.id, Delivery.subscriber_id, Delivery.language, Delivery.status)
            )
        }
        assert service.progress(session, seeded.campaign_id) == {
            "total": 2000, "queued": 0, "sent": 1999, "deferred": 0, "failed": 0,
            "bounced": 0, "skipped": 1,
        }  # fmt: skip
    assert deliveries[people[leaver].id].status is DeliveryStatus.SKIPPED
    languages = Counter()
    for message in received:
        parsed = message.message  # parsed by the SMTP test server (email.policy.default)
        person = people[message.rcpt_tos[0]]
        delivery = deliveries[person.id]
        assert not parsed.defects and parsed.get_content_type() == "multipart/alternative"
        text, html = parsed.iter_parts()
        assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
        assert delivery_id_from_verp(fleet.settings, message.mail_from) == delivery.id
        https = str(parsed["List-Unsubscribe"]).split(",")[0].strip().strip("<>")
        token = https.rsplit("/", 1)[1]
        assert (
            parse_unsubscribe_token(fleet.settings, token).subscriber_public_id == person.public_id
        )
        assert https in text.get_content() and https in html.get_content()
        assert str(parsed["To"]).endswith(f"<{message.rcpt_tos[0]}>")
        for name in ("From", "Subject", "Date", "Message-ID", "List-Id", "Feedback-ID"):
            assert parsed[name], name
        expected = "Nouvelles de la coalition" if delivery.language == "fr" else "Coalition update"
        assert str(parsed["Subject"]).startswith(expected)
        languages[delivery.language] += 1
    assert languages == {"en": 1000, "fr": 999}


def test_pause_resume_and_cancel_take_effect_across_workers_within_seconds(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(workers=2, send_batch_size=50, send_chunk_size=5)
    with committed_db() as session, session.begin():
        seeded = seed_campaign(session, 400)
    smtp_server.stall(0.01)  # ~100 messages/s per worker: slow enough to act mid-campaign
    fleet.app.send_task("newsletter.start_campaign", args=[seeded.campaign_id])
    smtp_server.wait_for(60, timeout=30)
    with committed_db() as session, session.begin():
        assert service.pause_campaign(session, seeded.campaign_id)
    at_pause = len(smtp_server.messages)
    time.sleep(1.5)
    after_pause = len(smtp_server.messages)
    time.sleep(1.0)
    assert len(smtp_server.messages) == after_pause  # nothing leaves once the pause is seen
    assert after_pause - at_pause <= 2 * 5 + 2  # at most the chunk in flight on each worker
    assert after_pause < 400

    with committed_db() as session, session.begin():  # as the console and the API resume
        resumed = service.resume_campaign(session, seeded.campaign_id, settings=fleet.settings)
    for first, last in resumed.ranges:
        fleet.app.send_task("newsletter.send_batch", args=[seeded.campaign_id, first, last])
    smtp_server.wait_for(after_pause + 60, timeout=30)
    with committed_db() as session, session.begin():
        service.cancel_campaign(session, seeded.campaign_id)
    at_cancel = len(smtp_server.messages)
    time.sleep(1.5)
    final = len(smtp_server.messages)
    assert final - at_cancel <= 2 * 5 + 2 and final < 400
    rcpts = Counter(message.rcpt_tos[0] for message in smtp_server.messages)
    assert max(rcpts.values()) == 1
    with committed_db() as session:
        assert campaign_status(committed_db, seeded.campaign_id) is CampaignStatus.CANCELLED
        counts = service.progress(session, seeded.campaign_id)
    wait_until(lambda: _in_flight(committed_db, seeded.campaign_id) == 0, 10, "claims released")
    with committed_db() as session:
        counts = service.progress(session, seeded.campaign_id)
    assert counts["sent"] == final and counts["sent"] + counts["skipped"] == 400


def _in_flight(factory, campaign_id: int) -> int:
    with factory() as session:
        return len(
            session.scalars(
                select(Delivery.id).where(
                    Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.SENDING
                )
            ).all()
        )


def test_a_worker_killed_mid_batch_loses_nobody_and_duplicates_at_most_its_chunk(
    fleet_factory, committed_db, smtp_server
) -> None:
    chunk = 10
    fleet = fleet_factory(
        workers=1, send_batch_size=100, send_chunk_size=chunk, send_claim_timeout_seconds=1
    )
    with committed_db() as session, session.begin():
        seeded = seed_campaign(session, 300)
    smtp_server.stall(0.005)
    fleet.app.send_task("newsletter.start_campaign", args=[seeded.campaign_id])
    smtp_server.wait_for(87, timeout=30)
    os.kill(fleet.processes[0].pid, signal.SIGKILL)
    fleet.processes[0].wait(timeout=10)
    assert len(smtp_server.messages) < 300
    time.sleep(1.2)  # the dead worker's claims are now older than the claim timeout
    fleet.start()
    fleet.wait_ready(1)
    fleet.app.send_task("newsletter.tick").get(timeout=30)
    wait_until(lambda: len({m.rcpt_tos[0] for m in smtp_server.messages}) == 300, 60,
               "every recipient to be reached")  # fmt: skip
    wait_until(lambda: campaign_status(committed_db, seeded.campaign_id) is CampaignStatus.SENT,
               15, "the campaign to be marked sent")  # fmt: skip
    rcpts = Counter(message.rcpt_tos[0] for message in smtp_server.messages)
    duplicates = sum(count - 1 for count in rcpts.values())
    print(f"\nSIGKILL mid-batch: {duplicates} duplicate(s) (bound: one chunk of {chunk})")
    assert set(rcpts) == set(seeded.addresses)
    assert duplicates <= chunk


def test_the_rate_limit_holds_across_two_workers(fleet_factory, committed_db, smtp_server) -> None:
    rate = 30
    fleet = fleet_factory(
        workers=2, smtp_rate_per_second=rate, send_batch_size=10, send_chunk_size=5
    )
    with committed_db() as session, session.begin():
        seeded = seed_campaign(session, 120)
    arrivals: list[float] = []
    smtp_server.reply_to_data(lambda message: arrivals.append(time.monotonic()))
    fleet.app.send_task("newsletter.start_campaign", args=[seeded.campaign_id])
    smtp_server.wait_for(120, timeout=60)
    steady = (len(arrivals) - rate) / (arrivals[-1] - arrivals[0])  # after the bucket's burst
    print(f"\nrate limit {rate}/s over two workers: measured {steady:.1f} messages/s")
    assert rate * 0.7 <= steady <= rate * 1.1
    with committed_db() as session:
        workers = session.scalars(
            select(Delivery.claimed_by).where(Delivery.status == DeliveryStatus.SENT).distinct()
        ).all()
    assert len(workers) == 2  # both workers sent, drawing on one shared bucket
