"""What the content beat finds due each minute: alerts whose embargo passed, the digest.

Invariant `far-future-in-the-database`: an embargo or a digest date is far-future work, so it lives
in the database (``embargo_until``, ``published_at``, the digest settings) and this tick picks it
up; no Celery ETA is ever set. The returned ids are started by the caller after commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.content.alerts import release_due_alerts
from newsletter.content.digest import run_due_digest


def content_tick(settings: Settings, session: Session, now: dt.datetime) -> list[int]:
    """Campaign ids to start now: due alerts first (they are urgent), then the digest."""
    return release_due_alerts(settings, session, now) + run_due_digest(settings, session, now)
