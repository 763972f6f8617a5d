"""``/api/v1/lists``: lists with their names and descriptions per language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path
from sqlalchemy import select

from newsletter.staff import summaries
from newsletter.staff.lists_admin import ListRefused, save_list
from newsletter.subscribers.models import MailingList
from newsletter.web.api.deps import ApiCaller, scope
from newsletter.web.api.schemas import AUTH, ListIn, ListOut, ListText, problem

router = APIRouter(prefix="/api/v1/lists", tags=["lists"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = problem(404, "No such list")
Read = Annotated[ApiCaller, Depends(scope("lists:read"))]
Write = Annotated[ApiCaller, Depends(scope("lists:write"))]


def _out(caller: ApiCaller, mailing_list: MailingList) -> ListOut:
    summary = summaries.current(caller.db, caller.settings)
    return ListOut(
        id=mailing_list.id,
        slug=mailing_list.slug,
        is_public=mailing_list.is_public,
        texts={
            t.language: ListText(name=t.name, description=t.description)
            for t in mailing_list.translations
        },
        active_subscribers=summary.list_totals.get(mailing_list.id, 0),
        counted_at=summary.computed_at,
    )


def _get(caller: ApiCaller, list_id: int) -> MailingList:
    mailing_list = caller.db.get(MailingList, list_id)
    if mailing_list is None:
        raise HTTPException(404, detail="No such list.")
    return mailing_list


@router.get("", response_model=list[ListOut], responses=AUTH)
def list_lists(caller: Read) -> list[ListOut]:
    lists = caller.db.scalars(select(MailingList).order_by(MailingList.slug)).all()
    return [_out(caller, m) for m in lists]


@router.get("/{list_id}", response_model=ListOut, responses=AUTH | NOT_FOUND)
def get_list(caller: Read, list_id: Id) -> ListOut:
    return _out(caller, _get(caller, list_id))


def _save(caller: ApiCaller, mailing_list: MailingList | None, body: ListIn) -> ListOut:
    unknown = set(body.texts) - set(caller.settings.languages)
    if unknown:
        raise HTTPException(400, detail="Texts are only kept for the offered languages.")
    try:
        saved = save_list(
            caller.db,
            caller.actor,
            mailing_list=mailing_list,
            slug=body.slug,
            is_public=body.is_public,
            texts={lang: (t.name, t.description) for lang, t in body.texts.items()},
            settings=caller.settings,
        )
    except ListRefused as exc:
        caller.db.rollback()
        raise HTTPException(409 if "already" in str(exc) else 400, detail=str(exc)) from None
    caller.db.commit()
    return _out(caller, saved)


@router.post(
    "",
    response_model=ListOut,
    status_code=201,
    responses=AUTH | problem(400) | problem(409),
)
def create_list(caller: Write, body: ListIn) -> ListOut:
    return _save(caller, None, body)


@router.put(
    "/{list_id}",
    response_model=ListOut,
    responses=AUTH | NOT_FOUND | problem(400) | problem(409),
)
def replace_list(caller: Write, list_id: Id, body: ListIn) -> ListOut:
    return _save(caller, _get(caller, list_id), body)
