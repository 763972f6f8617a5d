"""The subscriber journey: sign up, confirm (double opt-in), preferences, unsubscribe.

Plain functions over a session; the web routes and the inbound receiver are thin shells that
call one of them and commit. Emails are *decided* here (the returned ``email`` kind) and
sent by the caller after the commit (``notifications.send_journey_email``), so a person
never receives a link to a row that a rolled-back transaction did not keep.

No enumeration: :func:`subscribe` behaves the same, from the outside, for a new, pending,
active or suppressed address. Only the mailbox owner learns the difference (a confirmation
email, an "already subscribed" email, or nothing), and those emails are capped per day.

Erasure, export and the purge of stale sign-ups live in ``data_rights.py``.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.abuse.ratelimit import DAY, RateLimiter
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.i18n import gettext as _
from newsletter.links import UnsubscribeScope
from newsletter.rendering.editions import FULL, Edition
from newsletter.subscribers.addresses import address_hash
from newsletter.subscribers.inputs import InvalidInput, SignUp
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    SubscriberStatusChange,
    Subscription,
    SubscriptionStatus,
)
from newsletter.subscribers.status import change_status, end_all_subscriptions, is_suppressed
from newsletter.tokens import InvalidToken, signer

log = logging.getLogger(__name__)

CONFIRM = "confirm"
EmailKind = Literal["confirm", "welcome", "already"]
#: Statuses a new sign-up may (re)start from; the others are decisions we keep.
_RESTARTABLE = {None, SubscriberStatus.PENDING, SubscriberStatus.UNSUBSCRIBED}


@dataclass(frozen=True)
class JourneyOutcome:
    """What happened, for the caller: which subscriber, and which email to send after commit."""

    subscriber_id: int | None
    email: EmailKind | None


def truncate_ip(ip: str | None, mode: str) -> str | None:
    """The IP kept in a consent record: none, its /24 (IPv4) or /48 (IPv6), or all of it."""
    if not ip or mode == "drop":
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if mode == "full":
        return str(address)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def public_lists(session: Session) -> list[MailingList]:
    return list(
        session.scalars(select(MailingList).where(MailingList.is_public).order_by(MailingList.id))
    )


def _chosen_lists(session: Session, slugs: list[str]) -> list[MailingList]:
    offered = public_lists(session)
    chosen = [mailing_list for mailing_list in offered if mailing_list.slug in slugs]
    if offered and not chosen:
        raise InvalidInput("lists", _("Please choose at least one topic."))
    return chosen


def find_by_address(session: Session, address: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.email_hash == address_hash(address)))


def edition_for_address(session: Session, address: str) -> Edition:
    """The edition the subscriber with this address chose (the full one for anyone else):
    mail that is not a campaign (an event registrant's) follows the same choice."""
    subscriber = find_by_address(session, address)
    if subscriber is None:
        return FULL
    return Edition.of(subscriber.discreet, subscriber.low_bandwidth)


def subscribe(
    session: Session, settings: Settings, sign_up: SignUp, limiter: RateLimiter
) -> JourneyOutcome:
    """Record a sign-up (pending until confirmed) and say which email, if any, to send."""
    lists = _chosen_lists(session, sign_up.list_slugs)
    subscriber = find_by_address(session, sign_up.email)
    if subscriber is not None and subscriber.status not in _RESTARTABLE:
        return _known_address(subscriber, limiter, settings)
    if subscriber is None and is_suppressed(session, sign_up.email):
        log.info("sign-up for a suppressed address ignored")
        return JourneyOutcome(None, None)
    reason = f"signed up via {sign_up.source}"
    subscriber = subscriber or _new_subscriber(session, sign_up, reason)
    _record_consent(subscriber, sign_up, settings)
    subscriber.name = sign_up.name
    subscriber.language = sign_up.language
    # A sign-up can turn the editions on, never off: whoever types an address in a form must
    # not be able to take its owner out of the discreet edition (the preference centre can).
    subscriber.discreet = bool(subscriber.discreet) or sign_up.discreet
    subscriber.low_bandwidth = bool(subscriber.low_bandwidth) or sign_up.low_bandwidth
    if sign_up.timezone:
        subscriber.timezone = sign_up.timezone
    change_status(session, subscriber, SubscriberStatus.PENDING, reason, actor="subscriber")
    _set_lists(session, subscriber, lists)
    session.flush()
    cap = limiter.hit(
        f"confirm:{subscriber.email_hash}", settings.confirmations_per_address_per_day, DAY
    )
    if not cap.allowed:
        log.info("subscriber %s: confirmation cap reached, no email", subscriber.id)
        return JourneyOutcome(subscriber.id, None)
    return JourneyOutcome(subscriber.id, "confirm")


def _known_address(
    subscriber: Subscriber, limiter: RateLimiter, settings: Settings
) -> JourneyOutcome:
    """An active (or suppressed) person signs up again: change nothing, maybe tell them."""
    if subscriber.status != SubscriberStatus.ACTIVE:
        log.info("sign-up for subscriber %s (%s) ignored", subscriber.id, subscriber.status)
        return JourneyOutcome(subscriber.id, None)
    cap = limiter.hit(
        f"already:{subscriber.email_hash}", settings.already_subscribed_emails_per_day, DAY
    )
    return JourneyOutcome(subscriber.id, "already" if cap.allowed else None)


def _new_subscriber(session: Session, sign_up: SignUp, reason: str) -> Subscriber:
    """Insert the row; a concurrent sign-up for the same address wins the race harmlessly."""
    subscriber = Subscriber(
        email=sign_up.email,
        email_hash=address_hash(sign_up.email),
        language=sign_up.language,
        status=SubscriberStatus.PENDING,
        status_reason=reason,
    )
    subscriber.status_changes.append(
        SubscriberStatusChange(
            to_status=str(SubscriberStatus.PENDING), reason=reason, actor="subscriber"
        )
    )
    try:
        with session.begin_nested():
            session.add(subscriber)
            session.flush()
    except IntegrityError:
        existing = find_by_address(session, sign_up.email)
        if existing is None:
            raise
        return existing
    return subscriber


def _record_consent(subscriber: Subscriber, sign_up: SignUp, settings: Settings) -> None:
    subscriber.consent_at = utcnow()
    subscriber.consent_source = sign_up.source
    subscriber.consent_text_version = sign_up.consent_text_version
    subscriber.consent_ip = truncate_ip(sign_up.ip, settings.consent_ip)


def _set_lists(session: Session, subscriber: Subscriber, lists: list[MailingList]) -> None:
    """Exactly ``lists`` active for this subscriber; the others kept, marked unsubscribed."""
    wanted = {mailing_list.id for mailing_list in lists}
    current = {
        subscription.list_id: subscription
        for subscription in session.scalars(
            select(Subscription).where(Subscription.subscriber_id == subscriber.id)
        )
    }
    for list_id in wanted - current.keys():
        session.add(Subscription(subscriber_id=subscriber.id, list_id=list_id))
    for list_id, subscription in current.items():
        subscription.status = (
            SubscriptionStatus.ACTIVE if list_id in wanted else SubscriptionStatus.UNSUBSCRIBED
        )


def confirm_token(settings: Settings, subscriber: Subscriber) -> str:
    """A signed, expiring token good only for confirming this sign-up."""
    return signer(settings.secret_key, CONFIRM).sign(
        subscriber.public_id, max_age_seconds=settings.confirm_link_hours * 3600
    )


def confirm_url(settings: Settings, subscriber: Subscriber) -> str:
    return f"{settings.base_url}/confirm/{confirm_token(settings, subscriber)}"


def subscriber_for_confirm(session: Session, settings: Settings, token: str) -> Subscriber:
    """The subscriber a genuine, unexpired confirm token names; InvalidToken otherwise."""
    public_id = signer(settings.secret_key, CONFIRM).verify(token)
    return _by_public_id(session, public_id)


def confirm(session: Session, settings: Settings, token: str) -> JourneyOutcome:
    """Confirm a pending sign-up (a POST from the landing page); welcome email on success.

    Confirming twice is harmless (no second welcome). A person who has since unsubscribed,
    or been suppressed, is not brought back by an old confirmation link.
    """
    subscriber = subscriber_for_confirm(session, settings, token)
    if subscriber.status == SubscriberStatus.ACTIVE:
        return JourneyOutcome(subscriber.id, None)
    if subscriber.status != SubscriberStatus.PENDING:
        raise InvalidToken("sign-up no longer pending")
    change_status(
        session, subscriber, SubscriberStatus.ACTIVE, "confirmed by email link", actor="subscriber"
    )
    subscriber.confirmed_at = utcnow()
    return JourneyOutcome(subscriber.id, "welcome")


def _by_public_id(session: Session, public_id: str) -> Subscriber:
    subscriber = session.scalar(select(Subscriber).where(Subscriber.public_id == public_id))
    if subscriber is None or subscriber.status == SubscriberStatus.ERASED:
        raise InvalidToken("unknown subscriber")
    return subscriber


def subscriber_by_public_id(session: Session, public_id: str) -> Subscriber:
    """The subscriber a verified token names; InvalidToken when gone or erased."""
    return _by_public_id(session, public_id)


def unsubscribe(
    session: Session, scope: UnsubscribeScope, reason: str, actor: str
) -> Subscriber | None:
    """Unsubscribe from the scope's lists (``scope.list_ids``) or from everything; idempotent.

    Used by the web pages, RFC 8058 one-click, the mailto receiver and complaint handling.
    From lists: those subscriptions end (the ones the person is on; a campaign to several lists
    scopes its links to all of them), the others and the person's status stay.
    From everything: every subscription ends and the status becomes "unsubscribed" with
    ``reason``, unless a stronger status (bounced, complained, removed, erased) already
    stands. Returns the subscriber, or None when the token names nobody (erased).
    """
    subscriber = session.scalar(
        select(Subscriber).where(Subscriber.public_id == scope.subscriber_public_id)
    )
    if subscriber is None or subscriber.status == SubscriberStatus.ERASED:
        return None
    if not scope.everything:
        subscriptions = session.scalars(
            select(Subscription).where(
                Subscription.subscriber_id == subscriber.id,
                Subscription.list_id.in_(scope.list_ids),
                Subscription.status != SubscriptionStatus.UNSUBSCRIBED,
            )
        )
        for subscription in subscriptions:
            subscription.status = SubscriptionStatus.UNSUBSCRIBED
            log.info("subscriber %s left list %s (%s)", subscriber.id, subscription.list_id, reason)
        return subscriber
    end_all_subscriptions(session, subscriber)
    if subscriber.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING):
        change_status(session, subscriber, SubscriberStatus.UNSUBSCRIBED, reason, actor=actor)
    return subscriber


