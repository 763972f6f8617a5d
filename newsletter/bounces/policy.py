"""The bounce policy: what one bounce, complaint or unsubscribe does (invariant
`suppressed-before-next-send`).

Every source (SMTP-time rejections and deliveries whose retries ran out, from the sending engine;
DSNs and ARF reports from the inbound receiver or the IMAP mailbox; provider webhooks) ends in
`record_bounce`. Replays do
nothing: ``(source, source_event_id)`` is unique, so a webhook delivered twice or a mailbox
polled twice is recorded and acted on once.

The transition table (``TRANSITIONS`` below is the same table, as code):

==============  ==================  =====================  ===========  ======================
kind            subscriber status   suppression            delivery     also
==============  ==================  =====================  ===========  ======================
hard            bounced             hard_bounce, at once   bounced
soft            bounced once the    soft_bounces, once     bounced      score += weight, after
                score >= threshold  score >= threshold                  decay (half-life)
complaint       complained          complaint, at once     unchanged    unsubscribed from
                                                                        every list
unsubscribe     unsubscribed        none                   unchanged    every list (webhooks)
sender_problem  unchanged           none                   bounced      staff warning; never
                                                                        counted against them
auto_reply      unchanged           none                   unchanged    recorded, ignored
unknown         unchanged           none                   unchanged    needs staff review
==============  ==================  =====================  ===========  ======================

Reasons decide the kind (``REASON_POLICY`` below): a finding's reason (`classify`) is one row,
and only a reason that says the address is dead suppresses at once.

=================================================  ===============  ============================
reason                                             kind             why
=================================================  ===============  ============================
user_unknown, domain_not_found                     hard             the address is dead
mailbox_disabled                                   soft (hard with  closed or suspended account;
                                                   the setting)     ``BOUNCE_DISABLED_IS_HARD``
mailbox_full, message_too_large, expired,          soft             may recover: counted, decays
temporary_dns, temporary_failure, undetermined
policy_block, sender_blocklisted, rate_limited,    sender_problem   the receiver refuses *us*:
auth_failure, relay_denied, greylisted,                             staff warning per campaign,
sender_address                                                      never against the person
delay, delivered, auto_reply                       auto_reply       recorded at most; nothing
complaint                                          complaint        as above
unsubscribe                                        unsubscribe      as above
=================================================  ===============  ============================

The soft score is Mailman's idea with a continuous decay instead of a reset: each soft bounce
adds ``BOUNCE_SOFT_WEIGHT`` to the score decayed by ``0.5 ** (days / half_life)``, and at
most one soft bounce a day counts (a mailbox down for an afternoon is not five bounces).
Defaults (threshold 5, weight 1, half-life 30 days): soft bounces on six consecutive days, or
a weekly newsletter soft-bouncing every week for about two months, suppress the address.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceEvent, BounceKind, BounceReason
from newsletter.bounces.warnings import raise_warning
from newsletter.campaigns.models import Campaign, Delivery, DeliveryStatus
from newsletter.config import Settings, get_settings
from newsletter.db import utcnow
from newsletter.links import UnsubscribeScope
from newsletter.observability import metrics
from newsletter.subscribers import service as subscriber_service
from newsletter.subscribers import status as subscriber_status
from newsletter.subscribers.addresses import InvalidAddress, address_hash, normalise_address
from newsletter.subscribers.models import Subscriber, SubscriberStatus, SuppressionReason

log = logging.getLogger(__name__)

SOFT_BOUNCE_MIN_INTERVAL = dt.timedelta(days=1)
# Statuses a bounce may overwrite; a person's own choice (unsubscribed), a staff removal or an
# erasure says more than a bounce and is kept (the address is still suppressed).
_OVERWRITABLE = frozenset({SubscriberStatus.ACTIVE, SubscriberStatus.PENDING})
_COUNTER_OF = {
    DeliveryStatus.SENT: Campaign.sent_count,
    DeliveryStatus.FAILED: Campaign.failed_count,
    DeliveryStatus.DEFERRED: Campaign.deferred_count,
    DeliveryStatus.SKIPPED: Campaign.skipped_count,
}


@dataclass
class Context:
    """What one event is about, resolved once, handed to the transition's action."""

    session: Session
    settings: Settings
    event: BounceEvent
    subscriber: Subscriber | None
    address: str | None
    now: dt.datetime


