"""Test data for staff-console tests: lists and subscribers written straight to the models."""

from __future__ import annotations

from sqlalchemy.orm import Session

from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.models import (
    MailingList,
    MailingListTranslation,
    Subscriber,
    SubscriberStatus,
    Subscription,
)

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def make_list(db: Session, slug: str, en: str, fr: str | None = None) -> MailingList:
    mailing_list = MailingList(slug=slug)
    mailing_list.translations.append(MailingListTranslation(language="en", name=en))
    if fr:
        mailing_list.translations.append(MailingListTranslation(language="fr", name=fr))
    db.add(mailing_list)
    db.flush()
    return mailing_list


def make_subscriber(
    db: Session,
    email: str,
    *,
    name: str = "",
    language: str = "en",
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
    lists: list[MailingList] = (),  # type: ignore[assignment]
) -> Subscriber:
    subscriber = Subscriber(
        email=email, email_hash=address_hash(email), name=name, language=language, status=status
    )
    db.add(subscriber)
    db.flush()
    for mailing_list in lists:
        db.add(Subscription(subscriber_id=subscriber.id, list_id=mailing_list.id))
    db.flush()
    return subscriber
