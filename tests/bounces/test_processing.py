"""Stored inbound messages land as the right event on the right subscriber, or quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from newsletter import links
from newsletter.bounces.inbox import pending_ids, quarantined, store_inbound
from newsletter.bounces.models import BounceEvent, BounceKind, InboundStatus, StaffWarning
from newsletter.bounces.processing import process_inbound
from newsletter.campaigns.models import DeliveryStatus
from newsletter.subscribers.models import SubscriberStatus, Subscription, SubscriptionStatus
from newsletter.subscribers.status import is_suppressed
from tests.bounces.factories import make_campaign, make_delivery, make_list, make_subscriber
from tests.bounces.messages import load
from tests.conftest import make_test_settings

RCPT = "amina@example.net"


@pytest.fixture
def settings(tmp_path: Path):
    return make_test_settings(tmp_path)


def _process(session, settings, raw: bytes, *, ref: str, to=(), trust: bool = False):
    inbound = store_inbound(session, source="smtp", source_ref=ref, raw=raw, envelope_to=list(to))
    assert inbound is not None
    status = process_inbound(session, settings, inbound, trust_addresses=trust)
    return inbound, status


@pytest.mark.parametrize(
    ("name", "kind", "subscriber_status", "suppressed"),
    [
        ("postfix_user_unknown.eml", BounceKind.HARD, SubscriberStatus.BOUNCED, True),
        ("gmail_no_such_user.eml", BounceKind.HARD, SubscriberStatus.BOUNCED, True),
        ("office365_not_found.eml", BounceKind.HARD, SubscriberStatus.BOUNCED, True),
        ("exim_classic.eml", BounceKind.HARD, SubscriberStatus.BOUNCED, True),
        ("qmail_no_mailbox.eml", BounceKind.HARD, SubscriberStatus.BOUNCED, True),
        ("yahoo_no_account.eml", BounceKind.HARD, SubscriberStatus.BOUNCED, True),
        ("sendmail_mailbox_full.eml", BounceKind.SOFT, SubscriberStatus.ACTIVE, False),
        ("postfix_dmarc_rejected.eml", BounceKind.SENDER_PROBLEM, SubscriberStatus.ACTIVE, False),
        ("exchange_banned_ip.eml", BounceKind.SENDER_PROBLEM, SubscriberStatus.ACTIVE, False),
        ("arf_abuse.eml", BounceKind.COMPLAINT, SubscriberStatus.COMPLAINED, True),
    ],
)
def test_a_returned_message_lands_on_its_delivery(
    any_db_session, settings, name, kind, subscriber_status, suppressed
) -> None:
    subscriber = make_subscriber(any_db_session, RCPT)
    bystander = make_subscriber(any_db_session, "bystander@example.org")
    campaign = make_campaign(any_db_session)
    delivery = make_delivery(any_db_session, campaign, subscriber)
    make_delivery(any_db_session, campaign, bystander)
    raw = load(name, settings, delivery_id=delivery.id, public_id=subscriber.public_id)
    verp = links.verp_address(settings, delivery.id)
    inbound, status = _process(any_db_session, settings, raw, ref=name, to=[verp])
    assert status == InboundStatus.PROCESSED, inbound.status_reason
    [event] = any_db_session.scalars(select(BounceEvent)).all()
    assert (event.kind, event.subscriber_id, event.delivery_id) == (
        kind,
        subscriber.id,
        delivery.id,
    )
    assert subscriber.status == subscriber_status
    assert is_suppressed(any_db_session, RCPT) is suppressed
    assert bystander.status == SubscriberStatus.ACTIVE
    any_db_session.refresh(delivery)
    bounced = kind != BounceKind.COMPLAINT
    assert (delivery.status == DeliveryStatus.BOUNCED) is bounced
    warnings = any_db_session.scalars(select(StaffWarning.kind)).all()
    assert (kind == BounceKind.SENDER_PROBLEM) is ("sender_problem" in warnings)


def test_the_same_bounce_received_twice_counts_once(any_db_session, settings) -> None:
    subscriber = make_subscriber(any_db_session, RCPT)
    delivery = make_delivery(any_db_session, make_campaign(any_db_session), subscriber)
    raw = load("sendmail_mailbox_full.eml", settings, delivery_id=delivery.id)
    _process(any_db_session, settings, raw, ref="one")
    _process(any_db_session, settings, raw, ref="two")
    assert len(any_db_session.scalars(select(BounceEvent)).all()) == 1
    assert subscriber.bounce_score == pytest.approx(1.0)


def test_a_redacted_complaint_is_applied_through_the_unsubscribe_token(
    any_db_session, settings
) -> None:
    press = make_list(any_db_session)
    subscriber = make_subscriber(any_db_session, RCPT, lists=[press])
    raw = load("arf_redacted.eml", settings, public_id=subscriber.public_id)
    inbound, status = _process(
        any_db_session, settings, raw, ref="cfl", to=["complaints@bounces.coalition.example.org"]
    )
    assert status == InboundStatus.PROCESSED, inbound.status_reason
    assert subscriber.status == SubscriberStatus.COMPLAINED
    assert is_suppressed(any_db_session, RCPT)


def test_a_complaint_naming_only_an_address_is_quarantined(any_db_session, settings) -> None:
    """A forged ARF must not unsubscribe somebody: without our signed token, staff decide."""
    subscriber = make_subscriber(any_db_session, RCPT)
    raw = load("arf_abuse.eml", settings, delivery_id=1)
    raw = raw.replace(b"bounces+", b"bounces-").replace(b"unsubscribe+", b"unsubscribe-")
    inbound, status = _process(any_db_session, settings, raw, ref="forged", trust=True)
    assert status == InboundStatus.QUARANTINED
    assert "not attributable" in inbound.status_reason
    assert subscriber.status == SubscriberStatus.ACTIVE
    assert quarantined(any_db_session) == [inbound]


def test_without_a_token_a_bounce_acts_only_through_one_of_our_message_ids(
    any_db_session, settings
) -> None:
    subscriber = make_subscriber(any_db_session, RCPT)
    delivery = make_delivery(any_db_session, make_campaign(any_db_session), subscriber)
    forged = load("qmail_no_mailbox.eml", settings).replace(b"bounces+", b"bounces-")
    inbound, status = _process(any_db_session, settings, forged, ref="forged", trust=True)
    assert status == InboundStatus.QUARANTINED
    assert "not attributable" in inbound.status_reason
    assert subscriber.status == SubscriberStatus.ACTIVE
    raw = load("qmail_no_mailbox.eml", settings, message_id=delivery.message_id)
    _, status = _process(
        any_db_session, settings, raw.replace(b"bounces+", b"bounces-"), ref="imap", trust=True
    )
    assert status == InboundStatus.PROCESSED
    assert subscriber.status == SubscriberStatus.BOUNCED


@pytest.mark.parametrize(
    "name", ["autoreply_outlook_en.eml", "autoreply_fr_subject.eml", "autoreply_vacation.eml"]
)
def test_auto_replies_are_ignored(any_db_session, settings, name) -> None:
    subscriber = make_subscriber(any_db_session, RCPT)
    delivery = make_delivery(any_db_session, make_campaign(any_db_session), subscriber)
    raw = load(name, settings, delivery_id=delivery.id)
    verp = links.verp_address(settings, delivery.id)
    _, status = _process(any_db_session, settings, raw, ref=name, to=[verp])
    assert status == InboundStatus.IGNORED
    assert subscriber.status == SubscriberStatus.ACTIVE and subscriber.bounce_score == 0
    any_db_session.refresh(delivery)
    assert delivery.status == DeliveryStatus.SENT


def test_a_delay_notice_is_ignored(any_db_session, settings) -> None:
    subscriber = make_subscriber(any_db_session, RCPT)
    delivery = make_delivery(any_db_session, make_campaign(any_db_session), subscriber)
    raw = load("postfix_delayed.eml", settings, delivery_id=delivery.id)
    _, status = _process(any_db_session, settings, raw, ref="delay")
    assert status == InboundStatus.IGNORED
    assert subscriber.bounce_score == 0


def test_the_mailto_unsubscribe_leaves_the_tokens_list_only(any_db_session, settings) -> None:
    press, events = make_list(any_db_session, "press"), make_list(any_db_session, "events")
    subscriber = make_subscriber(any_db_session, RCPT, lists=[press, events])
    mailto = links.unsubscribe_mailto(
        settings, links.UnsubscribeScope.of(subscriber.public_id, [press.id])
    )
    address = mailto.removeprefix("mailto:").split("?")[0]
    raw = b"From: amina@example.net\r\nSubject: unsubscribe\r\n\r\n"
    _, status = _process(any_db_session, settings, raw, ref="m1", to=[address])
    assert status == InboundStatus.PROCESSED
    rows = any_db_session.scalars(
        select(Subscription).where(Subscription.subscriber_id == subscriber.id)
    ).all()
    statuses = {row.list_id: row.status for row in rows}
    assert statuses == {
        press.id: SubscriptionStatus.UNSUBSCRIBED,
        events.id: SubscriptionStatus.ACTIVE,
    }


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00\xff\xfe garbage \x00" * 200,
        b"".join(  # 3000 nested multiparts: deeper than Python's recursion limit
            b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
            for i in range(3000)
        ),
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n"
        b"Final-Recipient: rfc822; \x00\r\n--b--\r\n",
        b"From: MAILER-DAEMON@example.net\r\nX-Failed-Recipients: , <>, @@\r\n\r\nnone",
    ],
    ids=["binary", "deep-nesting", "broken-dsn", "bad-failed-recipients"],
)
def test_hostile_messages_are_quarantined_not_raised(any_db_session, settings, raw, caplog) -> None:
    inbound, status = _process(any_db_session, settings, raw, ref="hostile")
    assert status in {InboundStatus.QUARANTINED, InboundStatus.IGNORED}
    assert f"inbound message {inbound.id}" in caplog.text
    assert pending_ids(any_db_session) == []


def test_a_human_reply_is_kept_for_review(any_db_session, settings) -> None:
    raw = load("human_reply.eml", settings)
    inbound, status = _process(any_db_session, settings, raw, ref="human")
    assert status == InboundStatus.QUARANTINED
    assert inbound.raw == raw


def test_a_token_quoted_only_inside_the_returned_message_suppresses_nobody(
    any_db_session, settings
) -> None:
    """A forger pastes somebody's real VERP address into a fake returned copy, sent to
    postmaster@: without that delivery's own Message-ID it is quarantined."""
    target = make_subscriber(any_db_session, RCPT)
    delivery = make_delivery(any_db_session, make_campaign(any_db_session), target)
    raw = load("qmail_no_mailbox.eml", settings, delivery_id=delivery.id)
    raw = raw.replace(
        b"To: " + links.verp_address(settings, delivery.id).encode(), b"To: x@x.org", 1
    )
    inbound, status = _process(
        any_db_session, settings, raw, ref="quoted", to=["postmaster@bounces.coalition.example.org"]
    )
    assert status == InboundStatus.QUARANTINED, inbound.status_reason
    assert target.status == SubscriberStatus.ACTIVE
    assert not is_suppressed(any_db_session, RCPT)


