"""Figures for the staff dashboard, computed by the database (counts, never row lists).

"Subscribers over time" counts, at the end of each week, the people who had joined by then
and were still active then: still active today, or whose status changed after that week.
It reads only the subscribers table (no history scan), so it stays cheap at 100,000 rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from babel.dates import format_date
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from newsletter.bounces.visibility import CampaignRates, campaigns_rates
from newsletter.campaigns.models import Campaign
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)


@dataclass(frozen=True)
class Point:
    label: str
    value: int


def active_subscribers_over_time(
    db: Session, weeks: int = 12, now: dt.datetime | None = None, language: str = "en"
) -> list[Point]:
    """Weekly counts; each bar is labelled with its day and month in ``language``."""
    now = now or utcnow()
    points = []
    for back in range(weeks - 1, -1, -1):
        at = now - dt.timedelta(weeks=back)
        count = db.scalar(
            select(func.count(Subscriber.id)).where(
                Subscriber.created_at <= at,
                Subscriber.confirmed_at.is_not(None)
                | (Subscriber.status == SubscriberStatus.ACTIVE),
                or_(
                    Subscriber.status == SubscriberStatus.ACTIVE,
                    Subscriber.status_changed_at > at,
                ),
            )
        )
        points.append(Point(format_date(at, "d MMM", locale=language), int(count or 0)))
    return points


def subscribers_by_status(db: Session) -> dict[str, int]:
    rows = db.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status))
    return {str(status): int(count) for status, count in rows}


def active_by_list_and_language(db: Session) -> list[tuple[MailingList, str, int]]:
    rows = db.execute(
        select(Subscription.list_id, Subscriber.language, func.count())
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(
            Subscription.status == SubscriptionStatus.ACTIVE,
            Subscriber.status == SubscriberStatus.ACTIVE,
        )
        .group_by(Subscription.list_id, Subscriber.language)
        .order_by(Subscription.list_id, Subscriber.language)
    ).all()
    lists = {m.id: m for m in db.scalars(select(MailingList))}
    return [(lists[list_id], language, int(count)) for list_id, language, count in rows]


def recent_campaigns(
    db: Session, settings: Settings, limit: int = 10
) -> list[tuple[Campaign, CampaignRates]]:
    """The latest campaigns with their rates, as the bounce module defines them (one
    definition: the dashboard, the campaign page and the staff warnings agree)."""
    campaigns = db.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)).all()
    rates = campaigns_rates(db, [c.id for c in campaigns], settings)
    return [(c, rates[c.id]) for c in campaigns]


def bar_chart(points: list[Point], width: int = 480, height: int = 140) -> dict[str, object]:
    """Geometry of a small bar chart, drawn as inline SVG by the template (no script)."""
    top = max((p.value for p in points), default=0) or 1
    slot = width / max(len(points), 1)
    bars = []
    for index, point in enumerate(points):
        h = round((height - 20) * point.value / top, 1)
        bars.append(
            {
                "x": round(index * slot + 2, 1),
                "y": round(height - 14 - h, 1),
                "w": round(slot - 4, 1),
                "h": h,
                "label": point.label,
                "value": point.value,
                "tx": round(index * slot + slot / 2, 1),
            }
        )
    return {"width": width, "height": height, "bars": bars, "max": top}
