"""Instant alerts: a press release, an event, a statement or a report mails itself once
public, to every list that receives that kind's alerts (``newsletter.content.routing``).

Two roads lead here and both are safe to take twice: the staff member's publish (which asks
for the alert at once, for speed) and the beat tick (which finds posts whose embargo or
scheduled publication just passed). The campaign key ``alert:<kind>:<post id>`` makes the
second road a no-op. Posts that became public long ago (``ALERT_MAX_AGE_HOURS``: a backdated
post, a feed's old items on first import) never trigger an alert. A post whose alert found no
list is listed for staff (`unrouted_posts`) on its page and on the dashboard.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from newsletter.campaigns import approval
from newsletter.campaigns.models import Campaign, CampaignKind
from newsletter.config import Settings
from newsletter.content.mailings import VariantText, campaign_exists, create_once
from newsletter.content.models import Post
from newsletter.content.routing import ALERTING_KINDS, Route, alert_route, lists_for
from newsletter.content.service import (
    is_public,
    public_filter,
    publish_post,
    translation_for,
    visible_from,
)
from newsletter.content.views import kind_label
from newsletter.i18n import gettext
from newsletter.staff.audit import Actor

log = logging.getLogger(__name__)
TEMPLATE = "alert"


def alert_key(post: Post) -> str:
    """One alert per post and kind, whoever asks and however often."""
    return f"alert:{post.kind}:{post.id}"


def _wants_alert(settings: Settings, post: Post, now: dt.datetime) -> bool:
    if not post.alert_enabled or alert_route(post.kind) is None:
        return False
    start = visible_from(post)
    max_age = dt.timedelta(hours=settings.alert_max_age_hours)
    return is_public(post, now) and start is not None and start >= now - max_age


def create_alert(
    settings: Settings,
    session: Session,
    post: Post,
    now: dt.datetime,
    actor: Actor | None = None,
) -> Campaign | None:
    """The alert campaign for ``post`` if it is due and not made yet (else None).

    One variant per configured language; a missing translation falls back to the default
    language (the template then shows a note), so every reader gets the alert. Under the
    two-person rule it is made held for a second editor (``actor``, the one publishing, or
    the post's author, may not approve it).
    """
    if not _wants_alert(settings, post, now):
        return None
    route = alert_route(post.kind)
    assert route is not None  # _wants_alert
    mailing_lists = lists_for(settings, session, route)
    if not mailing_lists:
        log.warning("post %s: no list receives %s; no alert sent", post.id, route)
        return None
    variants = {}
    for language in settings.languages:
        text = translation_for(post, language, settings.default_language)
        subject = gettext(
            "%(kind)s: %(title)s", language, kind=kind_label(post.kind, language), title=text.title
        )
        variants[language] = VariantText(subject=subject, preheader=text.summary)
    default = translation_for(post, settings.default_language, settings.default_language)
    campaign = create_once(
        session,
        key=alert_key(post),
        kind=CampaignKind.ALERT,
        template_name=TEMPLATE,
        name=f"Alert: {default.title}",
        mailing_lists=mailing_lists,
        posts=[post],
        variants=variants,
        now=now,
    )
    if campaign is not None and settings.two_person_rule:
        campaign.created_by_id = post.created_by_id
        who = actor or Actor("system")
        approval.hold(
            session, campaign, who, now, requested_by_id=who.staff_user_id or post.created_by_id
        )
    return campaign


def release_due_alerts(settings: Settings, session: Session, now: dt.datetime) -> list[int]:
    """Beat tick: alerts for posts that went public recently (embargo passed, scheduled time
    reached) and have none yet; returns the campaign ids to start after commit."""
    since = now - dt.timedelta(hours=settings.alert_max_age_hours)
    kinds = list(ALERTING_KINDS)
    candidates = session.scalars(
        select(Post)
        .where(
            public_filter(now),
            Post.alert_enabled.is_(True),
            Post.kind.in_(kinds),
            or_(Post.published_at >= since, Post.embargo_until >= since),
        )
        .options(selectinload(Post.translations))
        .order_by(Post.id)
    ).all()
    if not candidates:
        return []
    keys = {alert_key(post): post for post in candidates}
    done = set(
        session.scalars(select(Campaign.idempotency_key).where(Campaign.idempotency_key.in_(keys)))
    )
    started = []
    for key, post in keys.items():
        if key in done:
            continue
        campaign = create_alert(settings, session, post, now)
        if campaign is not None:
            started.append(campaign.id)
    return started


def publish_with_alert(
    settings: Settings,
    session: Session,
    post: Post,
    now: dt.datetime,
    *,
    at: dt.datetime | None = None,
    embargo_until: dt.datetime | None = None,
) -> list[int]:
    """Publish ``post`` and, when it is public now, create its alert at once.

    Returns the campaign ids to start after commit. An embargoed or future post gets its
    alert from the beat tick when its time comes.
    """
    publish_post(post, at=at, embargo_until=embargo_until, now=now)
    session.flush()
    campaign = create_alert(settings, session, post, now)
    return [campaign.id] if campaign is not None else []


@dataclass(frozen=True)
class Unrouted:
    """A public post whose alert went nowhere: no list receives its kind's alerts."""

    post: Post
    route: Route


def unrouted_posts(
    settings: Settings, session: Session, now: dt.datetime, *, post_id: int | None = None
) -> list[Unrouted]:
    """Recent public posts that want an alert, have none, and whose route has no list.

    Only posts still young enough to be alerted (``ALERT_MAX_AGE_HOURS``): once a list
    receives the route, the next tick sends their alert.
    """
    since = now - dt.timedelta(hours=settings.alert_max_age_hours)
    query = select(Post).where(
        public_filter(now),
        Post.alert_enabled.is_(True),
        Post.kind.in_(list(ALERTING_KINDS)),
        or_(Post.published_at >= since, Post.embargo_until >= since),
    )
    if post_id is not None:
        query = query.where(Post.id == post_id)
    found = []
    empty: dict[Route, bool] = {}
    for post in session.scalars(query.order_by(Post.id.desc()).limit(50)):
        route = alert_route(post.kind)
        if route is None or not _wants_alert(settings, post, now):
            continue
        if route not in empty:
            empty[route] = not lists_for(settings, session, route)
        if empty[route] and not campaign_exists(session, alert_key(post)):
            found.append(Unrouted(post, route))
    return found
