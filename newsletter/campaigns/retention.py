"""Delivery history that does not grow forever: old rows folded into per-campaign totals.

With ``DELIVERY_RETENTION_DAYS`` set, the hourly ``fold-deliveries`` beat entry deletes the
delivery rows in a final state (sent, failed, bounced, skipped) whose last change is older than
that many days, and adds them, counted per campaign and status, to ``campaign_delivery_totals``.
Less to seize: who received which mail is no longer kept, only how many did. The campaign page
and the dashboard read rows plus totals (bounces/visibility.py), so their figures do not
change when rows are folded. Bounce events keep their delivery reference as NULL.

Rows still queued, sending or deferred are never folded (invariant `snapshot-once`: every row
ends in a final state first). Each call folds at most ``batch`` rows in one transaction (the
count and the delete in one statement), so a first run on years of history is many short
transactions rather than one long lock.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.campaigns.models import (
    FINAL_DELIVERY_STATUSES,
    CampaignDeliveryTotal,
    Delivery,
    DeliveryStatus,
)
from newsletter.db import utcnow

log = logging.getLogger(__name__)

BATCH = 50_000


def fold_old_deliveries(
    session: Session, retention_days: int, now: dt.datetime | None = None, *, batch: int = BATCH
) -> int:
    """Fold up to ``batch`` final delivery rows older than ``retention_days``; returns how many."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    final = [status.value for status in FINAL_DELIVERY_STATUSES]
    ids = (
        select(Delivery.id)
        .where(Delivery.status.in_(final), Delivery.updated_at < cutoff)
        .order_by(Delivery.id)
        .limit(batch)
    )
    gone = session.execute(
        delete(Delivery)
        .where(Delivery.id.in_(ids.scalar_subquery()))
        .returning(Delivery.campaign_id, Delivery.status)
    ).all()
    counts: dict[tuple[int, DeliveryStatus], int] = {}
    for campaign_id, status in gone:
        counts[(campaign_id, status)] = counts.get((campaign_id, status), 0) + 1
    for (campaign_id, status), count in counts.items():
        total = session.get(CampaignDeliveryTotal, (campaign_id, status))
        if total is None:
            session.add(
                CampaignDeliveryTotal(
                    campaign_id=campaign_id, status=status, count=count, folded_at=now
                )
            )
        else:
            total.count += count
            total.folded_at = now
    session.flush()
    log.info("retention: folded %d delivery row(s) of %d campaign(s)", len(gone), len(
        {campaign_id for campaign_id, _ in counts}))  # fmt: skip
    return len(gone)


def fold_all(session_factory: object, retention_days: int, now: dt.datetime | None = None) -> int:
    """Fold every eligible row, one committed batch at a time (the beat entry)."""
    from newsletter.db import unit_of_work

    folded = 0
    while True:
        with unit_of_work(session_factory) as session:  # type: ignore[arg-type]
            count = fold_old_deliveries(session, retention_days, now)
        folded += count
        if count < BATCH:
            return folded
