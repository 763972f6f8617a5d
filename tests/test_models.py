"""The data model on both databases: constraints the send path relies on, UTC timestamps."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.models import (
    BounceEvent,
    BounceKind,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    MailingList,
    MailingListTranslation,
    Post,
    PostKind,
    PostTranslation,
    Subscriber,
    SubscriberStatus,
    Subscription,
)
from newsletter.subscribers.addresses import address_hash, normalise_address

pytestmark = pytest.mark.date_sensitive


def make_subscriber(session: Session, email: str, language: str = "en") -> Subscriber:
    address = normalise_address(email)
    subscriber = Subscriber(
        email=address,
        email_hash=address_hash(address),
        language=language,
        status=SubscriberStatus.ACTIVE,
        status_reason="confirmed by email",
    )
    session.add(subscriber)
    session.flush()
    return subscriber


def make_campaign(session: Session) -> Campaign:
    campaign = Campaign(kind=CampaignKind.ALERT, name="Plenary statement")
    session.add(campaign)
    session.flush()
    return campaign


def test_core_records_round_trip_with_aware_utc_times(any_db_session: Session) -> None:
    session = any_db_session
    press = MailingList(
        slug="press-releases",
        translations=[
            MailingListTranslation(language="en", name="Press releases"),
            MailingListTranslation(language="fr", name="Communiqués de presse"),
        ],
    )
    session.add(press)
    reader = make_subscriber(session, "Reader@Example.ORG", language="fr")
    session.add(Subscription(subscriber=reader, mailing_list=press))
    post = Post(
        kind=PostKind.EVENT,
        event_start=dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC),
        event_timezone="Europe/London",
        translations=[PostTranslation(language="en", title="Webinar: sourcing in practice")],
    )
    session.add(post)
    session.commit()
    session.expire_all()

    stored = session.scalars(select(Subscriber)).one()
    assert stored.email == "Reader@example.org"
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == dt.timedelta(0)
    assert press.name_in("fr") == "Communiqués de presse"
    assert press.name_in("pt") == "Press releases"
    event = session.scalars(select(Post)).one()
    assert event.event_start == dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)


def test_naive_datetimes_are_refused(any_db_session: Session) -> None:
    campaign = make_campaign(any_db_session)
    campaign.scheduled_at = dt.datetime(2026, 12, 1, 9, 0)
    with pytest.raises(Exception, match="naive datetime"):
        any_db_session.flush()


def test_one_delivery_per_campaign_and_subscriber(any_db_session: Session) -> None:
    session = any_db_session
    reader = make_subscriber(session, "one@example.org")
    campaign = make_campaign(session)
    session.add(Delivery(campaign_id=campaign.id, subscriber_id=reader.id, language="en"))
    session.flush()
    session.add(Delivery(campaign_id=campaign.id, subscriber_id=reader.id, language="en"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_replayed_bounce_event_is_refused_by_the_database(any_db_session: Session) -> None:
    session = any_db_session
    for _ in range(2):
        session.add(BounceEvent(source="ses", source_event_id="evt-1", kind=BounceKind.HARD))
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_same_address_cannot_subscribe_twice(any_db_session: Session) -> None:
    make_subscriber(any_db_session, "twice@example.org")
    with pytest.raises(IntegrityError):
        make_subscriber(any_db_session, "twice@example.org")


def test_deleting_a_campaign_removes_its_deliveries(any_db_session: Session) -> None:
    session = any_db_session
    campaign = make_campaign(session)
    for n in range(3):
        reader = make_subscriber(session, f"r{n}@example.org")
        session.add(Delivery(campaign_id=campaign.id, subscriber_id=reader.id, language="en"))
    session.flush()
    session.delete(campaign)
    session.flush()
    assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_status_enums_store_their_values(any_db_session: Session) -> None:
    session = any_db_session
    campaign = make_campaign(session)
    campaign.status = CampaignStatus.SCHEDULED
    reader = make_subscriber(session, "enum@example.org")
    session.add(
        Delivery(
            campaign_id=campaign.id,
            subscriber_id=reader.id,
            language="en",
            status=DeliveryStatus.DEFERRED,
        )
    )
    session.flush()
    raw = session.connection().exec_driver_sql("SELECT status FROM deliveries").scalar()
    assert raw == "deferred"
