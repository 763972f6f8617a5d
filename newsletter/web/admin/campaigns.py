"""Campaign pages: compose, preview (as a subscriber, per language, HTML and text), test-send,
schedule in the organisation's time zone, send, live progress, pause/resume/cancel, duplicate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from newsletter import clock
from newsletter.bounces.visibility import campaign_rates
from newsletter.campaigns import approval, service
from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.config import Settings
from newsletter.content.models import Post
from newsletter.content.routing import audience
from newsletter.delivery.outcomes import Outcome
from newsletter.rendering.compose import ComposeError, Preview
from newsletter.rendering.headers import HeaderInjection
from newsletter.staff import audit
from newsletter.staff import campaign_admin as ca
from newsletter.staff.models import StaffUser
from newsletter.subscribers.addresses import InvalidAddress, normalise_address
from newsletter.subscribers.models import MailingList, Subscriber
from newsletter.subscribers.service import find_by_address
from newsletter.web.admin.deps import Staff, editor, viewer
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.admin.tasks import enqueue_after_commit, enqueue_controlled_after_commit
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]
LIVE = (CampaignStatus.SENDING, CampaignStatus.SCHEDULED)
PREVIEW_CSP = (
    "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


def _campaign(staff: Staff, campaign_id: int) -> Campaign:
    campaign = staff.db.get(Campaign, campaign_id)
    if campaign is None:
        raise HTTPException(404)
    return campaign


@router.get("/admin/campaigns", response_class=HTMLResponse)
def campaign_index(request: Request, staff: Annotated[Staff, Depends(viewer)]) -> Response:
    campaigns = staff.db.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(100)).all()
    return render(
        request, "campaigns.html", {"campaigns": campaigns, "can_edit": staff.can(editor.min_role)}
    )


def _form(
    request: Request, staff: Staff, campaign: Campaign | None, error: str = "", status: int = 200
) -> Response:
    settings: Settings = request.app.state.settings
    # The campaign's own posts first, in its order (however old), then the latest others:
    # saving the form unchanged keeps the same posts in the same order.
    chosen = [staff.db.get(Post, p.post_id) for p in campaign.posts] if campaign else []
    own = [p for p in chosen if p is not None]
    recent = staff.db.scalars(select(Post).order_by(Post.id.desc()).limit(50)).all()
    posts = own + [p for p in recent if p not in own]
    return render(
        request,
        "campaign_form.html",
        {
            "c": campaign,
            "error": error,
            "languages": settings.languages,
            "templates": ca.available_templates(settings),
            "lists": staff.db.scalars(select(MailingList).order_by(MailingList.slug)).all(),
            "posts": posts,
            "variants": {v.language: v for v in campaign.variants} if campaign else {},
            "chosen_lists": {m.id for m in campaign.lists} if campaign else set(),
            "chosen_posts": {p.post_id for p in campaign.posts} if campaign else set(),
        },
        status,
    )


def _input(settings: Settings, form: FormData) -> ca.CampaignInput:
    def ids(name: str) -> list[int]:
        return [int(v) for v in form.getlist(name) if isinstance(v, str) and v.isdigit()]

    return ca.CampaignInput(
        name=str(form.get("name", "")),
        template_name=str(form.get("template_name", "")),
        list_ids=ids("lists"),
        post_ids=ids("posts"),
        variants=[
            ca.VariantInput(
                lang,
                str(form.get(f"subject_{lang}", "")),
                str(form.get(f"preheader_{lang}", "")),
                str(form.get(f"body_{lang}", "")).replace("\r\n", "\n"),
            )
            for lang in settings.languages
        ],
        archive_hidden=form.get("archive_hidden") == "yes",
    )


@router.get("/admin/campaigns/new", response_class=HTMLResponse)
def campaign_new(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    return _form(request, staff, None)


@router.get("/admin/campaigns/{campaign_id}/edit", response_class=HTMLResponse)
def campaign_edit(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    return _form(request, staff, _campaign(staff, campaign_id))


@router.post("/admin/campaigns/{campaign_id}/edit", dependencies=CSRF)
async def campaign_save(
    request: Request, campaign_id: str, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    """``campaign_id`` "new" creates a draft; a number rewrites that draft."""
    settings: Settings = request.app.state.settings
    campaign = None
    if campaign_id != "new":
        campaign = _campaign(staff, int(campaign_id)) if campaign_id.isdigit() else None
        if campaign is None:
            raise HTTPException(404)
    data = _input(settings, await request.form())
    try:
        saved = ca.save_campaign(staff.db, settings, staff.actor, data, campaign)
    except ca.CampaignRefused as exc:
        staff.db.rollback()
        return _form(request, staff, campaign, translated(request, str(exc)), 400)
    staff.db.commit()
    return redirect(f"/admin/campaigns/{saved.id}?notice=saved")


@router.get("/admin/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(viewer)], error: str = ""
) -> Response:
    settings: Settings = request.app.state.settings
    campaign = _campaign(staff, campaign_id)
    zone = ZoneInfo(settings.org_timezone)
    return render(
        request,
        "campaign.html",
        {
            "c": campaign,
            "progress": service.progress(staff.db, campaign.id),
            "rates": campaign_rates(staff.db, campaign.id, settings),
            "rate": ca.send_rate_per_minute(campaign),
            "live": campaign.status in LIVE,
            "can_edit": staff.can(editor.min_role),
            "languages": settings.languages,
            "zone": settings.org_timezone,
            "scheduled_local": campaign.scheduled_at.astimezone(zone)
            if campaign.scheduled_at
            else None,
            "default_local": (clock.now().astimezone(zone) + dt.timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "error": error,
            "people": _people(staff, campaign),
            "awaiting": approval.is_awaiting(campaign),
            "may_approve": staff.can(editor.min_role)
            and staff.user.id not in {campaign.approval_requested_by_id, campaign.created_by_id},
        },
    )


def _people(staff: Staff, campaign: Campaign) -> dict[str, str]:
    """Names of the staff behind the campaign (created, asked, approved, started it)."""
    ids = {
        "created": campaign.created_by_id,
        "requested": campaign.approval_requested_by_id,
        "approved": campaign.approved_by_id,
        "started": campaign.started_by_id,
    }
    found = {
        u.id: u.name or f"#{u.id}"
        for u in staff.db.scalars(
            select(StaffUser).where(StaffUser.id.in_([i for i in ids.values() if i]))
        )
    }
    return {role: found[i] for role, i in ids.items() if i in found}


def _confirm(
    request: Request, staff: Staff, campaign: Campaign, action: str, status: int = 200
) -> Response:
    """The step before mail leaves: how many readers, per list and language."""
    settings: Settings = request.app.state.settings
    total = approval.recipient_count(staff.db, campaign.id)
    return render(
        request,
        "campaign_confirm.html",
        {
            "c": campaign,
            "action": action,
            "form_action": f"/admin/campaigns/{campaign.id}/{action}",
            "total": total,
            "audience": audience(staff.db, list(campaign.lists)),
            "needs_second": action == "send"
            and approval.needs_second_editor(settings, staff.db, campaign),
        },
        status,
    )


@router.get("/admin/campaigns/{campaign_id}/send", response_class=HTMLResponse)
def campaign_send_confirm(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    campaign = _campaign(staff, campaign_id)
    if campaign.status not in service.STARTABLE or approval.is_awaiting(campaign):
        return redirect(f"/admin/campaigns/{campaign.id}")
    return _confirm(request, staff, campaign, "send")


@router.post("/admin/campaigns/{campaign_id}/approve", dependencies=CSRF)
def campaign_approve(
    request: Request,
    campaign_id: int,
    staff: Annotated[Staff, Depends(editor)],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """The second editor's "Approve and send": first the count, then, confirmed, it starts."""
    campaign = _campaign(staff, campaign_id)
    if not approval.is_awaiting(campaign):  # approved meanwhile (a double click, a colleague)
        return redirect(f"/admin/campaigns/{campaign.id}?notice=started")
    if confirm != "yes":
        return _confirm(request, staff, campaign, "approve")
    try:
        approval.approve(staff.db, campaign, staff.actor, clock.now())
    except approval.ApprovalRefused as exc:
        return _refused(request, staff, campaign, str(exc))
    enqueue_after_commit(request.app, staff.db, "newsletter.start_campaign", campaign.id)
    staff.db.commit()
    return redirect(f"/admin/campaigns/{campaign.id}?notice=started")


