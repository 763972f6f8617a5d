"""``/api/v1/campaigns``: read (progress counters included), create a draft, schedule, send,
pause, resume, cancel: each a thin shell over the console's own domain functions
(`newsletter.staff.campaign_admin`, `newsletter.campaigns.service`), audited.

Resume happens in the request, as in the console: the answer already says "sending", and the
remaining batches are enqueued after the commit (never a queued resume task, which could wait
behind the batches it should restart).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from sqlalchemy import select

from newsletter.campaigns import service
from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.staff import audit
from newsletter.staff import campaign_admin as ca
from newsletter.staff.subscriber_admin import SubscriberRefused, lists_by_slug
from newsletter.web.admin.tasks import enqueue_controlled_after_commit
from newsletter.web.api.deps import ApiCaller, scope
from newsletter.web.api.schemas import AUTH, CampaignCreate, CampaignOut, ScheduleIn, problem

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = problem(404)
REFUSED = problem(400, "Refused by the campaign rules (translated)")
CONFLICT = problem(409, "Not allowed in the campaign's status")
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Read = Annotated[ApiCaller, Depends(scope("campaigns:read"))]
Write = Annotated[ApiCaller, Depends(scope("campaigns:write"))]


def _get(caller: ApiCaller, campaign_id: int) -> Campaign:
    campaign = caller.db.get(Campaign, campaign_id)
    if campaign is None:
        raise HTTPException(404, detail="No such campaign.")
    return campaign


def _done(caller: ApiCaller, campaign: Campaign, action: str, **detail: object) -> CampaignOut:
    audit.record(
        caller.db,
        caller.actor,
        f"campaign.{action}",
        object_type="campaign",
        object_id=campaign.id,
        detail=detail or None,
    )
    caller.db.commit()
    caller.db.refresh(campaign)
    return CampaignOut.model_validate(campaign)


def _refused(caller: ApiCaller, status: int, exc: Exception) -> HTTPException:
    caller.db.rollback()
    return caller.refusal(status, str(exc))


@router.get("", response_model=list[CampaignOut], responses=AUTH)
def list_campaigns(
    caller: Read, status: CampaignStatus | None = None, limit: Limit = 50, offset: Offset = 0
) -> list[CampaignOut]:
    statement = select(Campaign).order_by(Campaign.id.desc()).limit(limit).offset(offset)
    if status is not None:
        statement = statement.where(Campaign.status == status)
    return [CampaignOut.model_validate(c) for c in caller.db.scalars(statement)]


@router.get("/{campaign_id}", response_model=CampaignOut, responses=AUTH | NOT_FOUND)
def get_campaign(caller: Read, campaign_id: Id) -> CampaignOut:
    return CampaignOut.model_validate(_get(caller, campaign_id))


def _save(caller: ApiCaller, body: CampaignCreate, campaign: Campaign | None) -> Campaign:
    """The console's own save (rules, audit), its refusals as translated 400s."""
    try:
        lists = lists_by_slug(caller.db, body.lists)
    except SubscriberRefused as exc:
        raise caller.refusal(400, str(exc)) from None
    data = ca.CampaignInput(
        name=body.name,
        template_name=body.template_name,
        list_ids=[m.id for m in lists],
        post_ids=body.posts,
        variants=[
            ca.VariantInput(language, t.subject, t.preheader, t.body_markdown)
            for language, t in body.texts.items()
        ],
        archive_hidden=body.archive_hidden,
    )
    try:
        saved = ca.save_campaign(caller.db, caller.settings, caller.actor, data, campaign)
    except ca.CampaignRefused as exc:
        raise _refused(caller, 400, exc) from None
    caller.db.commit()
    return saved


@router.post("", response_model=CampaignOut, status_code=201, responses=AUTH | REFUSED)
def create_campaign(caller: Write, body: CampaignCreate, response: Response) -> CampaignOut:
    """A draft campaign, as the console composes it; schedule or send it next."""
    campaign = _save(caller, body, None)
    response.headers["Location"] = f"/api/v1/campaigns/{campaign.id}"
    return CampaignOut.model_validate(campaign)


@router.put("/{campaign_id}", response_model=CampaignOut, responses=AUTH | NOT_FOUND | REFUSED)
def replace_campaign(caller: Write, campaign_id: Id, body: CampaignCreate) -> CampaignOut:
    """Rewrite a draft or scheduled campaign (name, template, lists, posts, texts); a campaign
    that has started sending is refused (400), as in the console."""
    campaign = _get(caller, campaign_id)
    return CampaignOut.model_validate(_save(caller, body, campaign))


@router.post(
    "/{campaign_id}/schedule",
    response_model=CampaignOut,
    responses=AUTH | NOT_FOUND | REFUSED | CONFLICT,
)
def schedule_campaign(caller: Write, campaign_id: Id, body: ScheduleIn) -> CampaignOut:
    """Start sending at ``at`` (the beat's tick starts it then)."""
    campaign = _get(caller, campaign_id)
    try:
        ca.schedule_at(caller.db, campaign.id, body.at)
    except ca.CampaignRefused as exc:
        raise _refused(caller, 400, exc) from None
    except service.CampaignStateError:
        raise _refused(
            caller, 409, ca.CampaignRefused("This campaign has already started.")
        ) from None
    return _done(caller, campaign, "schedule", at=body.at.isoformat())


@router.post(
    "/{campaign_id}/{action}",
    response_model=CampaignOut,
    responses=AUTH | NOT_FOUND | CONFLICT,
)
def control_campaign(
    caller: Write,
    request: Request,
    campaign_id: Id,
    action: Literal["send", "pause", "resume", "cancel"],
) -> CampaignOut:
    """``send`` starts a draft or scheduled campaign now (its status turns to sending within
    moments, in a worker); pause, resume and cancel act at once."""
    campaign = _get(caller, campaign_id)
    try:
        done = ca.control(caller.db, caller.settings, campaign, action, caller.actor)
    except ca.CampaignRefused as exc:
        raise _refused(caller, 409, exc) from None
    enqueue_controlled_after_commit(request.app, caller.db, done)
    return _done(caller, campaign, done.audit_action, **(done.detail or {}))
