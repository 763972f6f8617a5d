"""Recording what became of a chunk of messages: one bulk UPDATE, one counter UPDATE.

Invariants `snapshot-once`, `claim-and-record` and `one-reply-classifier`: every claimed row leaves
``sending`` for a status that follows only from its `SendResult` (classified in `outcomes`): sent;
deferred with exponential backoff until the retry deadline, then bounced with a bounce event
(`smtp_bounces.record_expiry`); bounced for a 5xx (with a bounce event, and a suppression for an
address that does not exist); skipped when the person left or was suppressed meanwhile.

The campaign's counters move by the chunk's deltas in the same transaction, and the UPDATE
returns the campaign's status: that is how a worker learns of a pause or cancel (invariant
`suppressed-before-next-send`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, literal, update
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from newsletter.config import Settings
from newsletter.delivery.claims import Claimed
from newsletter.delivery.error_window import ErrorWindow, chunk_update
from newsletter.delivery.outcomes import Outcome, SendResult
from newsletter.delivery.smtp_bounces import record_expiry, record_smtp_rejection
from newsletter.rendering.mime import message_id

_ATTEMPTED = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.DEFERRED, DeliveryStatus.FAILED, DeliveryStatus.BOUNCED}
)
_COUNTER = {
    DeliveryStatus.SENT: "sent_count",
    DeliveryStatus.DEFERRED: "deferred_count",
    DeliveryStatus.FAILED: "failed_count",
    DeliveryStatus.BOUNCED: "bounced_count",
    DeliveryStatus.SKIPPED: "skipped_count",
}


@dataclass(frozen=True)
class Attempt:
    """One row of a chunk: the claim, the address it went to, and what happened."""

    claimed: Claimed
    address: str
    result: SendResult | None  # None: not sent (skipped)
    message_id: str | None = None
    note: str = ""


@dataclass(frozen=True)
class CampaignState:
    """The campaign after a chunk: its status (pause, cancel) and its recent error window."""

    status: CampaignStatus
    window: ErrorWindow = field(default_factory=ErrorWindow)


def backoff_seconds(settings: Settings, attempts: int) -> float:
    """Exponential: base, 2 x base, 4 x base, ... capped at the maximum."""
    exponent = min(max(attempts - 1, 0), 30)
    return min(settings.send_retry_base_seconds * 2**exponent, settings.send_retry_max_seconds)


def _values(
    settings: Settings, attempt: Attempt, started_at: dt.datetime | None, now: dt.datetime
) -> dict[str, object]:
    values: dict[str, object] = {
        "id": attempt.claimed.id,
        "claimed_at": None,  # claimed_by stays: which worker sent it, for the record
        "updated_at": now,
        "next_attempt_at": None,
    }
    result = attempt.result
    if result is None:
        return values | {"status": DeliveryStatus.SKIPPED, "last_reply": attempt.note[:500]}
    values |= {"last_reply_code": result.code, "last_reply": result.reply[:500]}
    if attempt.message_id:
        values["message_id"] = attempt.message_id
    if result.outcome is Outcome.SENT:
        return values | {"status": DeliveryStatus.SENT, "sent_at": now}
    if result.outcome is Outcome.FAILED:
        status = DeliveryStatus.FAILED if attempt.note else DeliveryStatus.BOUNCED
        return values | {"status": status}
    retry_at = now + dt.timedelta(seconds=backoff_seconds(settings, attempt.claimed.attempts))
    deadline = (started_at or now) + dt.timedelta(seconds=settings.send_retry_deadline_seconds)
    if retry_at > deadline:  # a bounce (soft, or a sender problem): `record_expiry`
        reply = f"retry deadline passed; last reply: {result.reply}"[:500]
        return values | {"status": DeliveryStatus.BOUNCED, "last_reply": reply}
    return values | {"status": DeliveryStatus.DEFERRED, "next_attempt_at": retry_at}


def _write(session: Session, rows: list[dict[str, object]], prefix: str, domain: str) -> None:
    """One UPDATE per group of rows with the same values: usually one for the whole chunk.

    Rows differ only by id and Message-ID in the common case (all sent), and the Message-ID
    is ``<campaign public id.delivery id@domain>`` (see `rendering.mime.message_id`), so SQL
    builds it from the id. Anything else is written row by row.
    """
    groups: dict[tuple[object, ...], list[int]] = {}
    singles = []
    for row in rows:
        delivery_id = row["id"]
        mid = row.get("message_id")
        if mid is not None and mid != message_id(prefix, delivery_id, domain):  # type: ignore[arg-type]
            singles.append(row)
            continue
        common = sorted((k, v) for k, v in row.items() if k not in ("id", "message_id"))
        groups.setdefault((*common, ("+message_id", mid is not None)), []).append(delivery_id)  # type: ignore[arg-type]
    for key, ids in groups.items():
        values: dict[str, Any] = dict(key)  # type: ignore[arg-type]
        if values.pop("+message_id"):
            values["message_id"] = (
                literal(f"<{prefix}.") + cast(Delivery.id, String) + literal(f"@{domain}>")
            )
        session.execute(
            update(Delivery).where(Delivery.id.in_(ids)).values(**values),
            execution_options={"synchronize_session": False},
        )
    if singles:
        session.execute(update(Delivery), singles)


def record_chunk(
    session: Session,
    settings: Settings,
    campaign: Campaign,
    attempts: list[Attempt],
    now: dt.datetime,
) -> CampaignState:
    """Write the chunk's outcomes and counters; return the campaign's state after them."""
    rows = [_values(settings, attempt, campaign.started_at, now) for attempt in attempts]
    _write(session, rows, campaign.public_id, settings.from_address.rpartition("@")[2])
    for attempt, row in zip(attempts, rows, strict=True):
        if row["status"] != DeliveryStatus.BOUNCED or attempt.result is None:
            continue
        if attempt.result.outcome is Outcome.DEFERRED:  # deferred past the retry deadline
            record_expiry(
                session,
                settings,
                delivery_id=attempt.claimed.id,
                address=attempt.address,
                result=attempt.result,
                now=now,
            )
        else:
            record_smtp_rejection(
                session,
                settings,
                delivery_id=attempt.claimed.id,
                address=attempt.address,
                result=attempt.result,
                attempt_number=attempt.claimed.attempts,
                now=now,
            )
    deltas = Counter(_COUNTER[row["status"]] for row in rows)  # type: ignore[index]
    counters = {name: getattr(Campaign, name) + count for name, count in deltas.items()}
    errors = [row["status"] != DeliveryStatus.SENT for row in rows if row["status"] in _ATTEMPTED]
    window = chunk_update(settings.send_auto_pause_window, errors)
    state = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id)
        .values(**counters, **window, updated_at=now)
        .returning(Campaign.status, Campaign.window_attempts, Campaign.window_errors),
        execution_options={"synchronize_session": False},
    ).one()
    return CampaignState(CampaignStatus(state[0]), ErrorWindow(state[1], state[2]))