def _act(
    request: Request,
    staff: Staff,
    campaign: Campaign,
    action: str,
    notice: str,
    detail: dict[str, object] | None = None,
) -> Response:
    audit.record(
        staff.db,
        staff.actor,
        f"campaign.{action}",
        object_type="campaign",
        object_id=campaign.id,
        detail=detail,
    )
    staff.db.commit()
    return redirect(f"/admin/campaigns/{campaign.id}?notice={notice}")


def _refused(request: Request, staff: Staff, campaign: Campaign, message: str) -> Response:
    staff.db.rollback()
    return campaign_page(request, campaign.id, staff, translated(request, message))


@router.post("/admin/campaigns/{campaign_id}/schedule", dependencies=CSRF)
def campaign_schedule(
    request: Request,
    campaign_id: int,
    staff: Annotated[Staff, Depends(editor)],
    at: Annotated[str, Form()] = "",
) -> Response:
    campaign = _campaign(staff, campaign_id)
    try:
        moment = ca.local_to_utc(request.app.state.settings, at[:30])
        ca.schedule_at(staff.db, campaign.id, moment)
    except (ca.CampaignRefused, service.CampaignStateError) as exc:
        return _refused(request, staff, campaign, str(exc))
    return _act(request, staff, campaign, "schedule", "scheduled", {"at": moment.isoformat()})