@dataclass(frozen=True)
class Transition:
    marks_delivery_bounced: bool
    action: Callable[[Context], None]


def _set_status(ctx: Context, to: SubscriberStatus, reason: str, *, over_bounced: bool) -> None:
    subscriber = ctx.subscriber
    if subscriber is None:
        return
    allowed = _OVERWRITABLE | ({SubscriberStatus.BOUNCED} if over_bounced else set())
    if subscriber.status in allowed:
        subscriber_status.change_status(ctx.session, subscriber, to, reason, actor="bounces")


def _suppress(ctx: Context, reason: SuppressionReason) -> None:
    if ctx.address:
        subscriber_status.suppress_address(ctx.session, ctx.address, reason, ctx.event.source)


def _hard(ctx: Context) -> None:
    _set_status(
        ctx, SubscriberStatus.BOUNCED, f"hard bounce ({ctx.event.source})", over_bounced=False
    )
    _suppress(ctx, SuppressionReason.HARD_BOUNCE)


def _soft(ctx: Context) -> None:
    subscriber = ctx.subscriber
    if subscriber is None:
        return
    last = subscriber.bounce_score_at
    if last is not None and ctx.now - last < SOFT_BOUNCE_MIN_INTERVAL:
        return
    score = decayed_score(subscriber.bounce_score or 0.0, last, ctx.now, ctx.settings)
    subscriber.bounce_score = score + ctx.settings.bounce_soft_weight
    subscriber.bounce_score_at = ctx.now
    log.info("subscriber %s soft bounce score %.2f", subscriber.id, subscriber.bounce_score)
    if subscriber.bounce_score >= ctx.settings.bounce_soft_threshold:
        reason = f"soft bounces (score {subscriber.bounce_score:.1f})"
        _set_status(ctx, SubscriberStatus.BOUNCED, reason, over_bounced=False)
        _suppress(ctx, SuppressionReason.SOFT_BOUNCES)


def _unsubscribe_everything(ctx: Context, reason: str) -> None:
    """Through the subscriber journey's one unsubscribe path (it keeps a stronger status)."""
    if ctx.subscriber is not None:
        scope = UnsubscribeScope(ctx.subscriber.public_id)
        subscriber_service.unsubscribe(ctx.session, scope, reason, "bounces")


def _complaint(ctx: Context) -> None:
    reason = f"complaint ({ctx.event.source})"
    _set_status(ctx, SubscriberStatus.COMPLAINED, reason, over_bounced=True)
    _unsubscribe_everything(ctx, reason)
    _suppress(ctx, SuppressionReason.COMPLAINT)


def _unsubscribe(ctx: Context) -> None:
    _unsubscribe_everything(ctx, f"unsubscribed through {ctx.event.source}")


def _sender_problem(ctx: Context) -> None:
    raise_warning_for_event(ctx.session, ctx.event, ctx.now)


def _nothing(ctx: Context) -> None:
    return None


def _review(ctx: Context) -> None:
    ctx.event.needs_review = True


TRANSITIONS: dict[BounceKind, Transition] = {
    BounceKind.HARD: Transition(marks_delivery_bounced=True, action=_hard),
    BounceKind.SOFT: Transition(marks_delivery_bounced=True, action=_soft),
    BounceKind.COMPLAINT: Transition(marks_delivery_bounced=False, action=_complaint),
    BounceKind.UNSUBSCRIBE: Transition(marks_delivery_bounced=False, action=_unsubscribe),
    BounceKind.SENDER_PROBLEM: Transition(marks_delivery_bounced=True, action=_sender_problem),
    BounceKind.AUTO_REPLY: Transition(marks_delivery_bounced=False, action=_nothing),
    BounceKind.UNKNOWN: Transition(marks_delivery_bounced=False, action=_review),
}
assert set(TRANSITIONS) == set(BounceKind), "every kind needs a row in the table"


@dataclass(frozen=True)
class ReasonPolicy:
    kind: BounceKind
    why: str


