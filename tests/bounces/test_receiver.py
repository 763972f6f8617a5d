"""``newsletter inbound``: a real aiosmtpd server on loopback, real PostgreSQL, a real worker."""

from __future__ import annotations

import datetime as dt
import smtplib
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter import links
from newsletter.bounces.inbox import store_inbound
from newsletter.bounces.models import InboundMessage, InboundStatus
from newsletter.bounces.processing import process_stored
from newsletter.bounces.receiver import make_controller
from newsletter.db import make_engine, make_session_factory, unit_of_work, utcnow
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Subscription
from newsletter.subscribers.models import SubscriptionStatus as SubStatus
from newsletter.subscribers.status import is_suppressed
from tests.bounces.factories import make_campaign, make_delivery, make_list, make_subscriber
from tests.bounces.messages import load
from tests.conftest import make_test_settings

RCPT = "amina@example.net"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def receiver_factory(tmp_path: Path, pg_url: str) -> Iterator[Callable[..., tuple]]:
    started = []

    def start(factory, enqueue, *, lmtp=False, settings=None, **overrides):
        settings = settings or make_test_settings(tmp_path, database_url=pg_url, **overrides)
        controller = make_controller(
            settings, factory, enqueue, host="127.0.0.1", port=free_port(), lmtp=lmtp
        )
        controller.start()
        started.append(controller)
        return controller, settings

    yield start
    for controller in started:
        controller.stop()


