"""The monthly digest: last month's public posts, grouped by kind, once per period.

Why a period key: the beat asks "is a digest due?" every minute from the configured day and
hour (in the organisation's zone) to the end of the month. The campaign key ``digest:YYYY-MM``
turns every ask after the first into a no-op (zulip's rule: digests built from ids and
dates, idempotent by key), and a month with nothing public creates no campaign at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from sqlalchemy.orm import Session

from newsletter.campaigns.local_time import EARLIEST_ZONE, wall_clock
from newsletter.campaigns.models import Campaign, CampaignKind, CampaignPost, CampaignVariant
from newsletter.config import Settings
from newsletter.content.mailings import VariantText, campaign_exists, create_once
from newsletter.content.models import Post, PostKind
from newsletter.content.routing import Route, lists_for
from newsletter.content.service import public_posts_between, visible_from
from newsletter.content.views import KIND_ORDER
from newsletter.i18n import gettext, ngettext

if TYPE_CHECKING:
    from newsletter.rendering.compose import Preview

log = logging.getLogger(__name__)
TEMPLATE = "digest"


@dataclass(frozen=True)
class Period:
    """One calendar month in the organisation's time zone."""

    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026-10`` -> Period(2026, 10); ValueError with a clear message otherwise."""
        try:
            year, month = (int(part) for part in text.split("-"))
            dt.date(year, month, 1)
        except ValueError:
            raise ValueError(f"{text!r} is not a month like 2026-10") from None
        return cls(year, month)

    def bounds(self, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """[first instant, first instant of next month) of the month in ``zone``, as UTC."""
        start = dt.datetime(self.year, self.month, 1, tzinfo=zone)
        following = dt.datetime(self.year + self.month // 12, self.month % 12 + 1, 1, tzinfo=zone)
        return start.astimezone(dt.UTC), following.astimezone(dt.UTC)

    def label(self, language: str) -> str:
        return format_skeleton("yMMMM", dt.date(self.year, self.month, 1), locale=language)

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)


def digest_key(period: Period) -> str:
    return f"digest:{period.key}"


def due_period(settings: Settings, now: dt.datetime) -> Period | None:
    """The month whose digest is due at ``now``: the previous month, from the configured day
    and hour (organisation's zone) until the month ends; None before that."""
    zone = EARLIEST_ZONE if settings.digest_local_time else ZoneInfo(settings.org_timezone)
    local = now.astimezone(zone)
    if (local.day, local.hour) < (settings.digest_day, settings.digest_hour):
        return None
    return Period(local.year, local.month).previous()


def local_send_at(settings: Settings, period: Period) -> str | None:
    """With ``DIGEST_LOCAL_TIME``: the wall-clock time each reader gets the digest at."""
    if not settings.digest_local_time:
        return None
    following = Period(period.year + period.month // 12, period.month % 12 + 1)
    return wall_clock(
        dt.datetime(following.year, following.month, settings.digest_day, settings.digest_hour)
    )


def digest_posts(
    settings: Settings, session: Session, period: Period, now: dt.datetime
) -> list[Post]:
    """The month's public posts, grouped by kind (press releases first), newest first."""
    start, end = period.bounds(ZoneInfo(settings.org_timezone))
    posts = public_posts_between(session, start, end, now)
    return sorted(
        posts,
        key=lambda p: (KIND_ORDER.index(PostKind(p.kind)), -_shown_at(p).timestamp(), -p.id),
    )


def _variants(settings: Settings, period: Period, count: int) -> dict[str, VariantText]:
    return {
        language: VariantText(
            subject=gettext(
                "%(org)s: the month in review, %(month)s",
                language,
                org=settings.org_name,
                month=period.label(language),
            ),
            preheader=ngettext(
                "%(num)d new publication", "%(num)d new publications", count, language
            ),
        )
        for language in settings.languages
    }


def create_digest(
    settings: Settings, session: Session, period: Period, now: dt.datetime
) -> Campaign | None:
    """The digest campaign of ``period``; None when it exists already or the month is empty.

    With ``DIGEST_HOLD_FOR_APPROVAL`` the campaign stays a draft for staff to review and start.
    """
    if campaign_exists(session, digest_key(period)):
        return None
    posts = digest_posts(settings, session, period, now)
    if not posts:
        log.info("digest %s: nothing published, nothing to send", period.key)
        return None
    mailing_lists = lists_for(settings, session, Route.DIGEST)
    if not mailing_lists:
        log.warning("digest %s: no list receives the digest; nothing sent", period.key)
        return None
    variants = _variants(settings, period, len(posts))
    campaign = create_once(
        session,
        key=digest_key(period),
        kind=CampaignKind.DIGEST,
        template_name=TEMPLATE,
        name=f"Monthly digest {period.key}",
        mailing_lists=mailing_lists,
        posts=posts,
        variants=variants,
        now=now,
        hold=settings.digest_hold_for_approval,
    )
    if campaign is not None:
        campaign.local_send_at = local_send_at(settings, period)
    return campaign


def run_due_digest(settings: Settings, session: Session, now: dt.datetime) -> list[int]:
    """Beat tick: create the due digest if any; ids of campaigns to start now (not held ones)."""
    period = due_period(settings, now)
    if period is None:
        return []
    campaign = create_digest(settings, session, period, now)
    if campaign is None or settings.digest_hold_for_approval:
        return []
    return [campaign.id]


def preview_digest(
    settings: Settings, session: Session, period: Period, language: str, now: dt.datetime
) -> Preview | None:
    """The digest of ``period`` as a sample reader would get it; nothing is saved or sent."""
    from newsletter.rendering.compose import preview
    from newsletter.rendering.template_source import template_source

    posts = digest_posts(settings, session, period, now)
    if not posts:
        return None
    variants = _variants(settings, period, len(posts))
    campaign = Campaign(
        kind=CampaignKind.DIGEST,
        name=f"Monthly digest {period.key} (preview)",
        template_name=TEMPLATE,
        public_id="preview",
        posts=[CampaignPost(post=post, position=i) for i, post in enumerate(posts)],
        variants=[
            CampaignVariant(
                language=lang, subject=text.subject, preheader=text.preheader, body_markdown=""
            )
            for lang, text in variants.items()
        ],
    )
    return preview(settings, campaign, language, source=template_source(session, TEMPLATE))


def _shown_at(post: Post) -> dt.datetime:
    """When a published post became public (every post in a digest is published)."""
    shown = visible_from(post)
    assert shown is not None, "a digest holds published posts only"
    return shown