def test_a_verp_address_whose_signature_fails_is_quarantined_as_forged(
    any_db_session, settings, tmp_path
) -> None:
    target = make_subscriber(any_db_session, RCPT)
    make_delivery(any_db_session, make_campaign(any_db_session), target)
    other = make_test_settings(tmp_path, secret_key="another-secret-key-0123456789abcdef0123")
    raw = load("postfix_user_unknown.eml", other, delivery_id=1)
    inbound, status = _process(any_db_session, settings, raw, ref="forged-verp", trust=True)
    assert status == InboundStatus.QUARANTINED
    assert "does not verify" in inbound.status_reason
    assert target.status == SubscriberStatus.ACTIVE


def test_a_complaint_from_an_unknown_feedback_loop_unsubscribes_nobody(
    any_db_session, settings
) -> None:
    subscriber = make_subscriber(any_db_session, RCPT)
    delivery = make_delivery(any_db_session, make_campaign(any_db_session), subscriber)
    raw = load("arf_abuse.eml", settings, delivery_id=delivery.id)
    raw = raw.replace(b"abuse-reports@fbl.example.net", b"reports@stranger.example.com")
    inbound, status = _process(any_db_session, settings, raw, ref="stranger-arf")
    assert status == InboundStatus.QUARANTINED
    assert "unknown feedback loop" in inbound.status_reason
    assert subscriber.status == SubscriberStatus.ACTIVE


