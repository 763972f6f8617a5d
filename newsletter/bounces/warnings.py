"""Staff warnings: problems with our own sending that no subscriber should pay for.

A DMARC rejection, a blocklisted relay or a complaint rate above what mailbox providers
tolerate must reach a person; silently counting them as bounces would suppress good
addresses, and only logging them would leave nobody to read them. One open warning per
(kind, campaign) counts its occurrences, so a blocklisting during a 10,000-recipient
campaign is one warning seen 10,000 times, not 10,000 rows.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.bounces.models import StaffWarning, StaffWarningKind
from newsletter.db import utcnow

log = logging.getLogger(__name__)


def raise_warning(
    session: Session,
    kind: StaffWarningKind,
    *,
    message: str,
    campaign_id: int | None = None,
    bounce_event_id: int | None = None,
    now: dt.datetime | None = None,
) -> StaffWarning:
    """Open a warning, or count one more occurrence of the same open warning."""
    now = now or utcnow()
    existing = session.scalar(
        select(StaffWarning).where(
            StaffWarning.kind == kind,
            StaffWarning.campaign_id.is_(None)
            if campaign_id is None
            else StaffWarning.campaign_id == campaign_id,
            StaffWarning.resolved_at.is_(None),
        )
    )
    if existing is not None:
        existing.occurrences += 1
        existing.last_seen_at = now
        existing.message = message[:2000]
        return existing
    warning = StaffWarning(
        kind=kind,
        campaign_id=campaign_id,
        bounce_event_id=bounce_event_id,
        message=message[:2000],
        occurrences=1,
        created_at=now,
        last_seen_at=now,
    )
    session.add(warning)
    session.flush()
    log.warning("staff warning %s opened: %s (campaign %s)", warning.id, kind, campaign_id)
    return warning


def open_warnings(session: Session) -> list[StaffWarning]:
    """Unresolved warnings, most recent first (the console's dashboard shows them)."""
    query = select(StaffWarning).where(StaffWarning.resolved_at.is_(None))
    return list(session.scalars(query.order_by(StaffWarning.last_seen_at.desc())))


def resolve_warning(session: Session, warning_id: int, now: dt.datetime | None = None) -> bool:
    """Mark a warning dealt with; False when it does not exist or was already resolved."""
    warning = session.get(StaffWarning, warning_id)
    if warning is None or warning.resolved_at is not None:
        return False
    warning.resolved_at = now or utcnow()
    return True
