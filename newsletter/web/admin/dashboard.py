"""The dashboard: subscribers over time, per list and language, recent campaigns."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from newsletter.staff import digest_admin, reports
from newsletter.web.admin.deps import Staff, viewer
from newsletter.web.admin.rendering import page_language, render
from newsletter.web.admin.system import service_warnings

router = APIRouter()


@router.get("/admin/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    staff: Annotated[Staff, Depends(viewer)],
) -> Response:
    over_time = reports.active_subscribers_over_time(staff.db, language=page_language(request))
    return render(
        request,
        "dashboard.html",
        {
            "chart": reports.bar_chart(over_time),
            "by_status": reports.subscribers_by_status(staff.db),
            "by_list": reports.active_by_list_and_language(staff.db),
            "campaigns": reports.recent_campaigns(staff.db, request.app.state.settings),
            "held_digests": digest_admin.held_digests(staff.db),
            "service_warnings": service_warnings(request, staff),
        },
    )
