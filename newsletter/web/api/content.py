"""``/api/v1/posts`` and ``/api/v1/campaigns``: read access (progress counters included)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from sqlalchemy import select

from newsletter.campaigns import service
from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.content.models import Post
from newsletter.db import after_commit
from newsletter.staff import audit
from newsletter.web.admin.tasks import enqueue
from newsletter.web.api.deps import ApiCaller, scope
from newsletter.web.api.schemas import CampaignOut, PostOut, PostTextOut, Problem

router = APIRouter(prefix="/api/v1")
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
AUTH = {401: {"model": Problem}, 403: {"model": Problem}}
NOT_FOUND = {404: {"model": Problem}}
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PostsRead = Annotated[ApiCaller, Depends(scope("posts:read"))]
CampaignsRead = Annotated[ApiCaller, Depends(scope("campaigns:read"))]


def post_out(post: Post) -> PostOut:
    return PostOut(
        id=post.id,
        kind=post.kind.value,
        published_at=post.published_at,
        embargo_until=post.embargo_until,
        event_start=post.event_start,
        event_timezone=post.event_timezone,
        texts={
            t.language: PostTextOut(title=t.title, summary=t.summary, body_markdown=t.body_markdown)
            for t in post.translations
        },
    )


@router.get("/posts", response_model=list[PostOut], responses=AUTH, tags=["posts"])
def list_posts(caller: PostsRead, limit: Limit = 50, offset: Offset = 0) -> list[PostOut]:
    posts = caller.db.scalars(select(Post).order_by(Post.id.desc()).limit(limit).offset(offset))
    return [post_out(p) for p in posts]


@router.get("/posts/{post_id}", response_model=PostOut, responses=AUTH | NOT_FOUND, tags=["posts"])
def get_post(caller: PostsRead, post_id: Id) -> PostOut:
    post = caller.db.get(Post, post_id)
    if post is None:
        raise HTTPException(404, detail="No such post.")
    return post_out(post)


@router.get("/campaigns", response_model=list[CampaignOut], responses=AUTH, tags=["campaigns"])
def list_campaigns(
    caller: CampaignsRead,
    status: CampaignStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[CampaignOut]:
    statement = select(Campaign).order_by(Campaign.id.desc()).limit(limit).offset(offset)
    if status is not None:
        statement = statement.where(Campaign.status == status)
    return [CampaignOut.model_validate(c) for c in caller.db.scalars(statement)]


@router.get(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    responses=AUTH | NOT_FOUND,
    tags=["campaigns"],
)
def get_campaign(caller: CampaignsRead, campaign_id: Id) -> CampaignOut:
    campaign = caller.db.get(Campaign, campaign_id)
    if campaign is None:
        raise HTTPException(404, detail="No such campaign.")
    return CampaignOut.model_validate(campaign)


CampaignsWrite = Annotated[ApiCaller, Depends(scope("campaigns:write"))]
CONFLICT = {409: {"model": Problem, "description": "Not allowed in the campaign's status"}}


def _control(caller: ApiCaller, request: Request, campaign_id: int, action: str) -> CampaignOut:
    """Pause, resume or cancel through the sending engine, audited; 409 when not allowed."""
    campaign = caller.db.get(Campaign, campaign_id)
    if campaign is None:
        raise HTTPException(404, detail="No such campaign.")
    try:
        if action == "pause" and not service.pause_campaign(caller.db, campaign_id):
            raise service.CampaignStateError("only a sending campaign can be paused")
        if action == "resume" and campaign.status != CampaignStatus.PAUSED:
            raise service.CampaignStateError("only a paused campaign can be resumed")
        if action == "cancel":
            service.cancel_campaign(caller.db, campaign_id)
    except service.CampaignStateError as exc:
        caller.db.rollback()
        raise HTTPException(409, detail=str(exc)) from None
    if action == "resume":
        app = request.app
        after_commit(caller.db, lambda: enqueue(app, "newsletter.resume_campaign", campaign_id))
    audit.record(
        caller.db, caller.actor, f"campaign.{action}", object_type="campaign", object_id=campaign_id
    )
    caller.db.commit()
    caller.db.refresh(campaign)
    return CampaignOut.model_validate(campaign)


@router.post(
    "/campaigns/{campaign_id}/{action}",
    response_model=CampaignOut,
    responses=AUTH | NOT_FOUND | CONFLICT,
    tags=["campaigns"],
)
def control_campaign(
    caller: CampaignsWrite,
    request: Request,
    campaign_id: Id,
    action: Literal["pause", "resume", "cancel"],
) -> CampaignOut:
    return _control(caller, request, campaign_id, action)
