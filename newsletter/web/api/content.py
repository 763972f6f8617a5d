"""``/api/v1/posts``: read, and create with every language version (draft, published, at a
time, under embargo) through the console's own rules (`newsletter.staff.post_admin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from sqlalchemy import select

from newsletter.content import service as content
from newsletter.content.models import Post, PostKind
from newsletter.i18n import using_language
from newsletter.staff import post_admin
from newsletter.web.admin.tasks import enqueue_after_commit
from newsletter.web.api.deps import ApiCaller, scope
from newsletter.web.api.schemas import AUTH, PostCreate, PostOut, PostTextOut, problem

router = APIRouter(prefix="/api/v1")
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = problem(404)
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PostsRead = Annotated[ApiCaller, Depends(scope("posts:read"))]
PostsWrite = Annotated[ApiCaller, Depends(scope("posts:write"))]
REFUSED = problem(400, "Refused by the content rules (translated)")


def post_out(post: Post) -> PostOut:
    return PostOut(
        id=post.id,
        kind=post.kind.value,
        published_at=post.published_at,
        embargo_until=post.embargo_until,
        event_start=post.event_start,
        event_timezone=post.event_timezone,
        texts={
            t.language: PostTextOut(
                title=t.title,
                summary=t.summary,
                body_markdown=t.body_markdown,
                location=t.event_location,
            )
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


def _post_input(body: PostCreate) -> post_admin.PostInput:
    return post_admin.PostInput(
        kind=PostKind(body.kind),
        texts=[
            content.TranslationInput(language, t.title, t.summary, t.body_markdown, t.location)
            for language, t in body.texts.items()
        ],
        event=content.EventInput(**body.event.model_dump()) if body.event else None,
        embargo_until=body.embargo_until,
        publish=post_admin.Publish(body.publish),
        publish_at=body.publish_at,
        contacts=body.contacts,
        alert_enabled=body.alert,
    )


def _save(caller: ApiCaller, request: Request, body: PostCreate, post: Post | None) -> Post:
    """The console's own save (rules, audit), its refusals as translated 400s; an alert the
    publication made is started once committed (within seconds, not at the next tick)."""
    try:
        with using_language(caller.language):
            saved = post_admin.save_post(
                caller.db,
                caller.settings,
                caller.actor,
                _post_input(body),
                post,
                created_by_id=caller.token.staff_user_id,
            )
    except content.PostError as exc:
        caller.db.rollback()
        raise HTTPException(400, detail=str(exc)) from None
    for campaign_id in post_admin.alerts_to_start(caller.db, saved):
        enqueue_after_commit(request.app, caller.db, "newsletter.start_campaign", campaign_id)
    caller.db.commit()
    return saved


@router.post(
    "/posts", response_model=PostOut, status_code=201, responses=AUTH | REFUSED, tags=["posts"]
)
def create_post(
    caller: PostsWrite, request: Request, body: PostCreate, response: Response
) -> PostOut:
    """A post with its language versions; published now, at ``publish_at``, or a draft."""
    post = _save(caller, request, body, None)
    response.headers["Location"] = f"/api/v1/posts/{post.id}"
    return post_out(post)


@router.put(
    "/posts/{post_id}",
    response_model=PostOut,
    responses=AUTH | NOT_FOUND | REFUSED,
    tags=["posts"],
)
def replace_post(caller: PostsWrite, request: Request, post_id: Id, body: PostCreate) -> PostOut:
    """Rewrite a post as the console's editor does: its fields as given, each named language
    version rewritten (versions not named are kept); ``publish`` works as on creation."""
    post = caller.db.get(Post, post_id)
    if post is None:
        raise HTTPException(404, detail="No such post.")
    return post_out(_save(caller, request, body, post))
