"""What the console's System page and the web ``/metrics`` show about the running service.

Everything here is read, never changed: queue depths from the broker, beat's and the inbound
receiver's heartbeats, a short probe of each relay, disk left under ``DATA_DIR``, and the
latest errors as ids. Workers are asked by the web shell (Celery's control API) and handed in,
so the domain does not import Celery. Relay replies often quote the recipient's address:
they are shown with every address replaced.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import smtplib
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces.models import InboundMessage, InboundStatus
from newsletter.campaigns.models import Delivery, DeliveryStatus
from newsletter.config import Settings, SmtpTarget
from newsletter.db import utcnow
from newsletter.observability import heartbeats

QUEUES = ("default", "send")
BEAT_STALE_AFTER = 180.0  # seconds: three missed ticks
_ADDRESS = re.compile(r"[^\s<>\"'()\[\],;:]+@[^\s<>\"'()\[\],;:]+")
# kombu's Redis transport keeps a queue's priority levels in separate lists
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")


def redact_addresses(text: str) -> str:
    """``text`` with every email address replaced (relay replies echo the recipient)."""
    return _ADDRESS.sub("[address]", text)


def queue_depths(settings: Settings) -> dict[str, int | None]:
    """Messages waiting per Celery queue; None where the broker cannot say."""
    url = settings.broker_url
    if url.startswith(("redis://", "rediss://")):
        import redis

        try:
            client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            with client:
                return {
                    queue: sum(int(client.llen(queue + suffix)) for suffix in _PRIORITY_SUFFIXES)
                    for queue in QUEUES
                }
        except redis.RedisError:
            return dict.fromkeys(QUEUES)
    if url.startswith("filesystem://"):
        folder = settings.data_dir / "broker" / "queue"
        return {queue: len(list(folder.glob(f"*.{queue}.msg"))) for queue in QUEUES}
    return dict.fromkeys(QUEUES)


@dataclass(frozen=True)
class RelayProbe:
    """One relay's answer to a connect, EHLO and QUIT (no mail sent)."""

    relay: str  # relay0, relay1, ...: an id, not the host
    host: str
    port: int
    reachable: bool
    code: int | None
    detail: str
    starttls: bool | None


def relay_targets(settings: Settings) -> list[SmtpTarget]:
    urls = [url for url in (settings.smtp_url, *settings.smtp_fallback_urls) if url]
    return [SmtpTarget.from_url(url, settings.smtp_timeout) for url in urls]


def probe_relay(index: int, target: SmtpTarget, timeout: float = 5.0) -> RelayProbe:
    """Connect and greet; a refusal or a failure to connect is reported, never raised."""
    name = f"relay{index}"
    try:
        if target.security == "tls":
            context = ssl.create_default_context()
            if not target.verify_tls:
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=timeout)
        with smtp:
            code, reply = smtp.ehlo()
            starttls = smtp.has_extn("starttls") if target.security != "tls" else None
    except smtplib.SMTPResponseException as exc:
        text = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return RelayProbe(name, target.host, target.port, False, exc.smtp_code, text[:200], None)
    except (OSError, smtplib.SMTPException) as exc:
        return RelayProbe(name, target.host, target.port, False, None, type(exc).__name__, None)
    first = reply.decode("utf-8", "replace").splitlines()[0] if reply else ""
    refused = code >= 400
    return RelayProbe(name, target.host, target.port, not refused, code, first[:200], starttls)


@dataclass(frozen=True)
class ReplySeen:
    delivery_id: int
    campaign_id: int
    status: str
    code: int | None
    text: str
    at: dt.datetime


def last_replies(session: Session, limit: int = 10) -> list[ReplySeen]:
    """The relays' latest replies to campaign messages, addresses redacted."""
    rows = session.execute(
        select(Delivery.id, Delivery.campaign_id, Delivery.status, Delivery.last_reply_code,
               Delivery.last_reply, Delivery.updated_at)
        .where(Delivery.last_reply_code.is_not(None))
        .order_by(Delivery.updated_at.desc(), Delivery.id.desc())
        .limit(limit)
    )  # fmt: skip
    return [
        ReplySeen(row[0], row[1], str(row[2]), row[3], redact_addresses(row[4] or "")[:200], row[5])
        for row in rows
    ]


