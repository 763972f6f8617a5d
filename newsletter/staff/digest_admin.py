"""Approving the monthly digest when ``DIGEST_HOLD_FOR_APPROVAL`` holds it.

A held digest is a draft digest campaign with the reason "held for approval"
(`newsletter.content.mailings.create_once`). Approving schedules it for now: the caller
enqueues the start after commit, and if that message is lost the beat's tick starts it anyway
(invariant `far-future-in-the-database`). Discarding cancels it; its period key stays taken, so the
beat never builds that month's digest again (staff decided it should not go). Both are audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.campaigns import service
from newsletter.campaigns.models import Campaign, CampaignKind, CampaignStatus
from newsletter.content.mailings import HELD_REASON
from newsletter.db import utcnow
from newsletter.staff import audit


class DigestRefused(ValueError):
    """The digest is not (or no longer) waiting for approval; the text is a message id."""


def _held():  # type: ignore[no-untyped-def]
    return select(Campaign).where(
        Campaign.kind == CampaignKind.DIGEST,
        Campaign.status == CampaignStatus.DRAFT,
        Campaign.status_reason == HELD_REASON,
    )


def held_digests(db: Session) -> list[Campaign]:
    """Digests waiting for staff, oldest first."""
    return list(db.scalars(_held().order_by(Campaign.id)))


def held_digest(db: Session, campaign_id: int) -> Campaign | None:
    return db.scalar(_held().where(Campaign.id == campaign_id))


def _take(db: Session, campaign_id: int) -> Campaign:
    campaign = db.scalar(_held().where(Campaign.id == campaign_id).with_for_update())
    if campaign is None:  # approved or discarded meanwhile (a second click, a colleague)
        raise DigestRefused("This digest is no longer waiting for approval.")
    return campaign


def approve(db: Session, actor: audit.Actor, campaign_id: int) -> Campaign:
    """Schedule the held digest for now; the caller enqueues its start after commit."""
    campaign = _take(db, campaign_id)
    service.schedule_campaign(db, campaign.id, utcnow())
    campaign.status_reason = ""
    # a person looked at it: that is the approval the two-person rule asks for (the digest
    # is the system's own, so no first person asked)
    campaign.approved_by_id, campaign.approved_at = actor.staff_user_id, utcnow()
    audit.record(db, actor, "digest.approve", object_type="campaign", object_id=campaign.id)
    return campaign


def discard(db: Session, actor: audit.Actor, campaign_id: int) -> Campaign:
    """Cancel the held digest: nothing is sent for that month."""
    campaign = _take(db, campaign_id)
    service.cancel_campaign(db, campaign.id, reason="digest discarded by staff")
    audit.record(db, actor, "digest.discard", object_type="campaign", object_id=campaign.id)
    return campaign