def _wait_for(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_a_dsn_through_the_receiver_suppresses_the_subscriber_via_a_real_worker(
    committed_db, celery_worker, receiver_factory
) -> None:
    settings = celery_worker.settings
    with unit_of_work(committed_db) as session:
        press = make_list(session)
        subscriber = make_subscriber(session, RCPT)
        other = make_subscriber(session, "rahel@example.org", lists=[press])
        delivery = make_delivery(session, make_campaign(session), subscriber)
        ids = (subscriber.id, other.id, delivery.id, press.id, other.public_id)
    subscriber_id, other_id, delivery_id, press_id, other_public_id = ids

    def enqueue(inbound_id: int) -> None:
        celery_worker.app.send_task("newsletter.process_inbound", args=[inbound_id])

    controller, _ = receiver_factory(committed_db, enqueue, settings=settings)
    verp = links.verp_address(settings, delivery_id)
    unsubscribe = links.unsubscribe_mailto(
        settings, links.UnsubscribeScope.of(other_public_id, [press_id])
    )
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        raw = load("gmail_no_such_user.eml", settings, delivery_id=delivery_id)
        client.sendmail("", [verp], raw)
        client.sendmail(
            "rahel@example.org",
            [unsubscribe.removeprefix("mailto:").split("?")[0]],
            b"Subject: unsubscribe\r\n\r\n",
        )

    def done() -> bool:
        with committed_db() as session:
            statuses = session.scalars(select(InboundMessage.status)).all()
            return len(statuses) == 2 and InboundStatus.PENDING not in statuses

    assert _wait_for(done), celery_worker.log()[-3000:]
    with committed_db() as session:
        assert session.get(Subscriber, subscriber_id).status == SubscriberStatus.BOUNCED
        assert is_suppressed(session, RCPT)
        subscription = session.scalar(
            select(Subscription).where(Subscription.subscriber_id == other_id)
        )
        assert subscription.status == SubStatus.UNSUBSCRIBED


def test_the_receiver_refuses_strangers_forgeries_and_oversized_mail(
    committed_db, receiver_factory, tmp_path
) -> None:
    queued: list[int] = []
    controller, settings = receiver_factory(
        committed_db, queued.append, inbound_max_message_bytes=4096
    )
    forged = links.verp_address(make_test_settings(tmp_path, secret_key="x" * 40), 5)
    good = links.verp_address(settings, 5)
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        client.ehlo("mx.example.net")
        for address in [
            "someone@bounces.coalition.example.org",
            "bounces+garbage@bounces.coalition.example.org",
            forged,
            good.replace("@bounces.coalition.example.org", "@example.net"),
            "news@coalition.example.org",
        ]:
            client.mail("")
            code, _ = client.rcpt(address)
            assert code == 550, address
            client.rset()
        client.mail("")
        assert client.rcpt(good)[0] == 250
        assert client.rcpt("postmaster@bounces.coalition.example.org")[0] == 250
        assert client.rcpt("FBL@bounces.coalition.example.org")[0] == 250
        code, _ = client.data((b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n") * 120)
        assert code == 552
    with committed_db() as session:
        assert session.scalars(select(InboundMessage)).all() == []
    assert queued == []


def test_hostile_messages_are_stored_then_quarantined_and_the_receiver_keeps_going(
    committed_db, receiver_factory, caplog
) -> None:
    queued: list[int] = []
    controller, settings = receiver_factory(committed_db, queued.append)
    verp = links.verp_address(settings, 7)
    hostile = [
        b"\x00\xff" * 400 + b"\r\n" + b"\x80\x81" * 300,
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
        + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 3000,
        b"From: x\r\nSubject: " + b"A" * 900 + b"\r\n\r\nbody",
    ]
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        for raw in hostile:
            assert client.sendmail("", [verp], raw) == {}
    assert len(queued) == len(hostile)
    for inbound_id in queued:
        with unit_of_work(committed_db) as session:
            process_stored(session, settings, inbound_id)
    with committed_db() as session:
        statuses = session.scalars(select(InboundMessage.status)).all()
    assert statuses == [InboundStatus.QUARANTINED] * len(hostile)
    assert "quarantined" in caplog.text
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        assert client.noop()[0] == 250


def test_a_bounce_with_a_5000_octet_line_is_accepted_intact_and_acted_on(
    committed_db, receiver_factory
) -> None:
    """Real bounces break RFC 5321's 1,000-octet line limit; refusing them loses them."""
    queued: list[int] = []
    controller, settings = receiver_factory(committed_db, queued.append)
    with unit_of_work(committed_db) as session:
        subscriber = make_subscriber(session, RCPT)
        delivery = make_delivery(session, make_campaign(session), subscriber)
        subscriber_id, delivery_id = subscriber.id, delivery.id
    bounce = load("gmail_no_such_user.eml", settings, delivery_id=delivery_id)
    long_line = b"X-Relay-Trace: " + b"hop=mx.example.net;" * 263 + b"end"
    assert len(long_line) >= 5000
    raw = long_line + b"\r\n" + bounce
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        assert client.sendmail("", [links.verp_address(settings, delivery_id)], raw) == {}
    [inbound_id] = queued
    with unit_of_work(committed_db) as session:
        assert session.get(InboundMessage, inbound_id).raw.startswith(long_line + b"\r\n")
        assert process_stored(session, settings, inbound_id) == InboundStatus.PROCESSED
    with committed_db() as session:
        assert session.get(Subscriber, subscriber_id).status == SubscriberStatus.BOUNCED


def test_a_line_longer_than_a_whole_message_is_still_refused(
    committed_db, receiver_factory
) -> None:
    queued: list[int] = []
    controller, settings = receiver_factory(
        committed_db, queued.append, inbound_max_message_bytes=4096
    )
    with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
        client.ehlo("mx.example.net")
        assert client.mail("")[0] == 250  # no SIZE declared: the line limit must hold alone
        assert client.rcpt(links.verp_address(settings, 4))[0] == 250
        code, _ = client.data(b"X-Long: " + b"y" * 5000 + b"\r\n\r\nbody\r\n")
        assert code == 500
        assert client.noop()[0] == 250
    assert queued == []


def test_the_receiver_answers_451_when_it_cannot_store(receiver_factory, tmp_path) -> None:
    """The sender keeps the bounce and retries: nothing accepted is ever lost."""
    broken = make_session_factory(
        make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/no_such_database_6")
    )
    controller, settings = receiver_factory(broken, lambda _id: None)
    with (
        smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        client.sendmail("", [links.verp_address(settings, 3)], b"Subject: x\r\n\r\nx\r\n")
    assert refused.value.smtp_code == 451


def test_lmtp_answers_once_per_recipient(committed_db, receiver_factory) -> None:
    queued: list[int] = []
    controller, settings = receiver_factory(committed_db, queued.append, lmtp=True)
    recipients = [links.verp_address(settings, 11), links.verp_address(settings, 12)]
    with smtplib.LMTP(controller.hostname, controller.port, timeout=10) as client:
        client.ehlo_or_helo_if_needed()
        assert client.mail("")[0] == 250
        assert [client.rcpt(address)[0] for address in recipients] == [250, 250]
        first = client.data(b"Subject: x\r\n\r\nx\r\n")
        second = client.getreply()  # RFC 2033: one reply per recipient after DATA
        assert (first[0], second[0]) == (250, 250)
        assert client.noop()[0] == 250
    assert len(queued) == 1
    with committed_db() as session:
        [stored] = session.scalars(select(InboundMessage)).all()
        assert stored.envelope_to.splitlines() == recipients


def test_the_sweeper_processes_stored_messages_whose_task_was_lost(
    committed_db, celery_worker
) -> None:
    settings = celery_worker.settings
    with unit_of_work(committed_db) as session:
        subscriber = make_subscriber(session, RCPT)
        delivery = make_delivery(session, make_campaign(session), subscriber)
        raw = load("qmail_no_mailbox.eml", settings, delivery_id=delivery.id)
        verp = [links.verp_address(settings, delivery.id)]
        lost = store_inbound(session, source="smtp", source_ref="lost", raw=raw, envelope_to=verp)
        fresh = store_inbound(session, source="smtp", source_ref="new", raw=raw, envelope_to=verp)
        session.flush()
        lost.received_at = utcnow() - dt.timedelta(minutes=10)  # its task never came
        ids = (subscriber.id, lost.id, fresh.id)
    swept = celery_worker.app.send_task("newsletter.sweep_inbound").get(timeout=30)
    assert swept == 1
    with committed_db() as session:
        assert session.get(InboundMessage, ids[1]).status == InboundStatus.PROCESSED
        assert session.get(InboundMessage, ids[2]).status == InboundStatus.PENDING
        assert session.get(Subscriber, ids[0]).status == SubscriberStatus.BOUNCED
