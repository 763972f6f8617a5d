"""The journey's domain functions on real PostgreSQL (and SQLite where it matters)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.abuse.ratelimit import MemoryRateLimiter
from newsletter.config import Settings
from newsletter.links import UnsubscribeScope
from newsletter.subscribers import service
from newsletter.subscribers.inputs import InvalidInput, SignUp
from newsletter.subscribers.models import (
    MailingList,
    MailingListTranslation,
    Subscriber,
    SubscriberStatus,
    SubscriberStatusChange,
    Subscription,
    SubscriptionStatus,
)
from newsletter.subscribers.status import suppress_address
from newsletter.tokens import ExpiredToken, InvalidToken, signer
from tests.conftest import make_test_settings

pytestmark = pytest.mark.date_sensitive


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_test_settings(tmp_path, confirmations_per_address_per_day=2)


def add_lists(session: Session) -> list[MailingList]:
    lists = []
    for slug, en, fr in [
        ("press", "Press releases", "Communiqués"),
        ("events", "Events", "Événements"),
    ]:
        mailing_list = MailingList(slug=slug, is_public=True)
        mailing_list.translations = [
            MailingListTranslation(language="en", name=en),
            MailingListTranslation(language="fr", name=fr),
        ]
        session.add(mailing_list)
        lists.append(mailing_list)
    session.add(MailingList(slug="board", is_public=False))
    session.flush()
    return lists


def sign_up(email: str = "ada@example.org", **kw: object) -> SignUp:
    values: dict[str, object] = {
        "email": email,
        "name": "Ada",
        "language": "en",
        "list_slugs": ["press"],
        "consent_text_version": "2026-11",
        "source": "hosted",
        "ip": "203.0.113.77",
    }
    values.update(kw)
    return SignUp(**values)  # type: ignore[arg-type]


def confirmed(session: Session, settings: Settings, email: str = "ada@example.org") -> Subscriber:
    outcome = service.subscribe(session, settings, sign_up(email), MemoryRateLimiter())
    subscriber = session.get(Subscriber, outcome.subscriber_id)
    assert subscriber is not None
    service.confirm(session, settings, service.confirm_token(settings, subscriber))
    return subscriber


def test_sign_up_is_pending_with_consent_record_and_truncated_ip(db_session, settings):
    add_lists(db_session)
    outcome = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    assert outcome.email == "confirm"
    subscriber = db_session.get(Subscriber, outcome.subscriber_id)
    assert subscriber.status == SubscriberStatus.PENDING
    assert subscriber.consent_text_version == "2026-11"
    assert subscriber.consent_source == "hosted"
    assert subscriber.consent_ip == "203.0.113.0"
    assert subscriber.consent_at is not None
    history = subscriber.status_changes
    assert [(h.from_status, h.to_status) for h in history] == [(None, "pending")]


@pytest.mark.parametrize(
    ("mode", "ip", "kept"),
    [
        ("drop", "203.0.113.77", None),
        ("truncate", "2001:db8:abcd:12::7", "2001:db8:abcd::"),
        ("full", "203.0.113.77", "203.0.113.77"),
        ("truncate", "not-an-ip", None),
    ],
)
def test_consent_ip_follows_the_privacy_setting(mode, ip, kept):
    assert service.truncate_ip(ip, mode) == kept


def test_topics_must_be_public_lists(db_session, settings):
    add_lists(db_session)
    with pytest.raises(InvalidInput) as error:
        service.subscribe(db_session, settings, sign_up(list_slugs=["board"]), MemoryRateLimiter())
    assert error.value.field == "lists"
    assert db_session.scalar(select(Subscriber)) is None


def test_confirm_activates_once_and_welcomes_once(db_session, settings):
    add_lists(db_session)
    outcome = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    subscriber = db_session.get(Subscriber, outcome.subscriber_id)
    token = service.confirm_token(settings, subscriber)
    assert service.confirm(db_session, settings, token).email == "welcome"
    assert subscriber.status == SubscriberStatus.ACTIVE
    assert subscriber.confirmed_at is not None
    assert service.confirm(db_session, settings, token).email is None


def test_confirm_token_expires_and_cannot_be_tampered_or_reused_for_another_purpose(
    db_session, settings
):
    add_lists(db_session)
    outcome = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    subscriber = db_session.get(Subscriber, outcome.subscriber_id)
    old = signer(settings.secret_key, "confirm").sign(
        subscriber.public_id, max_age_seconds=60, now=0
    )
    with pytest.raises(ExpiredToken):
        service.confirm(db_session, settings, old)
    token = service.confirm_token(settings, subscriber)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidToken):
        service.confirm(db_session, settings, tampered)
    preferences = signer(settings.secret_key, "preferences").sign(subscriber.public_id)
    with pytest.raises(InvalidToken):
        service.confirm(db_session, settings, preferences)
    assert subscriber.status == SubscriberStatus.PENDING


def test_same_outcome_shape_for_new_pending_and_active_addresses(db_session, settings):
    add_lists(db_session)
    limiter = MemoryRateLimiter()
    new = service.subscribe(db_session, settings, sign_up("new@example.org"), limiter)
    pending = service.subscribe(db_session, settings, sign_up("new@example.org"), limiter)
    active = confirmed(db_session, settings, "active@example.org")
    again = service.subscribe(
        db_session, settings, sign_up("active@example.org", name="X"), limiter
    )
    assert (new.email, pending.email, again.email) == ("confirm", "confirm", "already")
    assert active.name == "Ada"  # a stranger's second sign-up changes nothing
    assert active.status == SubscriberStatus.ACTIVE


def test_already_subscribed_email_is_rate_limited(db_session, settings):
    add_lists(db_session)
    confirmed(db_session, settings)
    limiter = MemoryRateLimiter()
    kinds = [service.subscribe(db_session, settings, sign_up(), limiter).email for _ in range(3)]
    assert kinds == ["already", None, None]


def test_confirmation_emails_are_capped_per_address_per_day(db_session, settings):
    add_lists(db_session)
    limiter = MemoryRateLimiter()
    kinds = [service.subscribe(db_session, settings, sign_up(), limiter).email for _ in range(4)]
    assert kinds == ["confirm", "confirm", None, None]


def test_suppressed_address_gets_no_email_and_no_row(db_session, settings):
    add_lists(db_session)
    suppress_address(db_session, "gone@example.org", service_reason())
    outcome = service.subscribe(
        db_session, settings, sign_up("gone@example.org"), MemoryRateLimiter()
    )
    assert outcome == service.JourneyOutcome(None, None)
    assert db_session.scalar(select(Subscriber)) is None


def service_reason():
    from newsletter.subscribers.models import SuppressionReason

    return SuppressionReason.HARD_BOUNCE


def test_unsubscribe_from_one_list_keeps_the_others(any_db_session, tmp_path):
    settings = make_test_settings(tmp_path)
    lists = add_lists(any_db_session)
    outcome = service.subscribe(
        any_db_session, settings, sign_up(list_slugs=["press", "events"]), MemoryRateLimiter()
    )
    subscriber = any_db_session.get(Subscriber, outcome.subscriber_id)
    scope = UnsubscribeScope.of(subscriber.public_id, [lists[0].id])
    assert service.unsubscribe(any_db_session, scope, "one-click", "subscriber") is subscriber
    any_db_session.flush()
    statuses = dict(
        any_db_session.execute(
            select(Subscription.list_id, Subscription.status).where(
                Subscription.subscriber_id == subscriber.id
            )
        ).all()
    )
    assert statuses == {
        lists[0].id: SubscriptionStatus.UNSUBSCRIBED,
        lists[1].id: SubscriptionStatus.ACTIVE,
    }
    assert subscriber.status == SubscriberStatus.PENDING


def test_unsubscribe_from_everything_records_reason_and_actor_and_is_idempotent(
    any_db_session, tmp_path
):
    settings = make_test_settings(tmp_path)
    add_lists(any_db_session)
    subscriber = confirmed(any_db_session, settings)
    scope = UnsubscribeScope(subscriber.public_id)
    service.unsubscribe(any_db_session, scope, "mailto unsubscribe", "inbound")
    service.unsubscribe(any_db_session, scope, "mailto unsubscribe", "inbound")
    any_db_session.flush()
    assert subscriber.status == SubscriberStatus.UNSUBSCRIBED
    assert subscriber.status_reason == "mailto unsubscribe"
    last = any_db_session.scalars(
        select(SubscriberStatusChange).order_by(SubscriberStatusChange.id.desc())
    ).first()
    assert (last.to_status, last.reason, last.actor) == (
        "unsubscribed",
        "mailto unsubscribe",
        "inbound",
    )
    assert service.active_list_ids(any_db_session, subscriber) == set()
    assert service.unsubscribe(any_db_session, UnsubscribeScope("nobody"), "x", "y") is None


def test_unsubscribe_keeps_a_stronger_status(db_session, settings):
    add_lists(db_session)
    subscriber = confirmed(db_session, settings)
    from newsletter.subscribers.status import change_status

    change_status(db_session, subscriber, SubscriberStatus.COMPLAINED, "abuse report")
    service.unsubscribe(db_session, UnsubscribeScope(subscriber.public_id), "link", "subscriber")
    assert subscriber.status == SubscriberStatus.COMPLAINED


def test_resubscribing_after_unsubscribe_needs_a_new_confirmation(db_session, settings):
    add_lists(db_session)
    subscriber = confirmed(db_session, settings)
    service.unsubscribe(db_session, UnsubscribeScope(subscriber.public_id), "link", "subscriber")
    outcome = service.subscribe(db_session, settings, sign_up(), MemoryRateLimiter())
    assert outcome.email == "confirm"
    assert subscriber.status == SubscriberStatus.PENDING


def test_preferences_update_name_language_timezone_and_topics(db_session, settings):
    lists = add_lists(db_session)
    subscriber = confirmed(db_session, settings)
    service.update_preferences(
        db_session,
        subscriber,
        service.Preferences(
            name="Ada L.", language="fr", timezone="Africa/Harare", list_slugs=["events"]
        ),
    )
    db_session.flush()
    assert (subscriber.name, subscriber.language, subscriber.timezone) == (
        "Ada L.",
        "fr",
        "Africa/Harare",
    )
    assert service.active_list_ids(db_session, subscriber) == {lists[1].id}


def test_purge_deletes_only_stale_unconfirmed_sign_ups(db_session, settings):
    from newsletter.subscribers.data_rights import purge_expired_pending

    add_lists(db_session)
    limiter = MemoryRateLimiter()
    stale = service.subscribe(db_session, settings, sign_up("stale@example.org"), limiter)
    fresh = service.subscribe(db_session, settings, sign_up("fresh@example.org"), limiter)
    active = confirmed(db_session, settings, "active@example.org")
    db_session.get(Subscriber, stale.subscriber_id).status_changed_at -= dt.timedelta(days=8)
    db_session.flush()
    assert purge_expired_pending(db_session, settings) == 1
    db_session.expire_all()
    remaining = set(db_session.scalars(select(Subscriber.id)))
    assert remaining == {fresh.subscriber_id, active.id}
