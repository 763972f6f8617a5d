"""Starting a campaign and moving it through its life: start, pause, resume, cancel.

Invariants `commit-then-enqueue` and `snapshot-once`: `start_campaign` snapshots the recipients in
one statement and returns the batches to enqueue; the caller (a Celery task, a test) enqueues them
only after its transaction committed. Pause and cancel are one UPDATE of the campaign row: every
worker reads that status with each chunk it records (`newsletter.delivery.pipeline`), so they take
effect within one chunk (``SEND_CHUNK_SIZE`` messages or ``SEND_CHUNK_SECONDS``, whichever ends
first) on every worker.

Statuses: draft -> scheduled -> sending -> sent, with sending <-> paused, and cancelled from any
state that has not finished. A campaign that cannot be composed becomes failed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from newsletter.campaigns import approval
from newsletter.campaigns.local_time import stagger_by_zone
from newsletter.campaigns.models import (
    Campaign,
    CampaignPost,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
)
from newsletter.campaigns.recipients import pending_ranges, snapshot_recipients
from newsletter.config import Settings, get_settings
from newsletter.db import rows_changed, utcnow
from newsletter.staff.audit import Actor

log = logging.getLogger(__name__)

STARTABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED})
CANCELLABLE = frozenset(
    {CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.SENDING, CampaignStatus.PAUSED}
)
PENDING = (DeliveryStatus.QUEUED, DeliveryStatus.DEFERRED)


class CampaignStateError(ValueError):
    """The requested transition is not allowed from the campaign's current status."""


@dataclass(frozen=True)
class Batches:
    """Work to enqueue after commit: ``(campaign_id, first_delivery_id, last_delivery_id)``."""

    campaign_id: int
    ranges: list[tuple[int, int]] = field(default_factory=list)


def load_campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    """The campaign with what composing it needs (variants, lists, posts) loaded eagerly."""
    query = (
        select(Campaign)
        .where(Campaign.id == campaign_id)
        .options(
            selectinload(Campaign.variants),
            selectinload(Campaign.lists),
            selectinload(Campaign.posts).selectinload(CampaignPost.post),
        )
    )
    if lock:
        query = query.with_for_update(of=Campaign)
    campaign = session.scalar(query)
    if campaign is None:
        raise LookupError(f"campaign {campaign_id} does not exist")
    return campaign


def pending_batches(session: Session, campaign_id: int, batch_size: int) -> Batches:
    """Ranges covering every queued or deferred delivery of the campaign."""
    statuses = [status.value for status in PENDING]
    return Batches(campaign_id, pending_ranges(session, campaign_id, statuses, batch_size))


