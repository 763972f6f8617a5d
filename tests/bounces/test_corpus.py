"""The bounce corpus, table-driven, through the real receiver and the real IMAP mailbox.

Every fixture is a bounce, notice, auto-reply or complaint in the shape one mail system
really writes (tests/bounces/corpus/manifest.json says which, and what must come of it).
Each is delivered to the SMTP receiver on loopback at its VERP address (or the complaint
address), and, separately, dropped into a Dovecot mailbox and polled. A change in any
fixture's outcome fails the suite; above all, nobody who should stay is suppressed.
"""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from pathlib import Path

from sqlalchemy import select

from newsletter.bounces.mailbox import poll_mailbox
from newsletter.bounces.models import BounceEvent, InboundMessage
from newsletter.bounces.processing import process_stored
from newsletter.bounces.receiver import make_controller
from newsletter.db import unit_of_work
from newsletter.subscribers.models import Subscriber, SubscriberStatus
from newsletter.subscribers.status import is_suppressed
from tests.bounces.corpus_fixtures import cases, envelope_to, render
from tests.bounces.dovecot import Dovecot
from tests.bounces.factories import make_campaign, make_delivery, make_subscriber
from tests.bounces.test_receiver import free_port
from tests.conftest import make_test_settings

CASES = cases()
# Addresses the fixtures name besides the delivery's own (other recipients, forgery targets).
BYSTANDERS = ("rafael@yahoo.com", "someone-else@example.org")
# The corpus's feedback loop is Yahoo's (in the built-in list; the test settings narrow it).
LOOPS = ["yahoo.com"]


def test_the_corpus_covers_25_mail_systems_and_every_reason_class() -> None:
    assert len({case.system for case in CASES}) >= 25
    classes = {case.cls for case in CASES}
    assert {"hard", "soft", "sender", "delay", "auto_reply", "complaint", "success"} <= classes
    assert len({case.recipient for case in CASES}) == len(CASES)


def _setup(committed_db) -> tuple[dict[str, tuple[int, int, str]], list[int]]:
    """A subscriber and a sent delivery per fixture; (name -> ids and Message-ID, bystanders)."""
    rows: dict[str, tuple[int, int, str]] = {}
    with unit_of_work(committed_db) as session:
        campaign = make_campaign(session)
        bystanders = [make_subscriber(session, address).id for address in BYSTANDERS]
        for case in CASES:
            subscriber = make_subscriber(session, case.recipient)
            delivery = make_delivery(session, campaign, subscriber)
            rows[case.name] = (subscriber.id, delivery.id, delivery.message_id or "")
    return rows, bystanders


def _check(committed_db, rows, bystanders, by_name: dict[str, InboundMessage]) -> None:
    wrong = []
    with committed_db() as session:
        for case in CASES:
            subscriber_id, _, _ = rows[case.name]
            inbound = by_name[case.name]
            subscriber = session.get(Subscriber, subscriber_id)
            events = session.scalars(
                select(BounceEvent).where(BounceEvent.subscriber_id == subscriber_id)
            ).all()
            outcome = (
                str(inbound.status),
                is_suppressed(session, case.recipient),
                [str(event.reason) for event in events],
            )
            # processed: its reason recorded; a quarantined soft one (unreadable, at its VERP
            # address) is counted as undetermined too; anything else records nothing
            counted = case.action == "processed" or case.cls == "soft"
            expected_reasons = [case.reason] if counted else []
            expected = (case.action, case.suppressed, expected_reasons)
            if outcome != expected:
                wrong.append((case.name, outcome, expected, inbound.status_reason))
            if not case.suppressed:
                assert subscriber.status != SubscriberStatus.BOUNCED, case.name
        for bystander in bystanders:
            assert session.get(Subscriber, bystander).status == SubscriberStatus.ACTIVE
    assert wrong == []


def test_every_fixture_through_the_smtp_receiver(committed_db, pg_url: str, tmp_path) -> None:
    settings = make_test_settings(
        tmp_path, database_url=pg_url, inbound_feedback_loop_domains=LOOPS
    )
    rows, bystanders = _setup(committed_db)
    queued: list[int] = []
    controller = make_controller(
        settings, committed_db, queued.append, host="127.0.0.1", port=free_port()
    )
    controller.start()
    names: list[str] = []
    try:
        with smtplib.SMTP(controller.hostname, controller.port, timeout=10) as client:
            for case in CASES:
                _, delivery_id, message_id = rows[case.name]
                raw = render(case, settings, delivery_id, message_id)
                to = envelope_to(case, settings, raw, delivery_id)
                assert client.sendmail("", [to], raw) == {}, case.name
                names.append(case.name)
    finally:
        controller.stop()
    assert len(queued) == len(CASES)
    for inbound_id in queued:
        with unit_of_work(committed_db) as session:
            process_stored(session, settings, inbound_id)
    with committed_db() as session:
        by_name = {
            name: session.get(InboundMessage, i) for name, i in zip(names, queued, strict=True)
        }
    _check(committed_db, rows, bystanders, by_name)


def test_every_fixture_from_the_imap_mailbox(
    dovecot: Dovecot, committed_db, pg_url: str, tmp_path: Path
) -> None:
    settings = make_test_settings(
        tmp_path, database_url=pg_url, imap_url=dovecot.url(), imap_ca_file=dovecot.ca_file,
        imap_processed_folder="", inbound_feedback_loop_domains=LOOPS,
    )  # fmt: skip
    rows, bystanders = _setup(committed_db)
    context = ssl.create_default_context(cafile=str(dovecot.ca_file))
    client = imaplib.IMAP4_SSL("127.0.0.1", dovecot.port, ssl_context=context, timeout=10)
    client.login("bounces", "mailbox-test-password")
    raws = {}
    for case in CASES:
        _, delivery_id, message_id = rows[case.name]
        raws[case.name] = render(case, settings, delivery_id, message_id)
        assert client.append("INBOX", None, None, raws[case.name])[0] == "OK"
    client.logout()

    def process_now(inbound_id: int) -> None:
        with unit_of_work(committed_db) as session:
            process_stored(session, settings, inbound_id)

    assert poll_mailbox(settings, committed_db, process_now) == len(CASES), dovecot.log()
    with committed_db() as session:
        stored = session.scalars(select(InboundMessage)).all()
        by_raw = {inbound.raw.replace(b"\r\n", b"\n"): inbound for inbound in stored}
        by_name = {name: by_raw[raw.replace(b"\r\n", b"\n")] for name, raw in raws.items()}
    _check(committed_db, rows, bystanders, by_name)
