"""Campaigns that content creates by itself (alerts, digests), each at most once per key.

Why a unique key and a savepoint: the beat tick, a retried task and a staff click may all
decide at the same moment that "this press release needs its alert". The campaign's
``idempotency_key`` is unique in the database, so exactly one INSERT wins and the others get
``None`` back; nobody sends twice, whatever the timing.

A campaign ready to go is left *scheduled for now*: the caller enqueues the sending engine's
``newsletter.start_campaign`` after commit for speed, and if that message is lost the engine's
once-a-minute tick starts it anyway (invariant `far-future-in-the-database`). A held campaign stays
a draft for staff.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignPost,
    CampaignStatus,
    CampaignVariant,
)
from newsletter.content.models import Post
from newsletter.subscribers.models import MailingList

log = logging.getLogger(__name__)
HELD_REASON = "held for approval"


@dataclass(frozen=True)
class VariantText:
    subject: str
    preheader: str = ""
    body_markdown: str = ""


def campaign_exists(session: Session, key: str) -> bool:
    return session.scalar(select(Campaign.id).where(Campaign.idempotency_key == key)) is not None


def find_list(session: Session, slug: str) -> MailingList | None:
    return session.scalar(select(MailingList).where(MailingList.slug == slug))


def create_once(
    session: Session,
    *,
    key: str,
    kind: CampaignKind,
    template_name: str,
    name: str,
    mailing_lists: Sequence[MailingList],
    posts: Sequence[Post],
    variants: Mapping[str, VariantText],
    now: dt.datetime,
    hold: bool = False,
    hold_reason: str = HELD_REASON,
) -> Campaign | None:
    """Create the campaign for ``key`` unless it exists; None when another run made it.

    ``hold``: left a draft with ``hold_reason`` for staff (digest review, a second editor).
    """
    if campaign_exists(session, key):
        return None
    campaign = Campaign(
        kind=kind,
        name=name[:200],
        template_name=template_name,
        idempotency_key=key,
        status=CampaignStatus.DRAFT if hold else CampaignStatus.SCHEDULED,
        status_reason=hold_reason if hold else "",
        scheduled_at=None if hold else now,
        lists=list(mailing_lists),
        posts=[CampaignPost(post=post, position=i) for i, post in enumerate(posts)],
        variants=[
            CampaignVariant(
                language=language,
                subject=text.subject[:300],
                preheader=text.preheader[:300],
                body_markdown=text.body_markdown,
            )
            for language, text in variants.items()
        ],
    )
    try:
        with session.begin_nested():
            session.add(campaign)
            session.flush()
    except IntegrityError:
        log.info("campaign for key %s already created by another run", key)
        return None
    log.info("campaign %s created for key %s (%s)", campaign.id, key, campaign.status)
    return campaign