def start_campaign(
    session: Session,
    campaign_id: int,
    now: dt.datetime | None = None,
    *,
    settings: Settings | None = None,
) -> Batches:
    """Snapshot the recipients and mark the campaign sending; returns the batches to enqueue.

    Idempotent: a campaign that is no longer draft or scheduled is left alone (no batches), so
    a start task delivered twice, or a tick racing a staff click, snapshots once.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    campaign = load_campaign(session, campaign_id, lock=True)
    if campaign.status not in STARTABLE:
        log.info("campaign %s not started: status is %s", campaign.id, campaign.status)
        return Batches(campaign.id)
    if approval.needs_second_editor(settings, session, campaign):  # whatever door it came by
        if not approval.is_awaiting(campaign):
            approval.hold(session, campaign, Actor("system"), now)
        return Batches(campaign.id)
    languages = {variant.language for variant in campaign.variants}
    if not languages:
        _finish(campaign, CampaignStatus.FAILED, now, "the campaign has no content")
        return Batches(campaign.id)
    fallback = settings.default_language
    if fallback not in languages:
        fallback = sorted(languages)[0]
    total = snapshot_recipients(session, campaign.id, languages, fallback, now)
    if campaign.local_send_at:
        stagger_by_zone(session, campaign, settings.org_timezone, now)
    campaign.status = CampaignStatus.SENDING
    campaign.status_reason = ""
    campaign.started_at = now
    campaign.total_count = total
    session.flush()
    log.info("campaign %s started: %d recipient(s)", campaign.id, total)
    if total == 0:
        _finish(campaign, CampaignStatus.SENT, now, "no recipients")
        return Batches(campaign.id)
    return pending_batches(session, campaign.id, settings.send_batch_size)


def _finish(campaign: Campaign, status: CampaignStatus, now: dt.datetime, reason: str) -> None:
    campaign.status = status
    campaign.status_reason = reason
    campaign.finished_at = now


def schedule_campaign(session: Session, campaign_id: int, at: dt.datetime) -> None:
    """Let the beat tick start the campaign at ``at`` (invariant `far-future-in-the-database`: no
    Celery ETA)."""
    campaign = load_campaign(session, campaign_id, lock=True)
    if campaign.status not in STARTABLE:
        raise CampaignStateError(f"cannot schedule a campaign that is {campaign.status}")
    campaign.status = CampaignStatus.SCHEDULED
    campaign.scheduled_at = at


def pause_campaign(session: Session, campaign_id: int, reason: str = "paused by staff") -> bool:
    """Stop sending; workers release their unsent claims at their next chunk.

    Returns False when the campaign was not sending.
    """
    paused = rows_changed(
        session,
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING)
        .values(status=CampaignStatus.PAUSED, status_reason=reason[:200], updated_at=utcnow()),
    )
    if paused:
        log.info("campaign %s paused (%s)", campaign_id, reason)
    return bool(paused)


def resume_campaign(
    session: Session, campaign_id: int, *, settings: Settings | None = None
) -> Batches:
    """Sending again; returns the batches of what is left, to enqueue after commit."""
    settings = settings or get_settings()
    resumed = rows_changed(
        session,
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.PAUSED)
        # An empty error window: the errors that paused it must not pause it again at once.
        .values(
            status=CampaignStatus.SENDING,
            status_reason="",
            updated_at=utcnow(),
            window_attempts=0.0,
            window_errors=0.0,
        ),
    )
    if not resumed:
        raise CampaignStateError("only a paused campaign can be resumed")
    log.info("campaign %s resumed", campaign_id)
    return pending_batches(session, campaign_id, settings.send_batch_size)


def cancel_campaign(session: Session, campaign_id: int, reason: str = "cancelled by staff") -> int:
    """Stop for good: every delivery not yet sent is skipped; returns how many were skipped.

    Rows a worker holds right now are skipped by that worker at its next chunk.
    """
    campaign = load_campaign(session, campaign_id, lock=True)
    if campaign.status not in CANCELLABLE:
        raise CampaignStateError(f"cannot cancel a campaign that is {campaign.status}")
    now = utcnow()
    deferred = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.DEFERRED)
    )
    skipped = rows_changed(
        session,
        update(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.status.in_(PENDING))
        .values(status=DeliveryStatus.SKIPPED, last_reply="campaign cancelled", updated_at=now),
    )
    _finish(campaign, CampaignStatus.CANCELLED, now, reason[:200])
    campaign.skipped_count += skipped
    campaign.deferred_count -= deferred or 0
    log.info("campaign %s cancelled: %d delivery(ies) skipped", campaign_id, skipped)
    return skipped


def finish_if_done(session: Session, campaign_id: int, now: dt.datetime | None = None) -> bool:
    """Mark a sending campaign sent once no delivery is queued, in flight or deferred."""
    unfinished = (
        select(Delivery.id)
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.status.in_((*PENDING, DeliveryStatus.SENDING)),
        )
        .exists()
    )
    finished = rows_changed(
        session,
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status == CampaignStatus.SENDING, ~unfinished)
        .values(status=CampaignStatus.SENT, finished_at=now or utcnow(), status_reason=""),
    )
    if finished:
        log.info("campaign %s sent", campaign_id)
    return bool(finished)


def progress(session: Session, campaign_id: int) -> dict[str, int]:
    """Live counters: total, sent, deferred, failed, bounced, skipped, and queued (the rest)."""
    campaign = session.get(Campaign, campaign_id, populate_existing=True)
    if campaign is None:
        raise LookupError(f"campaign {campaign_id} does not exist")
    done = (
        campaign.sent_count
        + campaign.failed_count
        + campaign.bounced_count
        + campaign.skipped_count
        + campaign.deferred_count
    )
    return {
        "total": campaign.total_count,
        "queued": max(campaign.total_count - done, 0),
        "sent": campaign.sent_count,
        "deferred": campaign.deferred_count,
        "failed": campaign.failed_count,
        "bounced": campaign.bounced_count,
        "skipped": campaign.skipped_count,
    }