@dataclass(frozen=True)
class ErrorSeen:
    """One recent error, by id: what failed and the code, never whom it concerned."""

    what: str  # "delivery" or "inbound"
    id: int
    parent_id: int | None
    code: str
    at: dt.datetime


def latest_errors(session: Session, limit: int = 10) -> list[ErrorSeen]:
    failed = session.execute(
        select(Delivery.id, Delivery.campaign_id, Delivery.last_reply_code, Delivery.updated_at)
        .where(Delivery.status == DeliveryStatus.FAILED)
        .order_by(Delivery.updated_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    quarantined = session.execute(
        select(InboundMessage.id, InboundMessage.received_at)
        .where(InboundMessage.status == InboundStatus.QUARANTINED)
        .order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    )
    errors = [ErrorSeen("delivery", row[0], row[1], str(row[2] or "-"), row[3]) for row in failed]
    errors += [ErrorSeen("inbound", row[0], None, "quarantined", row[1]) for row in quarantined]
    return sorted(errors, key=lambda error: error.at, reverse=True)[:limit]


@dataclass(frozen=True)
class DiskSpace:
    path: Path
    free_bytes: int
    total_bytes: int

    @property
    def free_fraction(self) -> float:
        return self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def disk_space(settings: Settings) -> DiskSpace:
    path = settings.data_dir if settings.data_dir.exists() else settings.data_dir.parent
    usage = shutil.disk_usage(path)
    return DiskSpace(settings.data_dir, usage.free, usage.total)


@dataclass(frozen=True)
class WorkerSeen:
    """A Celery worker that answered, and the tasks it is running (names and ids only)."""

    name: str
    active: list[tuple[str, str]] = field(default_factory=list)  # (task name, task id)


@dataclass(frozen=True)
class SystemStatus:
    workers: list[WorkerSeen] | None  # None: the broker cannot be asked (filesystem)
    queues: dict[str, int | None]
    beat_age: float | None
    inbound_age: float | None
    inbound_detail: dict[str, object]
    relays: list[RelayProbe]
    replies: list[ReplySeen]
    disk: DiskSpace
    errors: list[ErrorSeen]


def beat_is_stale(age: float | None, stale_after: float = BEAT_STALE_AFTER) -> bool:
    return age is None or age > stale_after


def system_status(
    session: Session, settings: Settings, workers: list[WorkerSeen] | None
) -> SystemStatus:
    now = utcnow()
    inbound = heartbeats.last_seen(session, heartbeats.INBOUND)
    return SystemStatus(
        workers=workers,
        queues=queue_depths(settings),
        beat_age=heartbeats.age_seconds(heartbeats.last_seen(session, heartbeats.BEAT), now),
        inbound_age=heartbeats.age_seconds(inbound, now),
        inbound_detail=dict(inbound.detail) if inbound is not None else {},
        relays=[probe_relay(i, target) for i, target in enumerate(relay_targets(settings))],
        replies=last_replies(session),
        disk=disk_space(settings),
        errors=latest_errors(session),
    )


def warnings(
    session: Session,
    settings: Settings,
    workers: list[WorkerSeen] | None,
    relays: list[RelayProbe] | None = None,
) -> list[str]:
    """The problems the dashboard shows on top (English; the page translates them)."""
    found = []
    age = heartbeats.age_seconds(heartbeats.last_seen(session, heartbeats.BEAT))
    if beat_is_stale(age, settings.beat_stale_seconds):
        found.append("beat_stale")
    if workers is not None and not workers:
        found.append("no_worker")
    if relays is None:
        relays = [probe_relay(i, t, timeout=3.0) for i, t in enumerate(relay_targets(settings))]
    if any(not probe.reachable for probe in relays):
        found.append("relay_refusing")
    return found
