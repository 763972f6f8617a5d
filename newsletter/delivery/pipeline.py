"""Send one batch: claim, compose once per variant, then per chunk re-check, send, record.

The hot path (invariant `once-per-variant`): composing happens once per (language, time zone)
variant and is cached for the batch; per message only `personalise` (byte substitution) and the SMTP
transaction run. One SMTP connection serves the whole batch.

Per chunk of ``SEND_CHUNK_SIZE`` messages, one transaction (`chunks`) records its outcomes, reads
the campaign's status back (pause/cancel take effect here, on every worker) and re-checks that
the next chunk's recipients are still subscribed and not suppressed (invariant
`suppressed-before-next-send`). A crash can therefore re-send at most one chunk, never a batch
(invariant `claim-and-record`); a database restart, none.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.campaigns.recipients import still_sendable
from newsletter.campaigns.service import finish_if_done, load_campaign, pause_campaign
from newsletter.config import Settings
from newsletter.db import unit_of_work, utcnow
from newsletter.delivery import claims
from newsletter.delivery.chunks import ChunkCloser
from newsletter.delivery.claims import Claimed
from newsletter.delivery.mailers import Mailer
from newsletter.delivery.outcomes import Outcome, SendResult
from newsletter.delivery.recording import Attempt
from newsletter.delivery.relays import make_campaign_mailer
from newsletter.observability import metrics
from newsletter.observability.logs import log_context
from newsletter.rendering.compose import (
    ComposeError,
    TemplateSource,
    campaign_source,
    compose_variant,
    variant_key,
)
from newsletter.rendering.editions import Edition
from newsletter.rendering.headers import HeaderInjection
from newsletter.rendering.mime import ComposedVariant, Recipient, personalise
from newsletter.subscribers.models import Subscriber

log = logging.getLogger(__name__)
NOT_SUBSCRIBED = "not sent: unsubscribed or suppressed before sending"


@dataclass
class BatchReport:
    """What one batch did; returned by the task (visible in Celery results and logs)."""

    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0
    stopped: str = ""
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Work:
    claimed: Claimed
    recipient: Recipient
    edition: Edition  # read when the batch is claimed: a change of edition applies at once


_COMPOSED: OrderedDict[tuple[object, ...], ComposedVariant] = OrderedDict()
_COMPOSED_MAX = 32


class _SameSettings:
    """Settings compared by identity in a cache key (one object per worker process; tests and
    tools use several). Holding the object keeps its id from being reused while cached."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __hash__(self) -> int:
        return id(self.settings)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SameSettings) and other.settings is self.settings


class _Variants:
    """Composes each variant the first time a recipient needs it, then reuses it.

    Kept per process across batches (a worker sends many batches of one campaign), keyed by
    everything that shapes the message (content, lists, the settings it was composed with, the
    template version saved in the console), so an edited campaign or template is composed
    afresh.
    """

    def __init__(self, settings: Settings, campaign: Campaign, source: TemplateSource) -> None:
        self.settings, self.campaign, self.source = settings, campaign, source
        content = tuple(
            (v.language, v.subject, v.preheader, v.body_markdown)
            for v in sorted(campaign.variants, key=lambda v: v.language)
        )
        posts = tuple((link.post_id, link.post.updated_at) for link in campaign.posts)
        lists = tuple(sorted(item.id for item in campaign.lists))
        self.identity = (
            campaign.id, campaign.public_id, source.name, source.version, lists, content, posts,
            _SameSettings(settings),
        )  # fmt: skip

    def get(self, language: str, timezone: str | None, edition: Edition) -> ComposedVariant:
        key = (*self.identity, edition, variant_key(self.campaign, language, timezone))
        found = _COMPOSED.get(key)
        if found is None:
            found = compose_variant(
                self.settings, self.campaign, *key[-1], self.source, edition=edition
            )
            _COMPOSED[key] = found
            while len(_COMPOSED) > _COMPOSED_MAX:
                _COMPOSED.popitem(last=False)
        return found


