"""Finding subscribers for staff: one filter shared by the list page, the export and the API.

Searching by address or name uses a case-insensitive substring match with the LIKE
wildcards escaped, so a ``%`` typed by staff matches a ``%`` and not everything. On PostgreSQL
trigram GIN indexes (``ix_subscribers_email_trgm``, ``ix_subscribers_name_trgm``) serve the
match for three characters or more; SQLite scans.

Pages count their matches only up to ``COUNT_CAP`` ("more than 10,000"): an exact count of a
million rows is a full scan on every page view, and nobody pages that far.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)


@dataclass(frozen=True)
class SubscriberFilter:
    query: str = ""
    status: SubscriberStatus | None = None
    list_id: int | None = None
    language: str | None = None

    def as_detail(self) -> dict[str, object]:
        """For the audit log: which filter, never the query text (it may be an address)."""
        return {
            "has_query": bool(self.query),
            "status": self.status.value if self.status else None,
            "list_id": self.list_id,
            "language": self.language,
        }


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filtered(criteria: SubscriberFilter) -> Select[Subscriber]:
    statement = select(Subscriber)
    if criteria.query.strip():
        pattern = f"%{_escape_like(criteria.query.strip()[:200])}%"
        statement = statement.where(
            or_(
                Subscriber.email.ilike(pattern, escape="\\"),
                Subscriber.name.ilike(pattern, escape="\\"),
            )
        )
    if criteria.status is not None:
        statement = statement.where(Subscriber.status == criteria.status)
    else:
        statement = statement.where(Subscriber.status != SubscriberStatus.ERASED)
    if criteria.language:
        statement = statement.where(Subscriber.language == criteria.language)
    if criteria.list_id is not None:
        statement = statement.where(
            Subscriber.id.in_(
                select(Subscription.subscriber_id).where(
                    Subscription.list_id == criteria.list_id,
                    Subscription.status == SubscriptionStatus.ACTIVE,
                )
            )
        )
    return statement


COUNT_CAP = 10_000


@dataclass(frozen=True)
class Page:
    rows: list[Subscriber]
    total: int  # exact, or COUNT_CAP when ``capped``
    capped: bool


def search_page(
    db: Session,
    criteria: SubscriberFilter,
    *,
    limit: int = 50,
    offset: int = 0,
    count_cap: int = COUNT_CAP,
) -> Page:
    """One page of matches, newest first, with the count of matches up to ``count_cap``."""
    statement = filtered(criteria)
    counted = statement.with_only_columns(Subscriber.id).limit(count_cap + 1).subquery()
    total = int(db.scalar(select(func.count()).select_from(counted)) or 0)
    rows = db.scalars(statement.order_by(Subscriber.id.desc()).limit(limit).offset(offset)).all()
    return Page(list(rows), min(total, count_cap), total > count_cap)


def search(
    db: Session, criteria: SubscriberFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[Subscriber], int]:
    statement = filtered(criteria)
    """Matches with their exact count (the export: it writes every one of them)."""
    total = db.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = db.scalars(statement.order_by(Subscriber.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), int(total)
