"""Digest approval pages: the held monthly digests listed, each previewed (per language, HTML
and text, through the campaign preview), approved (it starts sending) or discarded.

Viewers may look; only editors approve or discard (the route walk checks both).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from newsletter.config import Settings
from newsletter.content.service import translation_for
from newsletter.staff import digest_admin
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


@router.post("/admin/digests/{campaign_id}/approve", dependencies=CSRF)
def digest_approve(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    try:
        digest_admin.approve(staff.db, staff.actor, campaign_id)
    except digest_admin.DigestRefused as exc:
        staff.db.rollback()
        return render(request, "digests.html", _refusal(request, staff, exc), 409)
    enqueue_after_commit(request.app, staff.db, "newsletter.start_campaign", campaign_id)
    staff.db.commit()
    return redirect(f"/admin/campaigns/{campaign_id}?notice=started")


@router.post("/admin/digests/{campaign_id}/discard", dependencies=CSRF)
def digest_discard(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    try:
        digest_admin.discard(staff.db, staff.actor, campaign_id)
    except digest_admin.DigestRefused as exc:
        staff.db.rollback()
        return render(request, "digests.html", _refusal(request, staff, exc), 409)
    staff.db.commit()
    return redirect("/admin/digests?notice=discarded")


def _refusal(request: Request, staff: Staff, exc: Exception) -> dict[str, object]:
    return {
        "digests": digest_admin.held_digests(staff.db),
        "error": translated(request, str(exc)),
    }