@dataclass(frozen=True)
class Preferences:
    name: str
    language: str
    timezone: str | None
    list_slugs: list[str]
    discreet: bool = False
    low_bandwidth: bool = False


def active_list_ids(session: Session, subscriber: Subscriber) -> set[int]:
    return set(
        session.scalars(
            select(Subscription.list_id).where(
                Subscription.subscriber_id == subscriber.id,
                Subscription.status == SubscriptionStatus.ACTIVE,
            )
        )
    )


def update_preferences(session: Session, subscriber: Subscriber, preferences: Preferences) -> None:
    """Save name, language, time zone and topics chosen in the preference centre.

    Choosing topics again after unsubscribing from everything re-activates the person:
    they are on a page reached from a link only their mailbox received.
    """
    offered = public_lists(session)
    chosen = [item for item in offered if item.slug in preferences.list_slugs]
    subscriber.name = preferences.name
    subscriber.language = preferences.language
    subscriber.timezone = preferences.timezone
    subscriber.discreet = preferences.discreet
    subscriber.low_bandwidth = preferences.low_bandwidth
    private_active = active_list_ids(session, subscriber) - {item.id for item in offered}
    keep = chosen + [session.get(MailingList, list_id) for list_id in private_active]
    _set_lists(session, subscriber, [item for item in keep if item is not None])
    if chosen and subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        change_status(
            session,
            subscriber,
            SubscriberStatus.ACTIVE,
            "topics chosen in the preference centre",
            actor="subscriber",
        )
    log.info("subscriber %s preferences updated", subscriber.id)
