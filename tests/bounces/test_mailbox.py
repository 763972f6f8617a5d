"""The bounce mailbox, polled over IMAPS from a real Dovecot on loopback."""

from __future__ import annotations

import imaplib
import ssl
from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter.bounces.mailbox import ImapTarget, poll_mailbox
from newsletter.bounces.models import InboundMessage, InboundStatus
from newsletter.bounces.processing import process_stored
from newsletter.db import unit_of_work
from newsletter.subscribers.models import Subscriber, SubscriberStatus
from tests.bounces.dovecot import Dovecot
from tests.bounces.factories import make_campaign, make_delivery, make_subscriber
from tests.bounces.messages import load
from tests.conftest import make_test_settings


def _client(server: Dovecot) -> imaplib.IMAP4_SSL:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    client = imaplib.IMAP4_SSL("127.0.0.1", server.port, ssl_context=context, timeout=10)
    client.login("bounces", "mailbox-test-password")
    return client


def _deliver(server: Dovecot, *messages: bytes) -> None:
    """What the relay does: put bounces in the mailbox."""
    client = _client(server)
    for raw in messages:
        assert client.append("INBOX", None, None, raw)[0] == "OK"
    client.logout()


def _count(server: Dovecot, folder: str) -> int:
    client = _client(server)
    status, data = client.select(f'"{folder}"', readonly=True)
    client.logout()
    return int(data[0]) if status == "OK" else 0


def _poll(settings, committed_db) -> int:
    def process_now(inbound_id: int) -> None:
        with unit_of_work(committed_db) as session:
            process_stored(session, settings, inbound_id)

    return poll_mailbox(settings, committed_db, process_now)


def test_bounces_in_the_mailbox_are_processed_once_and_moved(
    dovecot: Dovecot, committed_db, pg_url: str, tmp_path: Path
) -> None:
    settings = make_test_settings(
        tmp_path, database_url=pg_url, imap_url=dovecot.url(), imap_ca_file=dovecot.ca_file
    )
    with unit_of_work(committed_db) as session:
        by_verp = make_subscriber(session, "amina@example.net")
        by_address = make_subscriber(session, "kofi@example.org")
        forged_target = make_subscriber(session, "lena@example.org")
        campaign = make_campaign(session)
        delivery = make_delivery(session, campaign, by_verp)
        kofi_mid = make_delivery(session, campaign, by_address).message_id
        make_delivery(session, campaign, forged_target)
        ids = (by_verp.id, by_address.id, delivery.id, forged_target.id)
    gmail = load("gmail_no_such_user.eml", settings, delivery_id=ids[2])
    # A relay that rewrote the return path: the returned copy's Message-ID names the delivery.
    qmail = load(
        "qmail_no_mailbox.eml", settings, recipient="kofi@example.org", message_id=kofi_mid
    )
    qmail = qmail.replace(b"bounces+", b"bounces-")
    # A forged bounce dropped in the mailbox: an address we mail, but none of our Message-IDs.
    forged = load("qmail_no_mailbox.eml", settings, recipient="lena@example.org")
    forged = forged.replace(b"bounces+", b"bounces-")
    away = load("autoreply_fr_subject.eml", settings, delivery_id=ids[2])
    _deliver(dovecot, gmail, qmail, away, load("human_reply.eml", settings), forged)

    assert _poll(settings, committed_db) == 5, dovecot.log()
    with committed_db() as session:
        assert session.get(Subscriber, ids[0]).status == SubscriberStatus.BOUNCED
        assert session.get(Subscriber, ids[1]).status == SubscriberStatus.BOUNCED
        assert session.get(Subscriber, ids[3]).status == SubscriberStatus.ACTIVE
        statuses = sorted(str(s) for s in session.scalars(select(InboundMessage.status)))
    assert statuses == ["ignored", "processed", "processed", "quarantined", "quarantined"]
    assert (_count(dovecot, "INBOX"), _count(dovecot, "Processed")) == (0, 5)

    _deliver(dovecot, load("sendmail_mailbox_full.eml", settings, delivery_id=ids[2]))
    assert _poll(settings, committed_db) == 1
    assert _poll(settings, committed_db) == 0
    with committed_db() as session:
        assert len(session.scalars(select(InboundMessage)).all()) == 6


def test_without_a_processed_folder_messages_are_flagged_and_skipped_next_time(
    dovecot: Dovecot, committed_db, pg_url: str, tmp_path: Path
) -> None:
    settings = make_test_settings(
        tmp_path, database_url=pg_url, imap_url=dovecot.url(), imap_ca_file=dovecot.ca_file,
        imap_processed_folder="",
    )  # fmt: skip
    _deliver(dovecot, load("postfix_delayed.eml", settings), load("human_reply.eml", settings))
    assert _poll(settings, committed_db) == 2
    assert _poll(settings, committed_db) == 0
    assert _count(dovecot, "INBOX") == 2
    client = _client(dovecot)
    client.select("INBOX")
    _, data = client.uid("SEARCH", None, "KEYWORD", "$NewsletterProcessed")
    client.logout()
    assert len(data[0].split()) == 2
    with committed_db() as session:
        statuses = sorted(str(s) for s in session.scalars(select(InboundMessage.status)))
    assert statuses == [InboundStatus.IGNORED, InboundStatus.QUARANTINED]


def test_a_wrong_password_or_an_untrusted_certificate_fails_loudly(
    dovecot: Dovecot, committed_db, pg_url: str, tmp_path: Path
) -> None:
    wrong = make_test_settings(
        tmp_path, database_url=pg_url, imap_ca_file=dovecot.ca_file,
        imap_url=dovecot.url().replace("mailbox-test-password", "nope"),
    )  # fmt: skip
    with pytest.raises(imaplib.IMAP4.error):
        _poll(wrong, committed_db)
    untrusted = make_test_settings(tmp_path, database_url=pg_url, imap_url=dovecot.url())
    with pytest.raises(ssl.SSLError):
        _poll(untrusted, committed_db)


def test_imap_urls() -> None:
    target = ImapTarget.from_url("imaps://bounce%40example.org:p%3Ass@imap.example.org/Bounces")
    assert (target.username, target.password, target.port) == ("bounce@example.org", "p:ss", 993)
    assert target.folder == "Bounces" and not target.starttls
    assert ImapTarget.from_url("imap+starttls://u:p@h").port == 143
    with pytest.raises(ValueError):
        ImapTarget.from_url("imap://u:p@h")