_SENDER_SIDE = "the receiver refuses our sending: a staff warning, never the subscriber's fault"
_MAY_RECOVER = "the mailbox may take mail again: a decaying soft score"
_NOTHING = "not a failure: nothing happens to the subscriber"
REASON_POLICY: dict[BounceReason, ReasonPolicy] = {
    BounceReason.USER_UNKNOWN: ReasonPolicy(BounceKind.HARD, "the mailbox does not exist"),
    BounceReason.DOMAIN_NOT_FOUND: ReasonPolicy(BounceKind.HARD, "the domain does not exist"),
    BounceReason.MAILBOX_DISABLED: ReasonPolicy(BounceKind.SOFT, "the account is off, for now"),
    BounceReason.MAILBOX_FULL: ReasonPolicy(BounceKind.SOFT, _MAY_RECOVER),
    BounceReason.MESSAGE_TOO_LARGE: ReasonPolicy(BounceKind.SOFT, _MAY_RECOVER),
    BounceReason.EXPIRED: ReasonPolicy(BounceKind.SOFT, _MAY_RECOVER),
    BounceReason.TEMPORARY_DNS: ReasonPolicy(BounceKind.SOFT, _MAY_RECOVER),
    BounceReason.TEMPORARY_FAILURE: ReasonPolicy(BounceKind.SOFT, _MAY_RECOVER),
    BounceReason.UNDETERMINED: ReasonPolicy(
        BounceKind.SOFT, "a failure nobody can read: soft, and never suppressed by one message"
    ),
    BounceReason.POLICY_BLOCK: ReasonPolicy(BounceKind.SENDER_PROBLEM, _SENDER_SIDE),
    BounceReason.SENDER_BLOCKLISTED: ReasonPolicy(BounceKind.SENDER_PROBLEM, _SENDER_SIDE),
    BounceReason.RATE_LIMITED: ReasonPolicy(BounceKind.SENDER_PROBLEM, _SENDER_SIDE),
    BounceReason.AUTH_FAILURE: ReasonPolicy(BounceKind.SENDER_PROBLEM, _SENDER_SIDE),
    BounceReason.RELAY_DENIED: ReasonPolicy(BounceKind.SENDER_PROBLEM, _SENDER_SIDE),
    BounceReason.GREYLISTED: ReasonPolicy(BounceKind.SENDER_PROBLEM, _SENDER_SIDE),
    BounceReason.SENDER_ADDRESS: ReasonPolicy(BounceKind.SENDER_PROBLEM, _SENDER_SIDE),
    BounceReason.DELAY: ReasonPolicy(BounceKind.AUTO_REPLY, _NOTHING),
    BounceReason.DELIVERED: ReasonPolicy(BounceKind.AUTO_REPLY, _NOTHING),
    BounceReason.AUTO_REPLY: ReasonPolicy(BounceKind.AUTO_REPLY, _NOTHING),
    BounceReason.COMPLAINT: ReasonPolicy(BounceKind.COMPLAINT, "the person reported us as spam"),
    BounceReason.UNSUBSCRIBE: ReasonPolicy(BounceKind.UNSUBSCRIBE, "the person left"),
}
assert set(REASON_POLICY) == set(BounceReason), "every reason needs a row in the table"
SUPPRESSING_REASONS = frozenset(
    reason for reason, row in REASON_POLICY.items() if row.kind == BounceKind.HARD
)


def kind_for_reason(reason: BounceReason, settings: Settings | None = None) -> BounceKind:
    """The kind the policy gives ``reason``; a disabled mailbox is soft when configured so."""
    disabled_is_hard = settings is not None and settings.bounce_disabled_is_hard
    if reason == BounceReason.MAILBOX_DISABLED and disabled_is_hard:
        return BounceKind.HARD
    return REASON_POLICY[reason].kind


def decayed_score(
    score: float, since: dt.datetime | None, now: dt.datetime, settings: Settings
) -> float:
    """The soft-bounce score ``score`` (set at ``since``) has decayed to by ``now``."""
    if since is None or score <= 0:
        return max(score, 0.0)
    days = max((now - since).total_seconds(), 0.0) / 86400.0
    return score * 0.5 ** (days / settings.bounce_score_half_life_days)


def raise_warning_for_event(session: Session, event: BounceEvent, now: dt.datetime) -> None:
    """A sender-side rejection: staff must fix authentication or reputation, not the list."""
    from newsletter.bounces.models import StaffWarningKind

    message = f"{event.status_code or ''} {event.diagnostic}".strip()[:1000]
    raise_warning(
        session,
        StaffWarningKind.SENDER_PROBLEM,
        campaign_id=event.campaign_id,
        bounce_event_id=event.id,
        message=message or "a receiving server refused our mail for a sender-side reason",
        now=now,
    )


