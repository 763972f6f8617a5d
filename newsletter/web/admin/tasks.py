"""What staff pages hand to the workers, and the sign-in limiter, built once per app.

Pages enqueue by task name (ids only, after commit: invariant `commit-then-enqueue`), so the web
process does not import the task modules.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from fastapi import FastAPI
from sqlalchemy.orm import Session

from newsletter.abuse.ratelimit import RateLimiter, make_rate_limiter
from newsletter.db import after_commit
from newsletter.staff.campaign_admin import Controlled


def celery_for(app: FastAPI) -> Celery:
    celery = getattr(app.state, "staff_celery", None)
    if celery is None:
        from workers.celery_app import celery_config

        celery = Celery("newsletter")
        celery.conf.update(celery_config(app.state.settings))
        app.state.staff_celery = celery
    return celery


def enqueue(app: FastAPI, task_name: str, *args: Any) -> None:
    celery_for(app).send_task(task_name, args=list(args))


def enqueue_after_commit(app: FastAPI, db: Session, task_name: str, *args: Any) -> None:
    """Enqueue once ``db`` has committed the work the task will read (invariant
    `commit-then-enqueue`)."""
    after_commit(db, lambda: enqueue(app, task_name, *args))


def enqueue_controlled_after_commit(app: FastAPI, db: Session, done: Controlled) -> None:
    """The work a campaign action left (`campaign_admin.control`), once ``db`` has committed:
    the start task of a campaign sent now, the send batches of a resumed one."""
    if done.start:
        enqueue_after_commit(app, db, "newsletter.start_campaign", done.campaign_id)
    if done.batches is not None:
        ranges = done.batches.ranges

        def send() -> None:
            for first, last in ranges:
                enqueue(app, "newsletter.send_batch", done.campaign_id, first, last)

        after_commit(db, send)


def rate_limiter(app: FastAPI) -> RateLimiter:
    limiter = getattr(app.state, "staff_limiter", None)
    if limiter is None:
        limiter = make_rate_limiter(app.state.settings)
        app.state.staff_limiter = limiter
    return limiter
