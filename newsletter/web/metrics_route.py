"""``GET /metrics`` of the web process, for Prometheus only.

Never public: it exists only when ``METRICS_TOKEN`` is set, and answers only to
``Authorization: Bearer <METRICS_TOKEN>`` (compared in constant time). It serves this
process's counters (sign-ups, webhooks, system mail) and the shared gauges of
`newsletter.observability.collector`.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry

from newsletter.observability.collector import SystemCollector
from newsletter.observability.metrics import render

router = APIRouter(include_in_schema=False)


def _system_registry(request: Request) -> CollectorRegistry:
    state = request.app.state
    if getattr(state, "metrics_registry", None) is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(SystemCollector(state.settings, state.session_factory))
        state.metrics_registry = registry
    return state.metrics_registry


@router.get("/metrics")
def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if not token:
        return PlainTextResponse("Not Found", status_code=404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return PlainTextResponse(
            "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
    body = render() + render(_system_registry(request))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