def _control(
    request: Request, staff: Staff, campaign_id: int, action: str, notice: str
) -> Response:
    campaign = _campaign(staff, campaign_id)
    try:
        done = ca.control(staff.db, request.app.state.settings, campaign, action, staff.actor)
    except ca.CampaignRefused as exc:
        if action == "send" and campaign.started_at is not None:  # the other click sent it
            staff.db.rollback()
            return redirect(f"/admin/campaigns/{campaign.id}?notice=started")
        return _refused(request, staff, campaign, str(exc))
    enqueue_controlled_after_commit(request.app, staff.db, done)
    if done.audit_action == "send_held":
        notice = "held"
    return _act(request, staff, campaign, done.audit_action, notice, done.detail)


@router.post("/admin/campaigns/{campaign_id}/send", dependencies=CSRF)
def campaign_send(
    request: Request,
    campaign_id: int,
    staff: Annotated[Staff, Depends(editor)],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Sends only once confirmed on the count's page; a second submission (a double click)
    finds the campaign started in this very request's transaction and sends nothing more."""
    campaign = _campaign(staff, campaign_id)
    if confirm != "yes":
        return _confirm(request, staff, campaign, "send")
    if campaign.status not in service.STARTABLE and campaign.started_at is not None:
        return redirect(f"/admin/campaigns/{campaign.id}?notice=started")
    return _control(request, staff, campaign_id, "send", "started")


@router.post("/admin/campaigns/{campaign_id}/pause", dependencies=CSRF)
def campaign_pause(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    return _control(request, staff, campaign_id, "pause", "paused")


@router.post("/admin/campaigns/{campaign_id}/resume", dependencies=CSRF)
def campaign_resume(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    """Resumes in this request (the page shows "sending" at once) and enqueues the remaining
    batches after commit."""
    return _control(request, staff, campaign_id, "resume", "resumed")


@router.post("/admin/campaigns/{campaign_id}/cancel", dependencies=CSRF)
def campaign_cancel(
    request: Request, campaign_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    return _control(request, staff, campaign_id, "cancel", "cancelled")


@router.post("/admin/campaigns/{campaign_id}/duplicate", dependencies=CSRF)
def campaign_duplicate(campaign_id: int, staff: Annotated[Staff, Depends(editor)]) -> Response:
    copy = ca.duplicate(staff.db, staff.actor, _campaign(staff, campaign_id))
    staff.db.commit()
    return redirect(f"/admin/campaigns/{copy.id}/edit?notice=created")


@router.post("/admin/campaigns/{campaign_id}/test", dependencies=CSRF)
def campaign_test_send(
    request: Request,
    campaign_id: int,
    staff: Annotated[Staff, Depends(editor)],
    address: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
) -> Response:
    settings: Settings = request.app.state.settings
    campaign = _campaign(staff, campaign_id)
    language = language if language in settings.languages else settings.default_language
    try:
        result = ca.send_test(settings, campaign, language, address[:320])
    except InvalidAddress:
        return _refused(request, staff, campaign, "This is not a valid email address.")
    except (ComposeError, HeaderInjection) as exc:
        return _refused(request, staff, campaign, str(exc))
    if result.outcome != Outcome.SENT:
        return _refused(request, staff, campaign, f"The relay refused the test: {result.code}")
    return _act(request, staff, campaign, "test_send", "test-sent", {"language": language})


@dataclass(frozen=True)
class PreviewRequest:
    """What both preview routes show: the campaign, a known language, and (for editors)
    the subscriber to preview as; viewers only ever see the sample reader."""

    campaign: Campaign
    language: str
    subscriber: Subscriber | None
    subscriber_id: str
    settings: Settings
    unknown_address: str = ""

    def compose(self) -> Preview:
        return ca.preview_as(self.settings, self.campaign, self.language, self.subscriber)


def preview_request(
    request: Request,
    campaign_id: int,
    staff: Annotated[Staff, Depends(viewer)],
    language: str = "",
    subscriber_id: str = "",
    address: str = "",
) -> PreviewRequest:
    """``address`` (the preview form) finds the subscriber staff know by their address;
    ``subscriber_id`` (the frame, the form's answer) keeps addresses out of later URLs."""
    settings: Settings = request.app.state.settings
    campaign = _campaign(staff, campaign_id)
    language = language if language in settings.languages else settings.default_language
    subscriber = None
    unknown = ""
    if staff.can(editor.min_role):
        if address.strip():
            try:
                subscriber = find_by_address(staff.db, normalise_address(address.strip()[:320]))
            except InvalidAddress:
                subscriber = None
            unknown = "" if subscriber else address.strip()[:320]
        elif subscriber_id.isdigit():
            subscriber = staff.db.get(Subscriber, int(subscriber_id))
    shown_id = str(subscriber.id) if subscriber else ""
    return PreviewRequest(campaign, language, subscriber, shown_id, settings, unknown)


Shown = Annotated[PreviewRequest, Depends(preview_request)]


@router.get("/admin/campaigns/{campaign_id}/preview", response_class=HTMLResponse)
def campaign_preview(request: Request, shown: Shown) -> Response:
    context: dict[str, Any] = {
        "c": shown.campaign,
        "p": None,
        "error": "",
        "language": shown.language,
        "languages": shown.settings.languages,
        "subscriber": shown.subscriber,
        "subscriber_id": shown.subscriber_id,
        "unknown_address": shown.unknown_address,
    }
    try:
        context["p"] = shown.compose()
    except (ComposeError, HeaderInjection) as exc:
        context["error"] = str(exc)
        return render(request, "campaign_preview.html", context, 400)
    return render(request, "campaign_preview.html", context)


@router.get("/admin/campaigns/{campaign_id}/preview.html", response_class=HTMLResponse)
def campaign_preview_html(shown: Shown) -> Response:
    """The HTML part alone, for the preview frame: its own strict CSP (no script at all)."""
    try:
        html = shown.compose().html
    except (ComposeError, HeaderInjection) as exc:
        html = f"<p>{type(exc).__name__}</p>"
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": PREVIEW_CSP,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        },
    )
