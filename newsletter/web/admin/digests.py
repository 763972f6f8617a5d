"""Digest approval pages: the held monthly digests listed, each previewed (per language, HTML
and text, through the campaign preview), approved (it starts sending) or discarded.

Viewers may look; only editors approve or discard (the route walk checks both).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from newsletter.campaigns import approval
from newsletter.config import Settings
from newsletter.content.routing import audience
from newsletter.content.service import translation_for
from newsletter.staff import digest_admin
from newsletter.staff.audit import Actor
from newsletter.web.admin.deps import Staff, editor, viewer
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.admin.tasks import enqueue_after_commit
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]


@router.get("/admin/digests", response_class=HTMLResponse)
def digest_index(request: Request, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    return render(
        request, "digests.html", {"digests": digest_admin.held_digests(staff.db), "error": ""}
    )


def _page(
    request: Request, staff: Staff, campaign_id: int, error: str = "", status: int = 200
) -> Response:
    settings: Settings = request.app.state.settings
    campaign = digest_admin.held_digest(staff.db, campaign_id)
    if campaign is None:
        raise HTTPException(404)
    asked = request.query_params.get("language", "")
    language = asked if asked in settings.languages else settings.default_language
    titles = [
        (link.post_id, translation_for(link.post, language, settings.default_language).title)
        for link in campaign.posts
    ]
    context = {
        "c": campaign,
        "preview_language": language,
        "titles": titles,
        "languages": settings.languages,
        "can_edit": staff.can(editor.min_role),
        "error": error,
    }
    return render(request, "digest.html", context, status)


@router.get("/admin/digests/{campaign_id}", response_class=HTMLResponse)
def digest_page(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(viewer)]
) -> Response:
    return _page(request, staff, campaign_id)


def _decide(
    request: Request,
    staff: Staff,
    campaign_id: int,
    decision: Callable[[Session, Actor, int], object],
) -> Response | None:
    """Apply ``decision`` to the held digest; the list with the reason when it is not held."""
    try:
        decision(staff.db, staff.actor, campaign_id)
    except digest_admin.DigestRefused as exc:
        staff.db.rollback()
        context = {
            "digests": digest_admin.held_digests(staff.db),
            "error": translated(request, str(exc)),
        }
        return render(request, "digests.html", context, 409)
    return None


@router.post("/admin/digests/{campaign_id}/approve", dependencies=CSRF)
def digest_approve(
    request: Request,
    campaign_id: int,
    staff: Annotated[Staff, Depends(editor)],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """ "Approve and send" shows the recipient count first; confirmed, the digest is scheduled
    for now and its start enqueued once that is committed. A second submission finds it no
    longer held and sends nothing more."""
    if confirm != "yes":
        campaign = digest_admin.held_digest(staff.db, campaign_id)
        if campaign is None:
            return redirect(f"/admin/campaigns/{campaign_id}?notice=started")
        context = {
            "c": campaign,
            "action": "digest",
            "form_action": f"/admin/digests/{campaign.id}/approve",
            "total": approval.recipient_count(staff.db, campaign.id),
            "audience": audience(staff.db, list(campaign.lists)),
            "needs_second": False,
        }
        return render(request, "campaign_confirm.html", context)
    refused = _decide(request, staff, campaign_id, digest_admin.approve)
    if refused is not None:
        return refused
    enqueue_after_commit(request.app, staff.db, "newsletter.start_campaign", campaign_id)
    staff.db.commit()
    return redirect(f"/admin/campaigns/{campaign_id}?notice=started")


@router.post("/admin/digests/{campaign_id}/discard", dependencies=CSRF)
def digest_discard(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    refused = _decide(request, staff, campaign_id, digest_admin.discard)
    if refused is not None:
        return refused
    staff.db.commit()
    return redirect("/admin/digests?notice=discarded")
