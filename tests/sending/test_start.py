"""Starting a campaign: the one-statement snapshot of its recipients (PostgreSQL and SQLite)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from newsletter.campaigns import service
from newsletter.campaigns.recipients import id_ranges
from newsletter.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.subscribers.status import suppress_address
from tests.conftest import make_test_settings
from tests.sending.helpers import add_campaign, add_list, add_subscribers


@pytest.fixture
def settings(tmp_path):
    return make_test_settings(tmp_path, send_batch_size=2)


def test_snapshot_takes_active_subscribers_once_in_their_language_minus_suppressions(
    any_db_session, settings
) -> None:
    session = any_db_session
    press, events, other = (add_list(session, slug) for slug in ("press", "events", "other"))
    both = add_subscribers(session, ["en@x.org", "fr@x.org", "de@x.org"], [press.id, events.id],
                           languages=["en", "fr", "de"])  # fmt: skip
    add_subscribers(session, ["elsewhere@x.org"], [other.id])
    add_subscribers(session, ["pending@x.org"], [press.id], status=SubscriberStatus.PENDING)
    left = add_subscribers(session, ["left@x.org"], [press.id])
    session.execute(
        Subscription.__table__.update()
        .where(Subscription.subscriber_id == left[0])
        .values(status=SubscriptionStatus.UNSUBSCRIBED)
    )
    add_subscribers(session, ["suppressed@x.org"], [events.id])
    suppress_address(session, "suppressed@x.org", SuppressionReason.HARD_BOUNCE)
    campaign = add_campaign(session, [press.id, events.id], languages=["en", "fr"])

    batches = service.start_campaign(session, campaign.id, settings=settings)

    rows = session.execute(
        select(Delivery.subscriber_id, Delivery.language, Delivery.status)
        .where(Delivery.campaign_id == campaign.id)
        .order_by(Delivery.subscriber_id)
    ).all()
    assert [(sid, lang, str(status)) for sid, lang, status in rows] == [
        (both[0], "en", "queued"),
        (both[1], "fr", "queued"),
        (both[2], "en", "queued"),  # German is not offered: the default language
    ]
    session.refresh(campaign)
    assert campaign.status is CampaignStatus.SENDING and campaign.total_count == 3
    assert len(batches.ranges) == 2  # batch size 2
    assert service.start_campaign(session, campaign.id, settings=settings).ranges == []


def test_a_campaign_without_the_default_language_falls_back_to_one_it_has(
    any_db_session, settings
) -> None:
    session = any_db_session
    press = add_list(session, "press")
    add_subscribers(session, ["en@x.org"], [press.id], languages=["en"])
    campaign = add_campaign(session, [press.id], languages=["fr"])
    service.start_campaign(session, campaign.id, settings=settings)
    assert session.scalar(select(Delivery.language)) == "fr"


def test_a_campaign_with_no_recipients_is_sent_at_once(any_db_session, settings) -> None:
    session = any_db_session
    campaign = add_campaign(session, [add_list(session, "empty").id])
    assert service.start_campaign(session, campaign.id, settings=settings).ranges == []
    assert session.get(Campaign, campaign.id).status is CampaignStatus.SENT


def test_id_ranges_cover_every_id_in_batches_of_the_given_size() -> None:
    assert id_ranges([1, 2, 3, 7, 9], 2) == [(1, 2), (3, 7), (9, 9)]
    assert id_ranges([], 5) == []
