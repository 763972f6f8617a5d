"""Status changes carry a reason and history; suppressions are idempotent, hashed only."""

from sqlalchemy import select

from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
)
from newsletter.subscribers.status import (
    change_status,
    end_all_subscriptions,
    is_suppressed,
    suppress_address,
)


def make_subscriber(session, address: str = "amina@example.org") -> Subscriber:
    subscriber = Subscriber(
        email=address, email_hash=address_hash(address), language="fr",
        status=SubscriberStatus.ACTIVE,
    )  # fmt: skip
    session.add(subscriber)
    session.flush()
    return subscriber


def test_a_status_change_keeps_its_reason_and_a_history_line(any_db_session) -> None:
    subscriber = make_subscriber(any_db_session)
    assert change_status(
        any_db_session, subscriber, SubscriberStatus.UNSUBSCRIBED, "one-click", actor="person"
    )
    assert not change_status(any_db_session, subscriber, SubscriberStatus.UNSUBSCRIBED, "again")
    any_db_session.flush()
    assert subscriber.status_reason == "one-click"
    [line] = subscriber.status_changes
    assert (line.from_status, line.to_status, line.actor) == ("active", "unsubscribed", "person")


def test_ending_all_subscriptions(any_db_session) -> None:
    subscriber = make_subscriber(any_db_session)
    lists = [MailingList(slug="press"), MailingList(slug="digest")]
    any_db_session.add_all(lists)
    any_db_session.flush()
    for mailing_list in lists:
        any_db_session.add(Subscription(subscriber_id=subscriber.id, list_id=mailing_list.id))
    any_db_session.flush()
    end_all_subscriptions(any_db_session, subscriber)
    statuses = any_db_session.scalars(
        select(Subscription.status).where(Subscription.subscriber_id == subscriber.id)
    ).all()
    assert statuses == [SubscriptionStatus.UNSUBSCRIBED] * 2


def test_suppression_is_idempotent_and_stores_only_a_hash(any_db_session) -> None:
    first = suppress_address(any_db_session, "amina@example.org", SuppressionReason.HARD_BOUNCE)
    again = suppress_address(any_db_session, "Amina@Example.org", SuppressionReason.COMPLAINT)
    assert first.id == again.id and again.reason == SuppressionReason.HARD_BOUNCE
    assert is_suppressed(any_db_session, "AMINA@example.org")
    assert not is_suppressed(any_db_session, "other@example.org")
    stored = any_db_session.scalars(select(Suppression.address_hash)).all()
    assert all("@" not in value for value in stored)
