"""Sending a campaign at one wall-clock time in each recipient's zone ("09:00 for everyone").

Why on the Delivery rows: the sending engine already leaves a queued row alone until its
``next_attempt_at`` (retries use it), and the minute tick sweeps rows as they come due
(invariant `far-future-in-the-database`: far-future work in the database). So a digest for 09:00
local is one campaign, snapshotted once, whose rows open zone by zone: Kinshasa's at 08:00 UTC,
Lima's at 14:00 UTC. One UPDATE per distinct zone among the recipients, never one per recipient.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, Delivery
from newsletter.subscribers.models import Subscriber

log = logging.getLogger(__name__)
#: The first zone to reach a given wall-clock time (UTC+14): a local-time campaign is
#: created when it reaches the time there, and each other zone's rows open later.
EARLIEST_ZONE = ZoneInfo("Pacific/Kiritimati")
WALL_CLOCK_FORMAT = "%Y-%m-%dT%H:%M"


def wall_clock(value: dt.datetime) -> str:
    """The naive local time stored on the campaign (``2026-11-01T09:00``)."""
    return value.strftime(WALL_CLOCK_FORMAT)


def instant_in(local_send_at: str, zone: ZoneInfo) -> dt.datetime:
    naive = dt.datetime.strptime(local_send_at, WALL_CLOCK_FORMAT)
    return naive.replace(tzinfo=zone).astimezone(dt.UTC)


def _zone(name: str, fallback: str) -> ZoneInfo:
    for candidate in (name, fallback):
        try:
            return ZoneInfo(candidate) if candidate else ZoneInfo(fallback)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return ZoneInfo("UTC")


def stagger_by_zone(
    session: Session, campaign: Campaign, org_timezone: str, now: dt.datetime
) -> dict[str, dt.datetime]:
    """Hold each queued row until ``campaign.local_send_at`` in its recipient's zone.

    Rows whose local time has already passed (or readers without a zone, once the
    organisation's zone is past it) stay due now. Returns ``{zone: instant}`` of held zones.
    """
    if not campaign.local_send_at:
        return {}
    zones = session.scalars(
        select(func.coalesce(Subscriber.timezone, ""))
        .join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.campaign_id == campaign.id)
        .distinct()
    ).all()
    held: dict[str, dt.datetime] = {}
    for name in zones:
        instant = instant_in(campaign.local_send_at, _zone(name, org_timezone))
        if instant <= now:
            continue
        readers = select(Subscriber.id).where(func.coalesce(Subscriber.timezone, "") == name)
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign.id, Delivery.subscriber_id.in_(readers))
            .values(next_attempt_at=instant)
        )
        held[name or org_timezone] = instant
    log.info("campaign %s: rows held for %d zone(s) until local %s", campaign.id, len(held),
             campaign.local_send_at)  # fmt: skip
    return held
