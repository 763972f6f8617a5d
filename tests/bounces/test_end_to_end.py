"""Acceptance: a campaign through the real engine, rejections, DSNs back to `newsletter inbound`.

Real parts only: Celery worker processes on Redis, PostgreSQL, the aiosmtpd test server as the
relay (it rejects one address with 5.1.1 and defers another once), the inbound receiver on
loopback, and real-format DSN/ARF messages sent to it over SMTP. The next campaign must skip
every address the policy suppressed, and still reach the one that only soft-bounced.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from newsletter import links
from newsletter.bounces.models import InboundMessage, InboundStatus
from newsletter.bounces.receiver import make_controller
from newsletter.models import Campaign, CampaignStatus, Subscriber, SubscriberStatus
from newsletter.subscribers.status import is_suppressed
from tests.bounces.messages import load
from tests.bounces.test_receiver import free_port
from tests.sending.helpers import add_campaign, add_list, add_subscribers

pytestmark = pytest.mark.slow

OK, GONE, LATER = "ok@example.org", "gone@example.net", "later@example.net"
FULL, ANGRY = "full@example.org", "angry@example.org"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _campaign_status(committed_db, campaign_id: int) -> CampaignStatus:
    with committed_db() as session:
        return session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))


def _run_campaign(fleet, committed_db, list_id: int, name: str) -> int:
    with committed_db() as session, session.begin():
        campaign_id = add_campaign(session, [list_id], languages=("en",), name=name).id
    fleet.app.send_task("newsletter.start_campaign", args=[campaign_id])
    return campaign_id


def test_rejected_deferred_and_dsn_bounced_addresses_are_suppressed_and_skipped_next_time(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(workers=1, send_retry_base_seconds=0.5)
    settings = fleet.settings
    with committed_db() as session, session.begin():
        press = add_list(session, "press").id
        add_subscribers(session, [OK, GONE, LATER, FULL, ANGRY], [press], languages=("en",))
    deferred_once: list[str] = []

    def relay_rcpt(address: str) -> str | None:
        if address == GONE:
            return "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown"
        if address == LATER and not deferred_once:
            deferred_once.append(address)
            return "451 4.3.0 Temporary local problem, please try again later"
        return None

    smtp_server.reply_to_rcpt(relay_rcpt)
    first = _run_campaign(fleet, committed_db, press, "First statement")
    smtp_server.wait_for(3, timeout=60)  # OK, FULL, ANGRY; LATER was deferred
    time.sleep(1.0)  # past the retry backoff: the beat tick re-sends the deferred row
    fleet.app.send_task("newsletter.tick")
    received = {m.rcpt_tos[0]: m for m in smtp_server.wait_for(4, timeout=60)}
    assert set(received) == {OK, LATER, FULL, ANGRY}
    fleet.app.send_task("newsletter.tick")
    wait_until(lambda: _campaign_status(committed_db, first) is CampaignStatus.SENT, "sent")

    # The relay later returns DSNs and a feedback loop forwards a complaint.
    controller = make_controller(
        settings, committed_db,
        lambda inbound_id: fleet.app.send_task("newsletter.process_inbound", args=[inbound_id]),
        host="127.0.0.1", port=free_port(),
    )  # fmt: skip
    controller.start()
    try:
        returned = {
            LATER: "gmail_no_such_user.eml",
            FULL: "sendmail_mailbox_full.eml",
            ANGRY: "arf_abuse.eml",
        }
        with smtplib.SMTP("127.0.0.1", controller.port, timeout=10) as client:
            for address, fixture in returned.items():
                verp = received[address].mail_from
                delivery_id = links.delivery_id_from_verp(settings, verp)
                assert delivery_id is not None, "the engine sets a VERP return path"
                raw = load(fixture, settings, delivery_id=delivery_id, recipient=address)
                to = "fbl@bounces.coalition.example.org" if address == ANGRY else verp
                client.sendmail("", [to], raw)

        def processed() -> bool:
            with committed_db() as session:
                statuses = session.scalars(select(InboundMessage.status)).all()
            return len(statuses) == 3 and InboundStatus.PENDING not in statuses

        wait_until(processed, "the worker to process the returned messages")
    finally:
        controller.stop()

    with committed_db() as session:
        status = {s.email: s.status for s in session.scalars(select(Subscriber))}
        suppressed = {a for a in (OK, GONE, LATER, FULL, ANGRY) if is_suppressed(session, a)}
    assert status == {
        OK: SubscriberStatus.ACTIVE,
        GONE: SubscriberStatus.BOUNCED,  # 5.1.1 at SMTP time, through the engine
        LATER: SubscriberStatus.BOUNCED,  # deferred, then accepted, then a hard DSN
        FULL: SubscriberStatus.ACTIVE,  # one soft bounce: counted, not suppressed
        ANGRY: SubscriberStatus.COMPLAINED,
    }
    assert suppressed == {GONE, LATER, ANGRY}

    smtp_server.reset()
    second = _run_campaign(fleet, committed_db, press, "Second statement")
    wait_until(lambda: _campaign_status(committed_db, second) is CampaignStatus.SENT, "sent")
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == sorted([OK, FULL])
