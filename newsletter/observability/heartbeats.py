"""Heartbeats: when beat's tick last ran and when the inbound receiver last said it was up.

Kept in the database because it is the one store every process shares in every set-up
(Redis is optional, DATA_DIR may be per container). One row per name, overwritten: a few
writes a minute, nothing that grows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from newsletter.db import Base, utcnow

BEAT = "beat"
INBOUND = "inbound"


class Heartbeat(Base):
    __tablename__ = "service_heartbeats"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def beat(session: Session, name: str, detail: dict[str, Any] | None = None) -> None:
    """Record that ``name`` is alive now (``detail``: ids and counts only)."""
    row = session.get(Heartbeat, name)
    if row is None:
        row = Heartbeat(name=name, seen_at=utcnow(), detail=detail or {})
        session.add(row)
    else:
        row.seen_at = utcnow()
        row.detail = detail or {}
    session.flush()


def last_seen(session: Session, name: str) -> Heartbeat | None:
    return session.scalar(select(Heartbeat).where(Heartbeat.name == name))


def age_seconds(row: Heartbeat | None, now: dt.datetime | None = None) -> float | None:
    """Seconds since the heartbeat, or None when it never beat."""
    if row is None:
        return None
    return max(0.0, ((now or utcnow()) - row.seen_at).total_seconds())
