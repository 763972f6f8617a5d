"""Seeding campaigns for the sending tests: subscribers, lists, subscriptions, variants."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from newsletter.models import (
    Campaign,
    CampaignKind,
    CampaignVariant,
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
)
from newsletter.subscribers.addresses import address_hash


@dataclass
class Seeded:
    campaign_id: int
    list_ids: list[int]
    addresses: list[str]


def add_list(session: Session, slug: str) -> MailingList:
    mailing_list = MailingList(slug=slug)
    session.add(mailing_list)
    session.flush()
    return mailing_list


def add_subscribers(
    session: Session,
    addresses: Sequence[str],
    list_ids: Sequence[int],
    *,
    languages: Sequence[str] = ("en", "fr"),
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
) -> list[int]:
    """Bulk-insert subscribers (languages alternate) subscribed to every list in ``list_ids``."""
    rows = [
        {
            "email": address,
            "email_hash": address_hash(address),
            "name": f"Reader {index}",
            "language": languages[index % len(languages)],
            "status": status,
        }
        for index, address in enumerate(addresses)
    ]
    session.execute(insert(Subscriber), rows)
    ids = list(
        session.scalars(
            select(Subscriber.id).where(Subscriber.email.in_(addresses)).order_by(Subscriber.id)
        )
    )
    if list_ids:
        session.execute(
            insert(Subscription),
            [{"subscriber_id": sid, "list_id": lid} for sid in ids for lid in list_ids],
        )
    return ids


def add_campaign(
    session: Session,
    list_ids: Sequence[int],
    *,
    languages: Sequence[str] = ("en", "fr"),
    name: str = "November update",
) -> Campaign:
    subjects = {
        "en": "Coalition update: what changed this month",
        "fr": "Nouvelles de la coalition : ce mois-ci",
    }
    bodies = {
        "en": "We met the ministry on **Tuesday**. Read the [full note](https://example.org/note?a=1&b=2).",
        "fr": "Nous avons rencontré le ministère **mardi**. Lire la [note](https://example.org/note).",
    }
    campaign = Campaign(kind=CampaignKind.NEWSLETTER, name=name, template_name="newsletter")
    campaign.lists = [session.get(MailingList, list_id) for list_id in list_ids]
    campaign.variants = [
        CampaignVariant(language=lang, subject=subjects[lang], body_markdown=bodies[lang])
        for lang in languages
    ]
    session.add(campaign)
    session.flush()
    return campaign


def seed_campaign(session: Session, count: int, *, domain: str = "example.org") -> Seeded:
    """A two-language campaign to ``count`` active subscribers of one list."""
    mailing_list = add_list(session, "press")
    addresses = [f"reader{index}@{domain}" for index in range(count)]
    add_subscribers(session, addresses, [mailing_list.id])
    campaign = add_campaign(session, [mailing_list.id])
    return Seeded(campaign.id, [mailing_list.id], addresses)
