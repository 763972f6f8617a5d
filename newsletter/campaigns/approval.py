"""The two-person rule: with ``TWO_PERSON_RULE`` on, every alert and every campaign to more
than ``TWO_PERSON_THRESHOLD`` readers waits for a second editor before anything leaves.

Why in the engine: a compromised account alone must not be able to mail the whole list,
whatever door it uses. So the check sits where every campaign starts
(`newsletter.campaigns.service.start_campaign`: the console, the API, the CLI, the tick,
feed ingestion and a stray start task all end there), and alerts are created held
(`newsletter.content.alerts`). A held campaign is a draft with the reason
`AWAITING_REASON`; `approve` refuses the staff member who asked (or who made it) and
schedules it. Both the request and the approval are written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, CampaignKind, CampaignStatus
from newsletter.campaigns.recipients import sendable_condition
from newsletter.config import Settings
from newsletter.staff.audit import Actor, record
from newsletter.subscribers.models import Subscriber

log = logging.getLogger(__name__)
AWAITING_REASON = "awaiting a second editor's approval"


class ApprovalRefused(ValueError):
    """The approval cannot be given; the text is an English message id, for staff."""


def recipient_count(session: Session, campaign_id: int) -> int:
    """How many readers the campaign would reach if it started now (the snapshot's rule)."""
    count = session.scalar(
        select(func.count()).select_from(Subscriber).where(sendable_condition(campaign_id))
    )
    return int(count or 0)


def needs_second_editor(settings: Settings, session: Session, campaign: Campaign) -> bool:
    """True when the rule is on, nobody approved yet, and the campaign is an alert or goes
    to more than the threshold's readers (tests to one address never need it)."""
    if not settings.two_person_rule or campaign.approved_by_id is not None:
        return False
    if campaign.kind == CampaignKind.TEST:
        return False
    if campaign.kind == CampaignKind.ALERT:
        return True
    return recipient_count(session, campaign.id) > settings.two_person_threshold


def is_awaiting(campaign: Campaign) -> bool:
    return campaign.status == CampaignStatus.DRAFT and campaign.status_reason == AWAITING_REASON


def hold(
    session: Session,
    campaign: Campaign,
    actor: Actor,
    now: dt.datetime,
    *,
    requested_by_id: int | None = None,
) -> None:
    """Keep the campaign a draft until a second editor approves; audited as the request.

    ``requested_by_id``: the staff member asking (default: the actor's, else the campaign's
    author), who may not approve it.
    """
    campaign.status = CampaignStatus.DRAFT
    campaign.status_reason = AWAITING_REASON
    campaign.approval_requested_by_id = (
        requested_by_id or actor.staff_user_id or campaign.approval_requested_by_id
    ) or campaign.created_by_id
    campaign.approval_requested_at = now
    session.flush()
    record(
        session,
        actor,
        "campaign.approval_request",
        object_type="campaign",
        object_id=campaign.id,
        detail={"kind": str(campaign.kind), "requested_by": campaign.approval_requested_by_id},
    )
    log.info("campaign %s held for a second editor", campaign.id)


def approve(session: Session, campaign: Campaign, actor: Actor, now: dt.datetime) -> Campaign:
    """The second editor's approval: the campaign is scheduled (now, or at its time).

    Refused when it is not waiting, when the approver is not a staff member, or when the
    approver is the one who asked or who made it. The caller starts it after commit.
    """
    if not is_awaiting(campaign):
        raise ApprovalRefused("This campaign is not waiting for approval.")
    approver = actor.staff_user_id
    if approver is None:
        raise ApprovalRefused("Only a staff member can approve.")
    if approver in {campaign.approval_requested_by_id, campaign.created_by_id}:
        raise ApprovalRefused("A second editor must approve: not the one who asked for it.")
    campaign.approved_by_id, campaign.approved_at = approver, now
    campaign.status = CampaignStatus.SCHEDULED
    campaign.status_reason = ""
    if campaign.scheduled_at is None or campaign.scheduled_at < now:
        campaign.scheduled_at = now
    session.flush()
    record(
        session,
        actor,
        "campaign.approve",
        object_type="campaign",
        object_id=campaign.id,
        detail={"requested_by": campaign.approval_requested_by_id},
    )
    return campaign


def awaiting(session: Session) -> list[Campaign]:
    """Campaigns waiting for a second editor, oldest request first."""
    return list(
        session.scalars(
            select(Campaign)
            .where(
                Campaign.status == CampaignStatus.DRAFT, Campaign.status_reason == AWAITING_REASON
            )
            .order_by(Campaign.id)
        )
    )
