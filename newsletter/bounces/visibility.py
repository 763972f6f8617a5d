"""What staff see of bounces: per-campaign rates, the suppression list, audited lifting.

Mailbox providers throttle or junk a sender whose complaint rate passes about 0.3% (Gmail's
and Yahoo's bulk-sender rules) or whose bounce rate is high; staff must learn it from the
campaign page, not from a collapsing open rate. Lifting a suppression mails an address that
once bounced or complained, so it needs a reason and leaves an audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.bounces.models import BounceEvent, BounceKind, StaffWarningKind
from newsletter.bounces.warnings import raise_warning
from newsletter.campaigns.models import CampaignDeliveryTotal, Delivery, DeliveryStatus
from newsletter.config import Settings, get_settings
from newsletter.db import utcnow
from newsletter.i18n import gettext as _
from newsletter.staff.models import AuditLogEntry
from newsletter.subscribers import status as subscriber_status
from newsletter.subscribers.addresses import InvalidAddress, address_hash, normalise_address
from newsletter.subscribers.models import Subscriber, SubscriberStatus, Suppression

log = logging.getLogger(__name__)

# Messages that left us: a bounce is counted against what was handed to a relay.
_LEFT_US = (DeliveryStatus.SENT, DeliveryStatus.BOUNCED)


@dataclass(frozen=True)
class CampaignRates:
    """The one definition of a campaign's delivery, bounce and complaint figures.

    ``sent`` counts the messages that left us (handed to a relay: sent or later bounced);
    every rate is over it, as mailbox providers count. The campaign page, the dashboard and
    the staff warnings all read this, so their numbers agree.
    """

    campaign_id: int
    sent: int
    bounced: int
    hard: int
    soft: int
    sender_problems: int
    complaints: int
    complaint_threshold: float
    bounce_threshold: float

    @property
    def delivered(self) -> int:
        return self.sent - self.bounced

    @property
    def delivery_rate(self) -> float:
        return self.delivered / self.sent if self.sent else 0.0

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sent if self.sent else 0.0

    @property
    def complaints_too_high(self) -> bool:
        return self.complaints > 0 and self.complaint_rate > self.complaint_threshold

    @property
    def bounces_too_high(self) -> bool:
        return self.bounced > 0 and self.bounce_rate > self.bounce_threshold


def campaigns_rates(
    session: Session, campaign_ids: Sequence[int], settings: Settings | None = None
) -> dict[int, CampaignRates]:
    """`CampaignRates` of several campaigns in two grouped queries (the dashboard's list)."""
    settings = settings or get_settings()
    ids = list(campaign_ids)
    by_status: dict[int, dict[DeliveryStatus, int]] = {i: {} for i in ids}
    by_kind: dict[int, dict[BounceKind, int]] = {i: {} for i in ids}
    if ids:
        for campaign_id, status, count in session.execute(
            select(Delivery.campaign_id, Delivery.status, func.count())
            .where(Delivery.campaign_id.in_(ids), Delivery.status.in_(_LEFT_US))
            .group_by(Delivery.campaign_id, Delivery.status)
        ):
            by_status[campaign_id][status] = count
        # Rows that retention folded away (campaigns/retention.py) still count.
        for campaign_id, status, count in session.execute(
            select(
                CampaignDeliveryTotal.campaign_id,
                CampaignDeliveryTotal.status,
                CampaignDeliveryTotal.count,
            ).where(
                CampaignDeliveryTotal.campaign_id.in_(ids),
                CampaignDeliveryTotal.status.in_(_LEFT_US),
            )
        ):
            by_status[campaign_id][status] = by_status[campaign_id].get(status, 0) + count
        for bounced_in, kind, bounced in session.execute(
            select(
                BounceEvent.campaign_id,
                BounceEvent.kind,
                func.count(func.distinct(BounceEvent.subscriber_id)),
            )
            .where(BounceEvent.campaign_id.in_(ids))
            .group_by(BounceEvent.campaign_id, BounceEvent.kind)
        ):
            if bounced_in is not None:
                by_kind[bounced_in][kind] = bounced
    return {
        i: CampaignRates(
            campaign_id=i,
            sent=sum(by_status[i].values()),
            bounced=by_status[i].get(DeliveryStatus.BOUNCED, 0),
            hard=by_kind[i].get(BounceKind.HARD, 0),
            soft=by_kind[i].get(BounceKind.SOFT, 0),
            sender_problems=by_kind[i].get(BounceKind.SENDER_PROBLEM, 0),
            complaints=by_kind[i].get(BounceKind.COMPLAINT, 0),
            complaint_threshold=settings.complaint_rate_warning,
            bounce_threshold=settings.bounce_rate_warning,
        )
        for i in ids
    }


def campaign_rates(
    session: Session, campaign_id: int, settings: Settings | None = None
) -> CampaignRates:
    """Bounce and complaint figures of one campaign, from its deliveries and events."""
    return campaigns_rates(session, [campaign_id], settings)[campaign_id]


def check_campaign_rates(
    session: Session,
    campaign_id: int,
    *,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> CampaignRates:
    """Compute the rates and open (or count) a staff warning for each threshold passed."""
    rates = campaign_rates(session, campaign_id, settings)
    if rates.complaints_too_high:
        raise_warning(
            session,
            StaffWarningKind.COMPLAINT_RATE,
            campaign_id=campaign_id,
            message=f"complaint rate {rates.complaint_rate:.2%} ({rates.complaints} of "
            f"{rates.sent}) is above {rates.complaint_threshold:.2%}",
            now=now,
        )
    if rates.bounces_too_high:
        raise_warning(
            session,
            StaffWarningKind.BOUNCE_RATE,
            campaign_id=campaign_id,
            message=f"bounce rate {rates.bounce_rate:.2%} ({rates.bounced} of {rates.sent}) "
            f"is above {rates.bounce_threshold:.2%}",
            now=now,
        )
    return rates


@dataclass(frozen=True)
class SuppressedEntry:
    """One suppressed address; ``address`` is None when no subscriber holds it any more."""

    suppression_id: int
    address: str | None
    subscriber_id: int | None
    reason: str
    source: str
    created_at: dt.datetime


def suppressed_addresses(
    session: Session, *, search: str = "", limit: int = 100, offset: int = 0
) -> list[SuppressedEntry]:
    """The suppression list, newest first, with the address where a subscriber still has it.

    ``search`` narrows it to addresses containing the text, plus the suppression of exactly
    that address when no subscriber holds it any more (found by its hash: nothing else is kept).
    """
    query = select(Suppression, Subscriber.id, Subscriber.email, Subscriber.status).outerjoin(
        Subscriber, Subscriber.email_hash == Suppression.address_hash
    )
    search = search.strip()
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches = Subscriber.email.ilike(f"%{escaped}%", escape="\\") & (
            Subscriber.status != SubscriberStatus.ERASED
        )
        try:
            exact = address_hash(normalise_address(search))
        except InvalidAddress:
            query = query.where(matches)
        else:
            query = query.where(matches | (Suppression.address_hash == exact))
    rows = session.execute(
        query.order_by(Suppression.created_at.desc(), Suppression.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [
        SuppressedEntry(
            suppression_id=suppression.id,
            address=email if status != SubscriberStatus.ERASED else None,
            subscriber_id=subscriber_id,
            reason=str(suppression.reason),
            source=suppression.source,
            created_at=suppression.created_at,
        )
        for suppression, subscriber_id, email, status in rows
    ]


class LiftRefused(ValueError):
    """The suppression cannot be lifted; the text (translated) says why, for the staff member."""


def lift_suppression(
    session: Session,
    suppression_id: int,
    *,
    reason: str,
    actor_type: str = "staff",
    actor_id: int | None = None,
    ip: str | None = None,
) -> None:
    """Remove a suppression with a stated reason, leaving an audit entry.

    A bounced subscriber becomes active again (score reset); a complainer's subscriptions
    were ended, so they stay unsubscribed until they subscribe again. Erasure suppressions
    are never lifted: the person asked to be forgotten.
    """
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise LiftRefused(_("Please give a reason for lifting this suppression."))
    suppression = session.get(Suppression, suppression_id)
    if suppression is None:
        raise LiftRefused(_("This suppression does not exist (it may have been lifted already)."))
    if suppression.reason == "erased":
        raise LiftRefused(_("This person asked to be erased; their suppression cannot be lifted."))
    subscriber = session.scalar(
        select(Subscriber).where(Subscriber.email_hash == suppression.address_hash)
    )
    if subscriber is not None:
        _restore(session, subscriber, reason)
    session.add(
        AuditLogEntry(
            at=utcnow(),
            actor_type=actor_type,
            actor_id=actor_id,
            action="suppression.lift",
            object_type="subscriber" if subscriber is not None else "suppression",
            object_id=str(subscriber.id if subscriber is not None else suppression.id),
            ip=ip,
            detail={"reason": reason[:500], "suppression_reason": str(suppression.reason)},
        )
    )
    session.delete(suppression)
    session.flush()
    log.info("suppression %s lifted by %s %s", suppression_id, actor_type, actor_id)


def _restore(session: Session, subscriber: Subscriber, reason: str) -> None:
    subscriber.bounce_score = 0.0
    subscriber.bounce_score_at = None
    to = {
        SubscriberStatus.BOUNCED: SubscriberStatus.ACTIVE,
        SubscriberStatus.COMPLAINED: SubscriberStatus.UNSUBSCRIBED,
    }.get(subscriber.status)
    if to is not None:
        subscriber_status.change_status(
            session, subscriber, to, f"suppression lifted: {reason}", actor="staff"
        )


def events_needing_review(
    session: Session, *, limit: int = 100, offset: int = 0
) -> list[BounceEvent]:
    """Bounce events nobody could attribute or classify, newest first (staff decide)."""
    query = (
        select(BounceEvent)
        .where(BounceEvent.needs_review.is_(True))
        .order_by(BounceEvent.received_at.desc(), BounceEvent.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(query))
