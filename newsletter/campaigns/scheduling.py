"""What the beat tick finds due (invariant `far-future-in-the-database`: far-future work lives in
the database).

The foundation only finds scheduled campaigns whose time has come; starting them (the
snapshot into Delivery rows) belongs to the sending engine.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, CampaignStatus


def due_campaign_ids(session: Session, now: dt.datetime) -> list[int]:
    """Ids of scheduled campaigns whose ``scheduled_at`` has passed, oldest first."""
    query = (
        select(Campaign.id)
        .where(Campaign.status == CampaignStatus.SCHEDULED, Campaign.scheduled_at <= now)
        .order_by(Campaign.scheduled_at, Campaign.id)
    )
    return list(session.scalars(query))