def test_a_multi_recipient_bounce_counts_for_the_delivery_through_its_own_entry(
    any_db_session, settings
) -> None:
    """Yahoo lists every failed address; the VERP token names the delivery, whose entry counts."""
    subscriber = make_subscriber(any_db_session, "mireille@yahoo.com")
    bystander = make_subscriber(any_db_session, "rafael@yahoo.com")
    delivery = make_delivery(any_db_session, make_campaign(any_db_session), subscriber)
    raw = load(
        "yahoo_no_account.eml", settings, delivery_id=delivery.id, recipient="mireille@yahoo.com"
    )
    raw = raw.replace(
        b"\r\n\r\n--- Below this line",
        b"\r\n\r\n<rafael@yahoo.com>:\r\n552 5.2.2 mailbox full\r\n\r\n--- Below this line",
        1,
    )
    verp = links.verp_address(settings, delivery.id)
    inbound, status = _process(any_db_session, settings, raw, ref="multi", to=[verp])
    assert status == InboundStatus.PROCESSED, inbound.status_reason
    [event] = any_db_session.scalars(select(BounceEvent)).all()
    assert (event.delivery_id, event.kind, event.reason) == (
        delivery.id,
        BounceKind.HARD,
        "user_unknown",
    )
    assert subscriber.status == SubscriberStatus.BOUNCED
    assert bystander.status == SubscriberStatus.ACTIVE
