"""``/api/v1/subscribers``: search, read, add, change, unsubscribe, erase (all audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.staff import subscriber_admin
from newsletter.staff.subscriber_search import SubscriberFilter, search_page
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.web.api.deps import ApiCaller, scope
from newsletter.web.api.schemas import (
    AUTH,
    SubscriberCreate,
    SubscriberOut,
    SubscriberPage,
    SubscriberUpdate,
    problem,
)

router = APIRouter(prefix="/api/v1/subscribers", tags=["subscribers"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = problem(404, "No such subscriber")
Read = Annotated[ApiCaller, Depends(scope("subscribers:read"))]
Write = Annotated[ApiCaller, Depends(scope("subscribers:write"))]


def _out(caller: ApiCaller, subscriber: Subscriber) -> SubscriberOut:
    slugs = caller.db.scalars(
        select(MailingList.slug)
        .join(Subscription, Subscription.list_id == MailingList.id)
        .where(
            Subscription.subscriber_id == subscriber.id,
            Subscription.status == SubscriptionStatus.ACTIVE,
        )
        .order_by(MailingList.slug)
    ).all()
    return SubscriberOut.model_validate(
        {
            **{k: getattr(subscriber, k) for k in SubscriberOut.model_fields if k != "lists"},
            "lists": list(slugs),
        }
    )


def _get(caller: ApiCaller, subscriber_id: int) -> Subscriber:
    subscriber = caller.db.get(Subscriber, subscriber_id)
    if subscriber is None or subscriber.status == SubscriberStatus.ERASED:
        raise HTTPException(404, detail="No such subscriber.")
    return subscriber


@router.get("", response_model=SubscriberPage, responses=AUTH)
def list_subscribers(
    caller: Read,
    q: Annotated[str, Query(max_length=200, pattern=r"^[^\x00]*$")] = "",
    status: SubscriberStatus | None = None,
    list_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    language: Annotated[str | None, Query(max_length=8, pattern=r"^[a-z]{2,8}$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> SubscriberPage:
    criteria = SubscriberFilter(query=q, status=status, list_id=list_id, language=language)
    found = search_page(caller.db, criteria, limit=limit, offset=offset)
    return SubscriberPage(
        items=[_out(caller, s) for s in found.rows], total=found.total, total_capped=found.capped
    )


@router.post(
    "",
    response_model=SubscriberOut,
    status_code=201,
    responses=AUTH | problem(400) | problem(409),
)
def create_subscriber(caller: Write, body: SubscriberCreate, response: Response) -> SubscriberOut:
    settings: Settings = caller.settings
    language = body.language if body.language in settings.languages else settings.default_language
    try:
        subscriber = subscriber_admin.add_subscriber(
            caller.db,
            caller.actor,
            email=body.email,
            name=body.name,
            language=language,
            list_slugs=body.lists,
            consent_basis=body.consent_basis,
        )
    except subscriber_admin.SubscriberRefused as exc:
        caller.db.rollback()
        raise HTTPException(409 if exc.conflict else 400, detail=str(exc)) from None
    caller.db.commit()
    response.headers["Location"] = f"/api/v1/subscribers/{subscriber.id}"
    return _out(caller, subscriber)


@router.get("/{subscriber_id}", response_model=SubscriberOut, responses=AUTH | NOT_FOUND)
def get_subscriber(caller: Read, subscriber_id: Id) -> SubscriberOut:
    return _out(caller, _get(caller, subscriber_id))


@router.patch(
    "/{subscriber_id}",
    response_model=SubscriberOut,
    responses=AUTH | NOT_FOUND | problem(400),
)
def update_subscriber(caller: Write, subscriber_id: Id, body: SubscriberUpdate) -> SubscriberOut:
    settings: Settings = caller.settings
    subscriber = _get(caller, subscriber_id)
    if body.language is not None and body.language not in settings.languages:
        raise HTTPException(400, detail="This language is not offered.")
    try:
        list_ids = (
            {m.id for m in subscriber_admin.lists_by_slug(caller.db, body.lists)}
            if body.lists is not None
            else {
                s.list_id for s in subscriber.subscriptions if s.status == SubscriptionStatus.ACTIVE
            }
        )
    except subscriber_admin.SubscriberRefused as exc:
        raise HTTPException(400, detail=str(exc)) from None
    subscriber_admin.edit(
        caller.db,
        subscriber,
        caller.actor,
        name=subscriber.name if body.name is None else body.name,
        language=body.language or subscriber.language,
        timezone=subscriber.timezone if body.timezone is None else body.timezone,
        list_ids=list_ids,
    )
    caller.db.commit()
    return _out(caller, subscriber)


@router.post(
    "/{subscriber_id}/unsubscribe", response_model=SubscriberOut, responses=AUTH | NOT_FOUND
)
def unsubscribe_subscriber(caller: Write, subscriber_id: Id) -> SubscriberOut:
    subscriber = _get(caller, subscriber_id)
    subscriber_admin.unsubscribe(caller.db, subscriber, caller.actor)
    caller.db.commit()
    caller.db.refresh(subscriber)
    return _out(caller, subscriber)


@router.delete("/{subscriber_id}", status_code=204, responses=AUTH | NOT_FOUND)
def erase_subscriber(
    caller: Annotated[ApiCaller, Depends(scope("subscribers:erase"))], subscriber_id: Id
) -> Response:
    subscriber_admin.erase(caller.db, _get(caller, subscriber_id), caller.actor)
    caller.db.commit()
    return Response(status_code=204)
