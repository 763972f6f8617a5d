"""What the public archive may show: public posts and started campaigns, by month.

Why a module of its own: the archive is the one place anyone on the internet can read
without signing in, so it must only ever go through :func:`public_filter` (no draft, no
post before its embargo) and only ever list campaigns that already went out to public lists
only (a newsletter for a private list is not for the internet, whatever it says), and it must
never touch subscriber tables (lists are read, never their members). Everything returned here is
safe to publish. A campaign's own page stays reachable by its unguessable public id: that is the
"view in your browser" link its readers received.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from newsletter.campaigns.models import Campaign, CampaignKind, CampaignPost, CampaignStatus
from newsletter.config import Settings
from newsletter.content.digest import Period
from newsletter.content.models import Post
from newsletter.content.service import (
    get_post,
    is_public,
    public_filter,
    public_posts_between,
    visible_from,
)
from newsletter.subscribers.models import MailingList

PUBLISHED_CAMPAIGN_STATUSES = (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT)
LISTED_CAMPAIGN_KINDS = (CampaignKind.DIGEST, CampaignKind.NEWSLETTER)
# Listed only when every list the campaign went to is public (and it went to at least one).
SENT_TO_PUBLIC_LISTS_ONLY = Campaign.lists.any() & ~Campaign.lists.any(
    MailingList.is_public.is_(False)
)
# ... and staff did not keep it out ("keep out of the public archive" on the campaign form).
LISTED_IN_ARCHIVE = SENT_TO_PUBLIC_LISTS_ONLY & Campaign.archive_hidden.is_(False)


@dataclass(frozen=True)
class MonthSummary:
    period: Period
    posts: int
    campaigns: int


def _zone(settings: Settings) -> ZoneInfo:
    return ZoneInfo(settings.org_timezone)


def _period_of(moment: dt.datetime, zone: ZoneInfo) -> Period:
    local = moment.astimezone(zone)
    return Period(local.year, local.month)


def months(settings: Settings, session: Session, now: dt.datetime) -> list[MonthSummary]:
    """Every month with something public, newest first, with how much it holds."""
    zone = _zone(settings)
    rows = session.execute(
        select(Post.published_at, Post.embargo_until).where(public_filter(now))
    ).all()
    posts = Counter(_period_of(max(p, e) if e else p, zone) for p, e in rows if p is not None)
    started = session.scalars(
        select(Campaign.started_at).where(
            Campaign.status.in_(PUBLISHED_CAMPAIGN_STATUSES),
            Campaign.kind.in_(LISTED_CAMPAIGN_KINDS),
            Campaign.started_at.is_not(None),
            LISTED_IN_ARCHIVE,
        )
    ).all()
    campaigns = Counter(_period_of(moment, zone) for moment in started if moment is not None)
    periods = sorted(set(posts) | set(campaigns), key=lambda p: p.key, reverse=True)
    return [MonthSummary(p, posts[p], campaigns[p]) for p in periods]


def month_posts(
    settings: Settings, session: Session, period: Period, now: dt.datetime
) -> list[Post]:
    start, end = period.bounds(_zone(settings))
    return public_posts_between(session, start, end, now)


def month_campaigns(settings: Settings, session: Session, period: Period) -> list[Campaign]:
    start, end = period.bounds(_zone(settings))
    return list(
        session.scalars(
            select(Campaign)
            .where(
                Campaign.status.in_(PUBLISHED_CAMPAIGN_STATUSES),
                Campaign.kind.in_(LISTED_CAMPAIGN_KINDS),
                LISTED_IN_ARCHIVE,
                Campaign.started_at >= start,
                Campaign.started_at < end,
            )
            .options(selectinload(Campaign.variants))
            .order_by(Campaign.started_at.desc())
        )
    )


def recent_posts(session: Session, now: dt.datetime, limit: int = 30) -> list[Post]:
    """The newest public posts (the archive's Atom feed)."""
    posts = session.scalars(
        select(Post)
        .where(public_filter(now))
        .options(selectinload(Post.translations))
        .order_by(Post.published_at.desc())
        .limit(limit * 2)
    ).all()
    return sorted(posts, key=lambda p: (visible_from(p), p.id), reverse=True)[:limit]


def public_post(session: Session, public_id: str, now: dt.datetime) -> Post | None:
    """The post behind a permalink, or None while it is a draft or under embargo."""
    post = get_post(session, public_id)
    return post if post is not None and is_public(post, now) else None


def public_campaign(session: Session, public_id: str, now: dt.datetime) -> Campaign | None:
    """A campaign that went out ("view in your browser"); drafts and held digests are None."""
    campaign = session.scalar(
        select(Campaign)
        .where(Campaign.public_id == public_id, Campaign.status.in_(PUBLISHED_CAMPAIGN_STATUSES))
        .options(
            selectinload(Campaign.variants),
            selectinload(Campaign.posts).selectinload(CampaignPost.post),
        )
    )
    return campaign


def campaign_public_posts(campaign: Campaign, now: dt.datetime) -> list[Post]:
    """The campaign's posts that are public (a post unpublished since stays hidden)."""
    return [link.post for link in campaign.posts if is_public(link.post, now)]


def campaign_url(settings: Settings, public_id: str) -> str:
    """The "view in your browser" address of a campaign."""
    return f"{settings.base_url}/archive/campaigns/{public_id}"
