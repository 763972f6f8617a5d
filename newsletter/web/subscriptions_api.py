"""``POST /api/v1/subscriptions``: sign-ups from websites and CRMs, as JSON.

The same rules as the forms (``journey.handle_sign_up``): rate limits, honeypot, ALTCHA
when enabled, validation, no enumeration (one 202 answer whatever the address's status).
Browsers may call it only from ``SUBSCRIBE_CORS_ORIGINS`` (CORS answered here, for these
routes only; no cookies are involved, so no CSRF token either). Server-side callers (a CRM)
send no ``Origin`` and are not affected by CORS.

``GET /api/v1/subscriptions/challenge`` gives a fresh form stamp and, when enabled, an ALTCHA
challenge: the embedded snippet's script uses it to add both to the form.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from newsletter.abuse import form_guard
from newsletter.i18n import gettext, using_language
from newsletter.web.journey import handle_sign_up, page_language, settings_of

router = APIRouter(prefix="/api/v1/subscriptions", tags=["subscriptions"])
MAX_JSON_BYTES = 16 * 1024


class SubscriptionRequest(BaseModel):
    """Documented shape of the JSON body (validation and cleaning happen in the service)."""

    model_config = ConfigDict(extra="allow")
    email: str = Field(examples=["supporter@example.org"])
    name: str | None = None
    language: str | None = Field(default=None, examples=["fr"])
    lists: list[str] = Field(default_factory=list, examples=[["press-releases"]])
    consent_text_version: str | None = None
    timezone: str | None = Field(
        default=None, examples=["Africa/Nairobi"], description="IANA name, for event times"
    )
    altcha: str | None = None


def _cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if not origin or origin.rstrip("/") not in settings_of(request).subscribe_cors_origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Accept-Language",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


def _json(
    request: Request, body: dict[str, object], status_code: int = 200, **headers: str
) -> JSONResponse:
    response = JSONResponse(body, status_code=status_code, headers=_cors_headers(request))
    response.headers.update(headers)
    return response


def _cross_origin_refused(request: Request) -> bool:
    """A browser on a site not in the allowed list: refuse before doing anything."""
    origin = request.headers.get("origin")
    own = settings_of(request).base_url
    return bool(origin) and origin != own and not _cors_headers(request)


@router.options("", include_in_schema=False)
@router.options("/challenge", include_in_schema=False)
def preflight(request: Request) -> Response:
    headers = _cors_headers(request)
    return Response(status_code=204 if headers else 403, headers=headers)


@router.get("/challenge")
def challenge(request: Request) -> JSONResponse:
    settings = settings_of(request)
    body: dict[str, object] = {"form_stamp": form_guard.form_stamp(settings), "altcha": None}
    if settings.altcha_enabled:
        body["altcha"] = form_guard.new_challenge(settings)
    return _json(request, body, 200, **{"Cache-Control": "no-store"})


def _error(
    request: Request, language: str, status: int, field: str, message: str, **headers: str
) -> JSONResponse:
    return _json(request, {"error": {"field": field, "message": message}}, status, **headers)


_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": SubscriptionRequest.model_json_schema()}},
    }
}


@router.post(
    "",
    status_code=202,
    openapi_extra=_BODY_SCHEMA,
    responses={
        202: {
            "description": "Accepted: a confirmation email is on its way if the address can "
            "receive one (the same answer for every address)."
        },
        422: {"description": "A field is invalid; `error.field` names it."},
        429: {"description": "Too many attempts; see Retry-After."},
    },
)
async def create_subscription(request: Request, background: BackgroundTasks) -> JSONResponse:
    """Sign someone up (double opt-in). ``lists`` are the slugs of public lists."""
    language = page_language(request)
    if _cross_origin_refused(request):
        with using_language(language):
            return _error(
                request, language, 403, "origin", gettext("This site may not sign people up here.")
            )
    length = request.headers.get("content-length", "0")
    raw = await request.body() if length.isdigit() and int(length) <= MAX_JSON_BYTES else b""
    if not length.isdigit() or int(length) > MAX_JSON_BYTES or len(raw) > MAX_JSON_BYTES:
        with using_language(language):
            return _error(request, language, 413, "", gettext("The request is too large."))
    try:
        fields = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        fields = None
    if not isinstance(fields, dict):
        with using_language(language):
            return _error(
                request, language, 400, "", gettext("The request body must be a JSON object.")
            )
    answer = await run_in_threadpool(
        handle_sign_up, request, background, fields, source="api", stamp_required=False
    )
    if answer.kind != "accepted":
        headers = {"Retry-After": str(answer.retry_after)} if answer.retry_after else {}
        return _error(
            request, answer.language, answer.status_code, answer.field, answer.message, **headers
        )
    with using_language(answer.language):
        message = gettext("Thank you. Please check your inbox: we have sent you a link to confirm.")
    return _json(request, {"status": "accepted", "message": message}, 202)
