"""The System and Deliverability pages (admins), and the dashboard's service warnings.

Thin shells: workers are asked through Celery's control API here (the domain stays free of
Celery), everything else comes from `newsletter.observability.system` and
`newsletter.deliverability.checks`. Worker and relay answers are kept for 30 seconds, so the
dashboard does not wait for a ping on every load.
"""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from newsletter.deliverability.checks import run_checks
from newsletter.observability import system
from newsletter.web.admin.deps import Staff, admin
from newsletter.web.admin.rendering import render
from newsletter.web.admin.tasks import celery_for

log = logging.getLogger(__name__)
router = APIRouter()
CACHE_SECONDS = 30.0


def ask_workers(app: FastAPI, timeout: float = 1.0) -> list[system.WorkerSeen] | None:
    """Workers that answered and their running tasks; None when the broker cannot be asked."""
    try:
        inspect = celery_for(app).control.inspect(timeout=timeout)
        answers: dict[str, list[dict[str, Any]]] = inspect.active() or {}
    except Exception as exc:  # filesystem broker (no broadcast), broker down
        log.info("workers cannot be asked (%s)", type(exc).__name__)
        return None
    return [
        system.WorkerSeen(name, [(task.get("name", "?"), task.get("id", "")) for task in tasks])
        for name, tasks in sorted(answers.items())
    ]


def _cached(app: FastAPI, key: str, compute: Any) -> Any:
    cache = app.state.__dict__.setdefault("_system_cache", {})
    found = cache.get(key)
    if found is not None and time.monotonic() - found[0] < CACHE_SECONDS:
        return found[1]
    value = compute()
    cache[key] = (time.monotonic(), value)
    return value


def service_warnings(request: Request, staff: Staff) -> list[str]:
    """For the dashboard: beat_stale, no_worker, relay_refusing (cached for 30 s)."""
    app = request.app
    settings = app.state.settings
    workers = _cached(app, "workers", lambda: ask_workers(app))
    relays = _cached(app, "relays", lambda: [
        system.probe_relay(i, t, timeout=3.0) for i, t in enumerate(system.relay_targets(settings))
    ])  # fmt: skip
    return system.warnings(staff.db, settings, workers, relays)


@router.get("/admin/system", response_class=HTMLResponse)
async def system_page(request: Request, staff: Annotated[Staff, Depends(admin)]) -> Response:
    app = request.app
    workers = await run_in_threadpool(ask_workers, app)
    status = await run_in_threadpool(system.system_status, staff.db, app.state.settings, workers)
    app.state.__dict__.setdefault("_system_cache", {})["relays"] = (time.monotonic(), status.relays)
    settings = app.state.settings
    context = {
        "status": status,
        "beat_stale": system.beat_is_stale(status.beat_age, settings.beat_stale_seconds),
        "warnings": system.warnings(staff.db, settings, workers, status.relays),
    }
    return render(request, "system.html", context)


@router.get("/admin/deliverability", response_class=HTMLResponse)
async def deliverability_page(
    request: Request, staff: Annotated[Staff, Depends(admin)]
) -> Response:
    findings = await run_in_threadpool(run_checks, request.app.state.settings)
    return render(request, "deliverability.html", {"findings": findings})
