"""What staff do with posts, from the console or the API: create or edit with every language
version, publish now or at a time, embargo; audited.

One function for both doors, so a post made through the API obeys exactly the console's
rules (the content service's: sanitised Markdown, one version per offered language, aware
times). A post made public now gets its alert campaign in the same transaction
(``newsletter.content.alerts.create_alert``); the caller starts it after commit
(`alerts_to_start`, invariant `commit-then-enqueue`), so the console and the API alert within
seconds, as the CLI does. An embargoed or future post is alerted by the beat's tick when its
time comes (``release_due_alerts``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.campaigns.models import Campaign, CampaignKind, CampaignStatus
from newsletter.config import Settings
from newsletter.content import alerts
from newsletter.content import service as content
from newsletter.content.models import Post, PostKind
from newsletter.db import utcnow
from newsletter.i18n import gettext
from newsletter.staff import audit


class Publish(StrEnum):
    DRAFT = "draft"
    NOW = "now"
    AT = "at"


@dataclass(frozen=True)
class PostInput:
    kind: PostKind
    texts: list[content.TranslationInput]
    event: content.EventInput | None = None
    embargo_until: dt.datetime | None = None
    publish: Publish = Publish.DRAFT
    publish_at: dt.datetime | None = None
    contacts: str | None = None
    alert_enabled: bool | None = None
    downloads: list[content.DownloadInput] | None = field(default=None)


def save_post(
    db: Session,
    settings: Settings,
    actor: audit.Actor,
    data: PostInput,
    post: Post | None = None,
    *,
    created_by_id: int | None = None,
) -> Post:
    """Create a post (``post`` None) or rewrite one; raises `content.PostError` (translated).

    ``created_by_id``: the staff member behind the action (an API token's owner).
    """
    if data.publish is Publish.AT and data.publish_at is None:
        raise content.PostError(gettext("Give a date and time."))
    created = post is None
    if post is None:
        post = content.create_post(
            db,
            kind=data.kind,
            translations=data.texts,
            languages=settings.languages,
            contacts=data.contacts or "",
            downloads=data.downloads or (),
            event=data.event,
            embargo_until=data.embargo_until,
            alert_enabled=True if data.alert_enabled is None else data.alert_enabled,
            created_by_id=created_by_id,
        )
    else:
        if not data.texts:
            raise content.PostError(gettext("A post needs at least one language version."))
        post.kind = data.kind
        for text in data.texts:
            content.set_translation(post, text)
        content.update_post(
            post,
            contacts=data.contacts,
            downloads=data.downloads,
            event=data.event,
            embargo_until=data.embargo_until,
            clear_embargo=data.embargo_until is None,
            alert_enabled=data.alert_enabled,
        )
    if data.publish is Publish.NOW:
        content.publish_post(post)
    elif data.publish is Publish.AT:
        content.publish_post(post, at=data.publish_at)
    db.flush()
    if data.publish is not Publish.DRAFT:
        alerts.create_alert(settings, db, post, utcnow(), actor)
    audit.record(
        db,
        actor,
        "post.create" if created else "post.update",
        object_type="post",
        object_id=post.id,
        detail={"languages": [t.language for t in data.texts], "publish": str(data.publish)},
    )
    return post


def alerts_to_start(db: Session, post: Post) -> list[int]:
    """The post's alert campaigns that wait for their start (scheduled, not yet sending).

    Asked after a save that published: the caller enqueues the engine's start once committed.
    A start asked twice is harmless (the engine starts a campaign once).
    """
    key = alerts.alert_key(post)
    return list(
        db.scalars(
            select(Campaign.id).where(
                Campaign.kind == CampaignKind.ALERT,
                Campaign.idempotency_key == key,
                Campaign.status == CampaignStatus.SCHEDULED,
            )
        )
    )


@dataclass(frozen=True)
class Published:
    """What `publish` did: the alert campaigns to start after commit, and whether the post
    was already published (a second click: nothing changed)."""

    start: list[int]
    already: bool = False


def publish(
    db: Session,
    settings: Settings,
    actor: audit.Actor,
    post: Post,
    *,
    at: dt.datetime | None,
    alert: bool,
) -> Published:
    """Publish a draft now (``at`` None or past) or at ``at``, with or without its alert.

    The console's confirmation step ends here, so a double click publishes once: a post that
    is already published is left exactly as it is. Without alert, the post's alert is switched
    off for good (the beat's tick will not send it later either). Raises `content.PostError`.
    """
    if post.published_at is not None:
        return Published([], already=True)
    if not alert:
        post.alert_enabled = False
    content.publish_post(post, at=at)
    db.flush()
    alerts.create_alert(settings, db, post, utcnow(), actor)
    audit.record(
        db,
        actor,
        "post.publish",
        object_type="post",
        object_id=post.id,
        detail={"alert": alert, "at": at.isoformat() if at else None},
    )
    return Published(alerts_to_start(db, post))
