"""Bounce pages: the suppression list (search, lift with a reason), open staff warnings, and
the review queue of quarantined messages (read, attribute, discard, reprocess).

Thin shells over `bounces.visibility`, `bounces.warnings` and `bounces.review`: each POST calls
one audited domain function and commits. Roles: anyone signed in sees the warnings; editors
resolve them, see suppressed addresses and review messages; lifting a suppression (which mails
an address that bounced or complained) is for admins.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from newsletter.bounces import inbox, review, visibility, warnings
from newsletter.bounces.models import InboundStatus
from newsletter.config import Settings
from newsletter.web.admin.deps import Staff, admin, editor, viewer
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]
PAGE = 100

#: The review page's notice after a decision (codes only; see rendering.NOTICES).
_OUTCOME_NOTICE = {
    InboundStatus.PROCESSED: "reprocessed",
    InboundStatus.IGNORED: "reprocessed",
    InboundStatus.QUARANTINED: "still-quarantined",
}


def _suppressions_page(
    request: Request, staff: Staff, q: str, error: str = "", status: int = 200
) -> Response:
    rows = visibility.suppressed_addresses(staff.db, search=q[:200], limit=PAGE)
    return render(
        request,
        "suppressions.html",
        {"rows": rows, "q": q, "can_lift": staff.can(admin.min_role), "error": error},
        status,
    )


@router.get("/admin/suppressions", response_class=HTMLResponse)
def suppression_list(
    request: Request, staff: Annotated[Staff, Depends(editor)], q: str = ""
) -> Response:
    return _suppressions_page(request, staff, q)


@router.post("/admin/suppressions/{suppression_id}/lift", dependencies=CSRF)
def suppression_lift(
    request: Request,
    suppression_id: int,
    staff: Annotated[Staff, Depends(admin)],
    reason: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
) -> Response:
    try:
        visibility.lift_suppression(
            staff.db,
            suppression_id,
            reason=reason,
            actor_type=staff.actor.kind,
            actor_id=staff.actor.id,
            ip=staff.actor.ip,
        )
    except visibility.LiftRefused as exc:
        staff.db.rollback()
        return _suppressions_page(request, staff, q, translated(request, str(exc)), 400)
    staff.db.commit()
    return redirect("/admin/suppressions?notice=lifted")


@router.get("/admin/warnings", response_class=HTMLResponse)
def warning_list(request: Request, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    return render(
        request,
        "staff_warnings.html",
        {
            "warnings": warnings.open_warnings(staff.db),
            "can_resolve": staff.can(editor.min_role),
        },
    )


@router.post("/admin/warnings/{warning_id}/resolve", dependencies=CSRF)
def warning_resolve(warning_id: int, staff: Annotated[Staff, Depends(editor)]) -> Response:
    try:
        review.resolve_warning(staff.db, warning_id, staff.actor)
    except review.ReviewRefused:
        staff.db.rollback()
        return redirect("/admin/warnings?notice=already-resolved")
    staff.db.commit()
    return redirect("/admin/warnings?notice=resolved")


@router.get("/admin/review", response_class=HTMLResponse)
def review_queue(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    return render(
        request,
        "review_queue.html",
        {
            "messages": inbox.quarantined(staff.db, limit=PAGE),
            "events": visibility.events_needing_review(staff.db, limit=PAGE),
        },
    )


def _message_page(
    request: Request, staff: Staff, inbound_id: int, error: str = "", status: int = 200
) -> Response:
    settings: Settings = request.app.state.settings
    try:
        view = review.read_message(staff.db, settings, inbound_id)
    except review.ReviewRefused:
        raise HTTPException(404) from None
    return render(request, "review_message.html", {"m": view, "error": error}, status)


@router.get("/admin/review/{inbound_id}", response_class=HTMLResponse)
def review_message(
    request: Request, inbound_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    return _message_page(request, staff, inbound_id)


@router.post("/admin/review/{inbound_id}/attribute", dependencies=CSRF)
def review_attribute(
    request: Request,
    inbound_id: int,
    staff: Annotated[Staff, Depends(editor)],
    address: Annotated[str, Form()] = "",
) -> Response:
    settings: Settings = request.app.state.settings
    try:
        review.attribute_message(staff.db, settings, inbound_id, address, staff.actor)
    except review.ReviewRefused as exc:
        staff.db.rollback()
        return _message_page(request, staff, inbound_id, translated(request, str(exc)), 400)
    staff.db.commit()
    return redirect("/admin/review?notice=attributed")


@router.post("/admin/review/{inbound_id}/discard", dependencies=CSRF)
def review_discard(
    request: Request, inbound_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    try:
        review.discard_message(staff.db, inbound_id, staff.actor)
    except review.ReviewRefused as exc:
        staff.db.rollback()
        return _message_page(request, staff, inbound_id, translated(request, str(exc)), 400)
    staff.db.commit()
    return redirect("/admin/review?notice=discarded-message")


@router.post("/admin/review/{inbound_id}/reprocess", dependencies=CSRF)
def review_reprocess(
    request: Request, inbound_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    settings: Settings = request.app.state.settings
    try:
        outcome = review.reprocess_message(staff.db, settings, inbound_id, staff.actor)
    except review.ReviewRefused as exc:
        staff.db.rollback()
        return _message_page(request, staff, inbound_id, translated(request, str(exc)), 400)
    staff.db.commit()
    return redirect(f"/admin/review?notice={_OUTCOME_NOTICE.get(outcome, 'reprocessed')}")