def _normalised(address: str | None) -> str | None:
    if not address:
        return None
    cleaned = address.strip().strip("<>").strip()
    try:
        return normalise_address(cleaned)
    except InvalidAddress:
        return cleaned.lower() if "@" in cleaned else None


def _mark_delivery_bounced(session: Session, delivery: Delivery, event: BounceEvent) -> None:
    """Delivery -> bounced, moving the campaign's count from the old status to ``bounced``."""
    previous = delivery.status
    if previous == DeliveryStatus.BOUNCED:
        return
    delivery.status = DeliveryStatus.BOUNCED
    delivery.last_reply = f"{event.status_code or ''} {event.diagnostic}".strip()[:500]
    values: dict[object, object] = {Campaign.bounced_count: Campaign.bounced_count + 1}
    counter = _COUNTER_OF.get(previous)
    if counter is not None:
        values[counter] = counter - 1
    session.execute(update(Campaign).where(Campaign.id == delivery.campaign_id).values(values))


def _insert_once(session: Session, event: BounceEvent) -> bool:
    """Insert ``event`` unless its (source, source_event_id) exists; False on a replay."""
    exists = session.scalar(
        select(BounceEvent.id).where(
            BounceEvent.source == event.source,
            BounceEvent.source_event_id == event.source_event_id,
        )
    )
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:  # a concurrent insert of the same event won the race
        return False
    return True


def record_bounce(
    session: Session,
    *,
    source: str,
    source_event_id: str,
    kind: BounceKind,
    diagnostic: str,
    status_code: str | None = None,
    delivery_id: int | None = None,
    address: str | None = None,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
    reason: BounceReason | None = None,
    needs_review: bool = False,
) -> BounceEvent | None:
    """Record one event and apply the policy table; None when it was already recorded.

    ``delivery_id`` (from a VERP address or the engine) wins over ``address`` to find the
    subscriber: it is signed, while a DSN's recipient may be a forwarding alias. With a
    ``reason``, the reason table decides the kind (``kind`` is then only the caller's guess).
    """
    settings = settings or get_settings()
    now = now or utcnow()
    kind = kind_for_reason(BounceReason(reason), settings) if reason else BounceKind(kind)
    delivery = session.get(Delivery, delivery_id) if delivery_id is not None else None
    subscriber = session.get(Subscriber, delivery.subscriber_id) if delivery else None
    normalised = _normalised(address)
    if subscriber is None and normalised:
        subscriber = session.scalar(
            select(Subscriber).where(Subscriber.email_hash == address_hash(normalised))
        )
    if subscriber is not None and subscriber.status != SubscriberStatus.ERASED:
        normalised = subscriber.email
    event = BounceEvent(
        source=source[:32],
        source_event_id=source_event_id[:255],
        kind=kind,
        reason=BounceReason(reason) if reason else None,
        status_code=(status_code or None) and status_code[:16],
        diagnostic=diagnostic[:4000],
        delivery_id=delivery.id if delivery else None,
        subscriber_id=subscriber.id if subscriber else None,
        campaign_id=delivery.campaign_id if delivery else None,
        needs_review=needs_review
        or (subscriber is None and normalised is None and kind != BounceKind.AUTO_REPLY),
        received_at=now,
    )
    if not _insert_once(session, event):
        log.info("bounce event from %s replayed: ignored", source)  # its id may hold an address
        return None
    metrics.BOUNCES.labels(bounce_kind=str(kind), source=source[:32]).inc()
    transition = TRANSITIONS[kind]
    if transition.marks_delivery_bounced and delivery is not None:
        _mark_delivery_bounced(session, delivery, event)
    transition.action(Context(session, settings, event, subscriber, normalised, now))
    if kind == BounceKind.COMPLAINT and event.campaign_id is not None:
        from newsletter.bounces.visibility import check_campaign_rates

        check_campaign_rates(session, event.campaign_id, settings=settings, now=now)
    event.processed_at = now
    session.flush()
    log.info(
        "bounce event %s: %s from %s (delivery %s, subscriber %s)",
        event.id,
        kind,
        source,
        event.delivery_id,
        event.subscriber_id,
    )
    return event
