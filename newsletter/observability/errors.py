"""Optional error reports to Sentry (``SENTRY_DSN``), scrubbed of personal data before they leave.

Off by default: an error report is a copy of the service's state sent to a third party (or to
a server the coalition must run itself), and a subscriber list is exactly what a coalition's
opponents would like to see. When it is on, `scrub_event` runs on every event: no user, no
cookies, headers or request bodies, no local variables, and every string in what is left has
its email addresses replaced. Only stack frames, exception types, ids and codes remain.
"""

from __future__ import annotations

import logging
from typing import Any

from newsletter.config import Settings
from newsletter.observability.logs import redact

log = logging.getLogger(__name__)
_DROPPED_REQUEST_KEYS = ("cookies", "data", "headers", "query_string", "env")
_SECRET_WORDS = ("token", "password", "secret", "authorization", "cookie", "email", "name")


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return "[deep]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            key: "[filtered]"
            if isinstance(key, str) and any(word in key.lower() for word in _SECRET_WORDS)
            else _scrub(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item, depth + 1) for item in value]
    return value


def scrub_event(event: dict[str, Any], hint: object = None) -> dict[str, Any]:
    """Sentry's ``before_send``: the event without personal data (see the module docstring)."""
    event = dict(event)
    event.pop("user", None)
    event.pop("server_name", None)
    request = event.get("request")
    if isinstance(request, dict):
        request = {k: v for k, v in request.items() if k not in _DROPPED_REQUEST_KEYS}
        if "url" in request:  # a path may carry a token: keep scheme, host and the first segment
            url = str(request["url"])
            scheme, _, rest = url.partition("://")
            host, _, path = rest.partition("/")
            request["url"] = f"{scheme}://{host}/{path.split('/')[0]}"
        event["request"] = request
    for container in _frames(event):
        container.pop("vars", None)
    return _scrub(event)


def scrub_breadcrumb(crumb: dict[str, Any], hint: object = None) -> dict[str, Any]:
    return _scrub(crumb)


def _frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    for exception in (event.get("exception") or {}).get("values") or []:
        frames += (exception.get("stacktrace") or {}).get("frames") or []
    for thread in (event.get("threads") or {}).get("values") or []:
        frames += (thread.get("stacktrace") or {}).get("frames") or []
    return [frame for frame in frames if isinstance(frame, dict)]


def init_error_reporting(settings: Settings, process: str, **options: Any) -> bool:
    """Start Sentry when ``SENTRY_DSN`` is set (and sentry-sdk installed); True if started.

    ``options`` go to ``sentry_sdk.init`` (the tests pass a transport that keeps the events).
    """
    if not settings.sentry_dsn:
        return False
    try:
        import sentry_sdk
    except ImportError:
        log.warning("SENTRY_DSN is set but sentry-sdk is not installed; no error reports")
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.sentry_environment or settings.app_env,
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,  # type: ignore[arg-type]
        server_name=process,
        traces_sample_rate=0.0,
        **options,
    )
    return True