def _load_work(session: Session, claimed: list[Claimed], org_timezone: str) -> list[_Work]:
    rows = session.execute(
        select(
            Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.public_id,
            Subscriber.timezone, Subscriber.discreet, Subscriber.low_bandwidth,
        ).where(Subscriber.id.in_([item.subscriber_id for item in claimed]))
    ).all()  # fmt: skip
    people = {row[0]: row for row in rows}
    work = []
    for item in claimed:
        _, address, name, public_id, timezone, discreet, light = people[item.subscriber_id]
        recipient = Recipient(item.id, address, name or "", public_id, timezone or org_timezone)
        work.append(_Work(item, recipient, Edition.of(discreet, light)))
    return work


def _chunks(work: list[_Work], size: int) -> Iterator[list[_Work]]:
    for start in range(0, len(work), size):
        yield work[start : start + size]


def _send_one(settings: Settings, variants: _Variants, mailer: Mailer, item: _Work) -> Attempt:
    recipient = item.recipient
    variant = variants.get(item.claimed.language, recipient.timezone, item.edition)
    try:
        message = personalise(settings, variant, recipient)
    except HeaderInjection as exc:
        refused = SendResult(Outcome.FAILED, None, str(exc), reason="refused before sending")
        return Attempt(item.claimed, recipient.address, refused, note="refused locally")
    result = mailer.send(message.envelope_from, [recipient.address], message.data)
    metrics.MESSAGES.labels(
        campaign_kind=str(variants.campaign.kind),
        relay=getattr(mailer, "last_relay_label", None) or "outbox",
        outcome=str(result.outcome),
    ).inc()
    return Attempt(item.claimed, recipient.address, result, message.message_id)


def send_batch(
    factory: sessionmaker[Session],
    settings: Settings,
    campaign_id: int,
    first_id: int,
    last_id: int,
    *,
    mailer: Mailer | None = None,
    worker: str | None = None,
) -> BatchReport:
    """Claim and send the due deliveries of ``campaign_id`` with ids in [first_id, last_id]."""
    with log_context(campaign_id=campaign_id, batch=f"{first_id}-{last_id}"):
        return _send_batch(factory, settings, campaign_id, first_id, last_id, mailer, worker)


def _send_batch(
    factory: sessionmaker[Session],
    settings: Settings,
    campaign_id: int,
    first_id: int,
    last_id: int,
    mailer: Mailer | None,
    worker: str | None,
) -> BatchReport:
    worker = worker or claims.worker_id()
    report = BatchReport()
    with unit_of_work(factory) as session:
        campaign = load_campaign(session, campaign_id)
        if campaign.status is not CampaignStatus.SENDING:
            report.stopped = str(campaign.status)
            return report
        claimed = claims.claim(
            session, campaign_id, first_id, last_id, worker, utcnow(), settings.send_batch_size
        )
        work = _load_work(session, claimed, settings.org_timezone) if claimed else []
        source = campaign_source(campaign)
    report.claimed = len(work)
    if not work:
        return report
    log.info("campaign %s: batch %s-%s claimed %d", campaign_id, first_id, last_id, len(work))
    pending = list(_chunks(work, settings.send_chunk_size))
    variants = _Variants(settings, campaign, source)
    try:
        with mailer or make_campaign_mailer(settings) as active_mailer:
            _run(
                factory,
                settings,
                campaign,
                pending,
                variants,
                active_mailer,
                report,
                worker,
            )
    finally:
        leftover = [item.claimed.id for chunk in pending for item in chunk]
        if leftover:  # an exception or a stop: give back what was not sent
            _release(factory, campaign_id, leftover, report)
    with unit_of_work(factory) as session:
        finish_if_done(session, campaign_id)
    return report


def _run(
    factory: sessionmaker[Session],
    settings: Settings,
    campaign: Campaign,
    pending: list[list[_Work]],
    variants: _Variants,
    mailer: Mailer,
    report: BatchReport,
    worker: str,
) -> None:
    """The chunk loop; ``pending`` shrinks as chunks are recorded (the caller releases the rest).

    One session (one pooled connection) for the whole batch, one transaction per chunk.
    """
    closer = ChunkCloser(settings, campaign, worker)
    with factory() as session:
        try:
            first = [item.claimed.subscriber_id for item in pending[0]]
            sendable = still_sendable(session, campaign.id, first)
            session.commit()
            while pending:
                try:
                    attempts = _send_chunk(settings, variants, mailer, pending, sendable)
                except ComposeError as exc:
                    pause_campaign(session, campaign.id, f"cannot compose: {exc}"[:200])
                    session.commit()
                    report.stopped = "paused"
                    log.error("campaign %s paused: cannot compose (%s)", campaign.id, exc)
                    return
                after = pending[1] if len(pending) > 1 else []
                upcoming = [item.claimed.subscriber_id for item in after]
                end = closer.close(session, attempts, upcoming, lambda: _held_after(pending))
                report.stopped, sendable = end.stopped, end.sendable
                pending.pop(0)
                _count(report, attempts)
                if report.stopped:
                    return
        except BaseException:
            session.rollback()
            raise


