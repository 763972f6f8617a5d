"""The beat tick's work on campaigns (invariant `far-future-in-the-database`: far-future work lives
in the database).

Once a minute: find scheduled campaigns whose time has come, take back claims of workers that
died (invariant `claim-and-record`), close campaigns with nothing left, and say which sending
campaigns have due work (retries whose backoff has passed, reclaimed rows, rows whose batch task was
lost with the broker) so the caller can enqueue sweeps after commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, CampaignStatus, Delivery
from newsletter.campaigns.scheduling import due_campaign_ids
from newsletter.campaigns.service import PENDING, finish_if_done
from newsletter.config import Settings
from newsletter.delivery.claims import reclaim_stale

log = logging.getLogger(__name__)
MAX_SWEEPS_PER_CAMPAIGN = 4


@dataclass
class TickPlan:
    """What to enqueue after the tick's transaction commits."""

    due: list[int] = field(default_factory=list)  # scheduled campaigns to start
    sweeps: dict[int, int] = field(default_factory=dict)  # campaign id -> sweep tasks
    reclaimed: dict[int, int] = field(default_factory=dict)
    finished: list[int] = field(default_factory=list)


def due_work(session: Session, now: dt.datetime) -> dict[int, int]:
    """``{campaign_id: due deliveries}`` for sending campaigns (queued, or deferred and due)."""
    rows = session.execute(
        select(Delivery.campaign_id, func.count())
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(
            Campaign.status == CampaignStatus.SENDING,
            Delivery.status.in_(PENDING),
            or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
        )
        .group_by(Delivery.campaign_id)
    ).all()
    return {campaign_id: count for campaign_id, count in rows}


def tick(session: Session, settings: Settings, now: dt.datetime) -> TickPlan:
    plan = TickPlan(due=due_campaign_ids(session, now))
    plan.reclaimed = reclaim_stale(session, now, settings.send_claim_timeout_seconds)
    for campaign_id, count in plan.reclaimed.items():
        log.warning("campaign %s: %d stale claim(s) taken back", campaign_id, count)
    due = due_work(session, now)
    plan.sweeps = {
        campaign_id: min(MAX_SWEEPS_PER_CAMPAIGN, math.ceil(count / settings.send_batch_size))
        for campaign_id, count in due.items()
    }
    sending = session.scalars(
        select(Campaign.id).where(Campaign.status == CampaignStatus.SENDING)
    ).all()
    plan.finished = [cid for cid in sending if cid not in due and finish_if_done(session, cid, now)]
    return plan
