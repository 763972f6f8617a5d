"""Rows the bounce tests need: subscribers on lists, a campaign, its deliveries."""

from __future__ import annotations

from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, CampaignKind, Delivery, DeliveryStatus
from newsletter.rendering.mime import message_id
from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
)


def make_subscriber(
    session: Session, address: str, *, lists: list[MailingList] | None = None
) -> Subscriber:
    subscriber = Subscriber(
        email=address, email_hash=address_hash(address), language="en",
        status=SubscriberStatus.ACTIVE,
    )  # fmt: skip
    session.add(subscriber)
    session.flush()
    for mailing_list in lists or []:
        session.add(Subscription(subscriber_id=subscriber.id, list_id=mailing_list.id))
    session.flush()
    return subscriber


def make_list(session: Session, slug: str = "press") -> MailingList:
    mailing_list = MailingList(slug=slug)
    session.add(mailing_list)
    session.flush()
    return mailing_list


def make_campaign(session: Session, name: str = "Statement") -> Campaign:
    campaign = Campaign(kind=CampaignKind.NEWSLETTER, name=name)
    session.add(campaign)
    session.flush()
    return campaign


def make_delivery(
    session: Session,
    campaign: Campaign,
    subscriber: Subscriber,
    status: DeliveryStatus = DeliveryStatus.SENT,
) -> Delivery:
    delivery = Delivery(
        campaign_id=campaign.id, subscriber_id=subscriber.id, language="en", status=status
    )
    session.add(delivery)
    if status == DeliveryStatus.SENT:
        campaign.sent_count += 1
    campaign.total_count += 1
    session.flush()
    # what the engine records at send time (`rendering.mime.message_id`)
    delivery.message_id = message_id(campaign.public_id, delivery.id, "coalition.example.org")
    session.flush()
    return delivery