def _send_chunk(
    settings: Settings,
    variants: _Variants,
    mailer: Mailer,
    pending: list[list[_Work]],
    sendable: set[int],
) -> list[Attempt]:
    """Send ``pending[0]`` (re-checked: ``sendable``) until done or ``SEND_CHUNK_SECONDS`` pass.

    When time runs out (a rate limit is pacing the worker), what is left of the chunk becomes
    the next chunk, re-checked before it is sent, and ``pending[0]`` keeps only what was tried.
    """
    deadline = time.monotonic() + settings.send_chunk_seconds
    attempts = []
    for item in pending[0]:
        if item.claimed.subscriber_id in sendable:
            attempt = _send_one(settings, variants, mailer, item)
        else:
            attempt = Attempt(item.claimed, item.recipient.address, None, note=NOT_SUBSCRIBED)
        attempts.append(attempt)
        if time.monotonic() >= deadline:
            break
    if len(attempts) < len(pending[0]):
        pending[0:1] = [pending[0][: len(attempts)], pending[0][len(attempts) :]]
    return attempts


def _held_after(pending: list[list[_Work]]) -> list[int]:
    """The claims still held once the current chunk (``pending[0]``) is recorded."""
    return [item.claimed.id for rest in pending[1:] for item in rest]


def _count(report: BatchReport, attempts: list[Attempt]) -> None:
    for attempt in attempts:
        if attempt.result is None:
            report.skipped += 1
        elif attempt.result.outcome is Outcome.SENT:
            report.sent += 1
        elif attempt.result.outcome is Outcome.DEFERRED:
            report.deferred += 1
        else:
            report.failed += 1


def _release(
    factory: sessionmaker[Session], campaign_id: int, ids: list[int], report: BatchReport
) -> None:
    with unit_of_work(factory) as session:
        status = session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        cancelled = status == CampaignStatus.CANCELLED
        claims.release(session, ids, cancelled=cancelled, now=utcnow(), campaign_id=campaign_id)
    report.released = len(ids)
    log.info("campaign %s: %d claim(s) released (%s)", campaign_id, len(ids), status)


ALL_IDS = (0, 2**62)


def send_range(
    factory: sessionmaker[Session],
    settings: Settings,
    campaign_id: int,
    first_id: int,
    last_id: int,
) -> BatchReport:
    """A batch task's range, all of it: one batch, or several when the range is longer.

    The process that cut the ranges (the web process resuming a campaign, a tick) may run with
    a larger ``SEND_BATCH_SIZE`` than this worker, whose claims are limited to its own size:
    without the loop the rest of the range would wait for the tick's sweep.
    """
    if last_id - first_id < settings.send_batch_size:  # cannot hold more than one batch
        return send_batch(factory, settings, campaign_id, first_id, last_id)
    return sweep(factory, settings, campaign_id, first_id=first_id, last_id=last_id)


def sweep(
    factory: sessionmaker[Session],
    settings: Settings,
    campaign_id: int,
    *,
    first_id: int = ALL_IDS[0],
    last_id: int = ALL_IDS[1],
    max_seconds: float = 50.0,
    mailer: Mailer | None = None,
) -> BatchReport:
    """Send whatever is due in the campaign, batch after batch, for up to ``max_seconds``.

    The beat tick enqueues a sweep for each sending campaign with due work: retries whose
    backoff has passed, claims taken back from dead workers, and queued rows whose batch
    task was lost with the broker (a Redis restart). Claims make a sweep and a batch task
    racing for the same rows harmless.
    """
    total = BatchReport()
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        report = send_batch(factory, settings, campaign_id, first_id, last_id, mailer=mailer)
        for name in ("claimed", "sent", "deferred", "failed", "skipped", "released"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        total.stopped = report.stopped
        if report.stopped or report.claimed < settings.send_batch_size:
            break
    return total
