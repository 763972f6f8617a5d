"""Claiming deliveries for one worker, releasing them, and taking back claims of dead workers.

Invariant `claim-and-record`: a worker claims rows with one UPDATE whose sub-select is ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL, so two workers given overlapping ranges never take the same row and
never wait for each other. On SQLite (the embedded default) the same single statement is safe
without row locks: SQLite runs one writer at a time, and the UPDATE re-checks the status it changes.

A claimed row is in status ``sending`` with ``claimed_at``/``claimed_by`` set. The worker records
outcomes chunk by chunk; if it dies, its unrecorded rows stay ``sending`` and `reclaim_stale`
(the beat tick) puts them back in the queue once ``claimed_at`` is older than the claim timeout.
Those rows are the only ones that can be sent twice: at most one chunk.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from newsletter.db import rows_changed

PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)
#: A campaign in another status (draft, scheduled, sent) has no delivery in status sending.
CAN_HOLD_CLAIMS = (
    CampaignStatus.SENDING,
    CampaignStatus.PAUSED,
    CampaignStatus.CANCELLED,
    CampaignStatus.FAILED,
)
_NO_SYNC = {"synchronize_session": False}


@dataclass(frozen=True)
class Claimed:
    """One delivery this worker now owns."""

    id: int
    subscriber_id: int
    language: str
    attempts: int
    was_deferred: bool


def worker_id() -> str:
    """Who holds a claim: host and process id (shown to staff when a claim is stale)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def claim(
    session: Session,
    campaign_id: int,
    first_id: int,
    last_id: int,
    worker: str,
    now: dt.datetime,
    limit: int,
) -> list[Claimed]:
    """Take up to ``limit`` due, unclaimed deliveries of the campaign with ids in the range."""
    due = select(Delivery.id).where(
        Delivery.campaign_id == campaign_id,
        Delivery.id.between(first_id, last_id),
        Delivery.status.in_(PENDING),
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )
    due = due.order_by(Delivery.id).limit(limit).with_for_update(skip_locked=True)
    statement = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.status.in_(PENDING))
        .values(
            status=DeliveryStatus.SENDING,
            claimed_at=now,
            claimed_by=worker,
            attempts=Delivery.attempts + 1,
            updated_at=now,
        )
        .returning(
            Delivery.id,
            Delivery.subscriber_id,
            Delivery.language,
            Delivery.attempts,
            Delivery.next_attempt_at,
        )
    )
    rows = session.execute(statement, execution_options=_NO_SYNC).all()
    claimed = [Claimed(row[0], row[1], row[2], row[3], row[4] is not None) for row in rows]
    claimed.sort(key=lambda item: item.id)
    deferred = sum(1 for item in claimed if item.was_deferred)
    if deferred:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(deferred_count=Campaign.deferred_count - deferred),
            execution_options=_NO_SYNC,
        )
    return claimed


def release(
    session: Session, ids: Sequence[int], *, cancelled: bool, now: dt.datetime, campaign_id: int
) -> None:
    """Give back rows this worker holds but did not send: queued again, or skipped if cancelled."""
    if not ids:
        return
    values: dict[str, object] = {"claimed_at": None, "claimed_by": None, "updated_at": now}
    if cancelled:
        values |= {"status": DeliveryStatus.SKIPPED, "last_reply": "campaign cancelled"}
    else:
        values |= {"status": DeliveryStatus.QUEUED, "next_attempt_at": None}
    values["attempts"] = Delivery.attempts - 1
    released = rows_changed(
        session,
        update(Delivery)
        .where(Delivery.id.in_(ids), Delivery.status == DeliveryStatus.SENDING)
        .values(**values),
        execution_options=_NO_SYNC,
    )
    if cancelled and released:
        session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(skipped_count=Campaign.skipped_count + released),
            execution_options=_NO_SYNC,
        )


def heartbeat(session: Session, ids: Sequence[int], worker: str, now: dt.datetime) -> None:
    """Refresh this worker's claims so a long (rate-limited) batch is not taken for dead."""
    if ids:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.claimed_by == worker)
            .values(claimed_at=now),
            execution_options=_NO_SYNC,
        )


def held(session: Session, ids: Sequence[int], worker: str) -> bool:
    """Whether this worker still holds any of ``ids`` (they are not recorded yet)."""
    if not ids:
        return False
    found = session.scalar(
        select(Delivery.id)
        .where(
            Delivery.id.in_(ids),
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.claimed_by == worker,
        )
        .limit(1)
    )
    return found is not None


def reclaim_stale(session: Session, now: dt.datetime, timeout_seconds: float) -> dict[int, int]:
    """Return claims older than the timeout to the queue (skipped if the campaign was cancelled).

    Returns ``{campaign_id: rows reclaimed}``; the caller re-enqueues those campaigns' work.
    """
    cutoff = now - dt.timedelta(seconds=timeout_seconds)
    # Through the campaigns that can hold claims: each is one probe of the (campaign_id,
    # status, ...) index, so `deliveries` needs no index of its own on claimed_at, one index
    # less to maintain on every claim and every recorded outcome.
    stale = session.execute(
        select(Delivery.id, Delivery.campaign_id, Campaign.status)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(
            Campaign.status.in_(CAN_HOLD_CLAIMS),
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.claimed_at < cutoff,
        )
        .with_for_update(of=Delivery, skip_locked=True)
    ).all()
    by_campaign: dict[tuple[int, bool], list[int]] = {}
    for delivery_id, campaign_id, status in stale:
        by_campaign.setdefault((campaign_id, status == CampaignStatus.CANCELLED), []).append(
            delivery_id
        )
    counts: dict[int, int] = {}
    for (campaign_id, cancelled), ids in by_campaign.items():
        release(session, ids, cancelled=cancelled, now=now, campaign_id=campaign_id)
        counts[campaign_id] = counts.get(campaign_id, 0) + len(ids)
    return counts
