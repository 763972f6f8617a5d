"""One JSON log line per request, with the route's template instead of its path.

Paths carry tokens (confirmation, unsubscribe, password reset) and uvicorn's access log also
writes the client's IP, so that log is off (`newsletter web`) and this one logs the method,
the matched route (``/unsubscribe/{token}``), the status and the time, under a request id.
"""

from __future__ import annotations

import logging
import secrets
import time

from fastapi import FastAPI, Request

from newsletter.observability.logs import log_context

log = logging.getLogger("newsletter.web.request")


def install_request_log(app: FastAPI) -> None:
    @app.middleware("http")
    async def request_log(request: Request, call_next):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        with log_context(request_id=secrets.token_hex(6)):
            response = await call_next(request)
            route = request.scope.get("route")
            log.info(
                "%s %s %s",
                request.method,
                getattr(route, "path", "(no route)"),
                response.status_code,
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 1)},
            )
        return response
