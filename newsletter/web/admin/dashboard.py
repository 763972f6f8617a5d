"""The dashboard: subscribers over time, per list and language, recent campaigns; what needs
staff now (no list at all, alerts that found no list, digests to approve)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from newsletter import clock
from newsletter.bounces.review import review_counts
from newsletter.campaigns import approval
from newsletter.content.alerts import unrouted_posts
from newsletter.content.routing import route_label
from newsletter.staff import digest_admin, reports, summaries
from newsletter.subscribers.models import MailingList
from newsletter.web.admin.deps import Staff, viewer
from newsletter.web.admin.rendering import page_language, render
from newsletter.web.admin.system import service_warnings

router = APIRouter()


@router.get("/admin/", response_class=HTMLResponse)
def dashboard(
    request: Request,
    staff: Annotated[Staff, Depends(viewer)],
) -> Response:
    settings = request.app.state.settings
    summary = summaries.current(staff.db, settings)
    lists = summaries.lists_by_id(staff.db)
    return render(
        request,
        "dashboard.html",
        {
            "chart": reports.bar_chart(summaries.chart_points(summary, page_language(request))),
            "by_status": summary.by_status,
            "by_list": [
                (lists[list_id], language, count)
                for list_id, language, count in summary.by_list
                if list_id in lists
            ],
            "summary": summary,
            "refresh_minutes": summaries.refresh_minutes(settings),
            "campaigns": summaries.recent_campaigns(staff.db, settings, summary),
            "held_digests": digest_admin.held_digests(staff.db),
            "awaiting_approval": approval.awaiting(staff.db),
            "service_warnings": service_warnings(request, staff),
            "review": review_counts(staff.db),
            "unrouted_alerts": unrouted_posts(settings, staff.db, clock.now()),
            "route_label": route_label,
            "no_lists": staff.db.scalar(select(MailingList.id).limit(1)) is None,
        },
    )
