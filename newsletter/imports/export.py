"""Export a filtered set of subscribers as CSV, streamed in batches (bounded memory).

Spreadsheet programs execute cells that start with ``=``, ``+``, ``-``, ``@`` (CSV formula
injection): a supporter could name themselves ``=HYPERLINK(...)``. Such cells are prefixed
with an apostrophe, which spreadsheets show as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.staff.subscriber_search import SubscriberFilter, filtered
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)

COLUMNS = [
    "email",
    "name",
    "language",
    "status",
    "status_reason",
    "created_at",
    "consent_at",
    "consent_source",
    "lists",
]
BATCH = 1000
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_DANGEROUS) else text


def _line(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(v) for v in values])
    return buffer.getvalue()


def export_rows(db: Session, criteria: SubscriberFilter) -> Iterator[str]:
    """CSV text, one header then one line per subscriber, fetched ``BATCH`` at a time."""
    slugs = dict(db.execute(select(MailingList.id, MailingList.slug)).all())
    yield _line(list(COLUMNS))
    last_id = 0
    while True:
        batch = db.scalars(
            filtered(criteria).where(Subscriber.id > last_id).order_by(Subscriber.id).limit(BATCH)
        ).all()
        if not batch:
            return
        ids = [s.id for s in batch]
        lists: dict[int, list[str]] = {}
        for subscriber_id, list_id in db.execute(
            select(Subscription.subscriber_id, Subscription.list_id).where(
                Subscription.subscriber_id.in_(ids),
                Subscription.status == SubscriptionStatus.ACTIVE,
            )
        ):
            lists.setdefault(subscriber_id, []).append(slugs.get(list_id, str(list_id)))
        for s in batch:
            yield _line(
                [
                    s.email,
                    s.name,
                    s.language,
                    s.status.value,
                    s.status_reason,
                    s.created_at.isoformat(),
                    s.consent_at.isoformat() if s.consent_at else "",
                    s.consent_source or "",
                    " ".join(sorted(lists.get(s.id, []))),
                ]
            )
        last_id = batch[-1].id
        db.expunge_all()
