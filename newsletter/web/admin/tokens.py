"""API token pages: make a token (its value shown once), list and revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from newsletter.staff import api_tokens
from newsletter.staff.models import ApiToken, StaffRole
from newsletter.web.admin.deps import Staff, viewer
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]


def _page(
    request: Request, staff: Staff, *, new_token: str = "", error: str = "", status: int = 200
) -> Response:
    response = render(
        request,
        "tokens.html",
        {
            "tokens": api_tokens.visible_tokens(staff.db, staff.user),
            "scopes": sorted(api_tokens.ROLE_SCOPES[staff.user.role]),
            "new_token": new_token,
            "error": error,
        },
        status,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/admin/tokens", response_class=HTMLResponse)
def token_index(request: Request, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    return _page(request, staff)


@router.post("/admin/tokens", dependencies=CSRF)
async def token_create(request: Request, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    form = await request.form()
    days = str(form.get("expires_in_days", ""))
    try:
        _token, raw = api_tokens.create_token(
            staff.db,
            staff.user,
            staff.actor,
            name=str(form.get("name", "")),
            scopes=[str(s) for s in form.getlist("scopes")],
            expires_in_days=int(days) if days.isdigit() and 0 < int(days) <= 3650 else None,
        )
    except api_tokens.TokenRefused as exc:
        staff.db.rollback()
        return _page(request, staff, error=translated(request, str(exc)), status=400)
    staff.db.commit()
    return _page(request, staff, new_token=raw)


@router.post("/admin/tokens/{token_id}/revoke", dependencies=CSRF)
def token_revoke(token_id: int, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    token = staff.db.get(ApiToken, token_id)
    if token is None or (
        token.staff_user_id != staff.user.id and staff.user.role != StaffRole.ADMIN
    ):
        raise HTTPException(404)
    api_tokens.revoke(staff.db, token, staff.actor)
    staff.db.commit()
    return redirect("/admin/tokens?notice=revoked")
