"""What staff pages hand to the workers, and the sign-in limiter, built once per app.

Pages enqueue by task name (ids only, after commit: invariant 1), so the web process does
not import the task modules.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from fastapi import FastAPI

from newsletter.abuse.ratelimit import RateLimiter, make_rate_limiter


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


def rate_limiter(app: FastAPI) -> RateLimiter:
    limiter = getattr(app.state, "staff_limiter", None)
    if limiter is None:
        limiter = make_rate_limiter(app.state.settings)
        app.state.staff_limiter = limiter
    return limiter
