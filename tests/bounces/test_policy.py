"""The bounce policy table, applied on PostgreSQL and SQLite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.bounces.models import BounceEvent, BounceKind, StaffWarning, StaffWarningKind
from newsletter.bounces.policy import TRANSITIONS, decayed_score, record_bounce
from newsletter.campaigns.models import Campaign, DeliveryStatus
from newsletter.subscribers.models import (
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.subscribers.status import is_suppressed
from tests.bounces.factories import make_campaign, make_delivery, make_list, make_subscriber
from tests.conftest import make_test_settings

pytestmark = pytest.mark.date_sensitive

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def settings(tmp_path: Path):
    return make_test_settings(tmp_path)


def _record(session, settings, event_id: str, kind: BounceKind, **kwargs):
    kwargs.setdefault("diagnostic", "diagnostic text")
    return record_bounce(
        session, source="test", source_event_id=event_id, kind=kind, settings=settings, **kwargs
    )


def test_every_kind_has_exactly_one_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(BounceKind)


def test_hard_bounce_suppresses_at_once_and_marks_the_delivery_bounced(
    any_db_session, settings
) -> None:
    subscriber = make_subscriber(any_db_session, "gone@example.org")
    campaign = make_campaign(any_db_session)
    delivery = make_delivery(any_db_session, campaign, subscriber)
    event = _record(
        any_db_session, settings, "h1", BounceKind.HARD,
        status_code="5.1.1", diagnostic="smtp; 550 5.1.1 user unknown", delivery_id=delivery.id,
    )  # fmt: skip
    assert event is not None and event.subscriber_id == subscriber.id
    assert event.campaign_id == campaign.id
    assert subscriber.status == SubscriberStatus.BOUNCED
    assert is_suppressed(any_db_session, "gone@example.org")
    any_db_session.refresh(campaign)
    any_db_session.refresh(delivery)
    assert delivery.status == DeliveryStatus.BOUNCED
    assert (campaign.sent_count, campaign.bounced_count) == (0, 1)


def test_a_replayed_event_returns_none_and_changes_nothing(any_db_session, settings) -> None:
    subscriber = make_subscriber(any_db_session, "twice@example.org")
    campaign = make_campaign(any_db_session)
    delivery = make_delivery(any_db_session, campaign, subscriber)
    first = _record(any_db_session, settings, "r1", BounceKind.HARD, delivery_id=delivery.id)
    again = _record(any_db_session, settings, "r1", BounceKind.HARD, delivery_id=delivery.id)
    assert first is not None and again is None
    assert any_db_session.scalar(select(func.count()).select_from(BounceEvent)) == 1
    any_db_session.refresh(campaign)
    assert campaign.bounced_count == 1


def test_soft_bounces_add_a_decaying_score_and_suppress_at_the_threshold(
    any_db_session, settings
) -> None:
    subscriber = make_subscriber(any_db_session, "full@example.org")
    for day in range(5):
        _record(
            any_db_session, settings, f"s{day}", BounceKind.SOFT, address="full@example.org",
            status_code="4.2.2", now=T0 + dt.timedelta(days=day),
        )  # fmt: skip
    assert subscriber.status == SubscriberStatus.ACTIVE
    assert 4.5 < subscriber.bounce_score < 5.0  # five daily bounces, a little decayed
    assert not is_suppressed(any_db_session, "full@example.org")
    _record(
        any_db_session, settings, "s5", BounceKind.SOFT, address="full@example.org",
        now=T0 + dt.timedelta(days=5),
    )  # fmt: skip
    assert subscriber.bounce_score >= settings.bounce_soft_threshold
    assert subscriber.status == SubscriberStatus.BOUNCED
    assert is_suppressed(any_db_session, "full@example.org")


def test_soft_bounces_on_the_same_day_count_once(any_db_session, settings) -> None:
    subscriber = make_subscriber(any_db_session, "down@example.org")
    for minute in range(10):
        _record(
            any_db_session, settings, f"d{minute}", BounceKind.SOFT, address="down@example.org",
            now=T0 + dt.timedelta(minutes=minute),
        )  # fmt: skip
    assert subscriber.bounce_score == pytest.approx(1.0)
    assert subscriber.status == SubscriberStatus.ACTIVE


def test_old_soft_bounces_decay_away(settings) -> None:
    assert decayed_score(4.0, T0, T0 + dt.timedelta(days=30), settings) == pytest.approx(2.0)
    assert decayed_score(4.0, T0, T0 + dt.timedelta(days=300), settings) < 0.01


def test_complaint_unsubscribes_from_every_list_and_suppresses(any_db_session, settings) -> None:
    lists = [make_list(any_db_session, "press"), make_list(any_db_session, "events")]
    subscriber = make_subscriber(any_db_session, "angry@example.org", lists=lists)
    campaign = make_campaign(any_db_session)
    delivery = make_delivery(any_db_session, campaign, subscriber)
    _record(any_db_session, settings, "c1", BounceKind.COMPLAINT, delivery_id=delivery.id)
    assert subscriber.status == SubscriberStatus.COMPLAINED
    statuses = any_db_session.scalars(
        select(Subscription.status).where(Subscription.subscriber_id == subscriber.id)
    ).all()
    assert statuses == [SubscriptionStatus.UNSUBSCRIBED] * 2
    assert is_suppressed(any_db_session, "angry@example.org")
    any_db_session.refresh(delivery)
    assert delivery.status == DeliveryStatus.SENT  # it was delivered; they complained


def test_a_complaint_on_a_small_campaign_raises_a_complaint_rate_warning(
    any_db_session, settings
) -> None:
    campaign = make_campaign(any_db_session)
    deliveries = [
        make_delivery(
            any_db_session, campaign, make_subscriber(any_db_session, f"p{i}@example.org")
        )
        for i in range(20)
    ]
    _record(any_db_session, settings, "c2", BounceKind.COMPLAINT, delivery_id=deliveries[0].id)
    warning = any_db_session.scalar(
        select(StaffWarning).where(StaffWarning.kind == StaffWarningKind.COMPLAINT_RATE)
    )
    assert warning is not None and warning.campaign_id == campaign.id
    assert "5.00%" in warning.message


def test_sender_side_rejection_warns_staff_and_never_counts_against_the_subscriber(
    any_db_session, settings
) -> None:
    subscriber = make_subscriber(any_db_session, "fine@example.org")
    campaign = make_campaign(any_db_session)
    delivery = make_delivery(any_db_session, campaign, subscriber)
    diagnostic = "550 5.7.26 Unauthenticated email is not accepted due to DMARC policy"
    for n in range(3):
        _record(
            any_db_session, settings, f"p{n}", BounceKind.SENDER_PROBLEM, delivery_id=delivery.id,
            status_code="5.7.26", diagnostic=diagnostic,
        )  # fmt: skip
    assert subscriber.status == SubscriberStatus.ACTIVE
    assert subscriber.bounce_score == 0
    assert not is_suppressed(any_db_session, "fine@example.org")
    [warning] = any_db_session.scalars(select(StaffWarning)).all()
    assert warning.kind == StaffWarningKind.SENDER_PROBLEM
    assert (warning.campaign_id, warning.occurrences) == (campaign.id, 3)
    assert "DMARC" in warning.message


def test_an_auto_reply_changes_nothing(any_db_session, settings) -> None:
    subscriber = make_subscriber(any_db_session, "away@example.org")
    event = _record(
        any_db_session, settings, "a1", BounceKind.AUTO_REPLY, address="away@example.org"
    )
    assert event is not None and not event.needs_review
    assert subscriber.status == SubscriberStatus.ACTIVE and subscriber.bounce_score == 0


def test_an_unattributable_event_is_kept_for_review(any_db_session, settings) -> None:
    event = _record(any_db_session, settings, "u1", BounceKind.HARD)
    assert event is not None and event.needs_review


def test_an_address_without_subscriber_is_still_suppressed(any_db_session, settings) -> None:
    _record(any_db_session, settings, "x1", BounceKind.HARD, address="<Nobody@Example.NET>")
    assert is_suppressed(any_db_session, "nobody@example.net")


def test_a_hard_bounce_keeps_an_unsubscribed_persons_own_choice(any_db_session, settings) -> None:
    subscriber = make_subscriber(any_db_session, "left@example.org")
    subscriber.status = SubscriberStatus.UNSUBSCRIBED
    any_db_session.flush()
    _record(any_db_session, settings, "k1", BounceKind.HARD, address="left@example.org")
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert is_suppressed(any_db_session, "left@example.org")


def test_a_failed_delivery_moves_from_failed_to_bounced_count(any_db_session, settings) -> None:
    subscriber = make_subscriber(any_db_session, "rej@example.org")
    campaign = make_campaign(any_db_session)
    delivery = make_delivery(any_db_session, campaign, subscriber, DeliveryStatus.FAILED)
    campaign.failed_count = 1
    any_db_session.flush()
    _record(any_db_session, settings, "f1", BounceKind.HARD, delivery_id=delivery.id)
    any_db_session.refresh(campaign)
    counts = any_db_session.get(Campaign, campaign.id)
    assert (counts.failed_count, counts.bounced_count) == (0, 1)
    assert SuppressionReason.HARD_BOUNCE == "hard_bounce"
