"""What staff do with campaigns that the sending engine does not: compose a draft, edit it,
duplicate it, preview it as a given subscriber, send a test, read its progress.

Starting, scheduling, pausing, resuming and cancelling are the engine's
(``newsletter.campaigns.service``); previews are its ``compose.preview``. This module builds
the Campaign rows the engine reads (variants per language, lists, posts, template name).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.campaigns import approval, service
from newsletter.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignPost,
    CampaignStatus,
    CampaignVariant,
)
from newsletter.config import Settings
from newsletter.content.models import Post
from newsletter.db import utcnow
from newsletter.delivery.outcomes import SendResult
from newsletter.delivery.system_mail import send_system_mail
from newsletter.rendering.compose import Preview, preview
from newsletter.rendering.headers import one_line
from newsletter.rendering.mime import Recipient
from newsletter.staff import audit
from newsletter.subscribers.addresses import normalise_address
from newsletter.subscribers.models import MailingList, Subscriber

EDITABLE = frozenset({CampaignStatus.DRAFT, CampaignStatus.SCHEDULED})


class CampaignRefused(ValueError):
    """The campaign cannot be saved or acted on; the text says why, for staff."""


@dataclass(frozen=True)
class VariantInput:
    language: str
    subject: str
    preheader: str = ""
    body_markdown: str = ""


@dataclass(frozen=True)
class CampaignInput:
    name: str
    template_name: str
    list_ids: list[int]
    post_ids: list[int]
    variants: list[VariantInput]
    kind: CampaignKind = CampaignKind.NEWSLETTER
    #: Keep it out of the public archive even when every list it goes to is public.
    archive_hidden: bool = False


def available_templates(settings: Settings) -> list[str]:
    """Campaign template kinds shipped in ``templates/email`` (a folder with a body.html)."""
    root = settings.templates_dir / "email"
    system = {"_base", "test", "confirm", "welcome", "already", "staff_password_reset"}
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and p.name not in system and (p / "body.html").exists()
    )


def save_campaign(
    db: Session,
    settings: Settings,
    actor: audit.Actor,
    data: CampaignInput,
    campaign: Campaign | None = None,
) -> Campaign:
    """Create a draft (``campaign`` None) or rewrite a draft/scheduled campaign's content."""
    name = " ".join(data.name.split())[:200]
    if not name:
        raise CampaignRefused("Give the campaign a name.")
    if data.template_name not in available_templates(settings):
        raise CampaignRefused("Choose one of the templates.")
    variants = [v for v in data.variants if v.subject.strip()]
    if not variants:
        raise CampaignRefused("Write a subject in at least one language.")
    if any(v.language not in settings.languages for v in variants):
        raise CampaignRefused("Choose one of the offered languages.")
    if any("\r" in v.subject or "\n" in v.subject for v in variants):
        raise CampaignRefused("A subject is one line.")
    lists = list(db.scalars(select(MailingList).where(MailingList.id.in_(data.list_ids))))
    if not lists:
        raise CampaignRefused("Choose at least one list.")
    posts = {p.id: p for p in db.scalars(select(Post).where(Post.id.in_(data.post_ids)))}
    created = campaign is None
    if campaign is None:
        campaign = Campaign(kind=data.kind, name=name, created_by_id=actor.staff_user_id)
        db.add(campaign)
    elif campaign.status not in EDITABLE:
        raise CampaignRefused("Only a draft or scheduled campaign can be changed.")
    campaign.name, campaign.template_name, campaign.lists = name, data.template_name, lists
    campaign.archive_hidden = data.archive_hidden
    campaign.posts = []
    db.flush()  # old (campaign, post) rows go before the new ones with the same keys
    campaign.posts = [
        CampaignPost(post_id=pid, position=i) for i, pid in enumerate(data.post_ids) if pid in posts
    ]
    wanted = {v.language: v for v in variants}
    for variant in list(campaign.variants):
        if variant.language not in wanted:
            campaign.variants.remove(variant)
    have = {v.language: v for v in campaign.variants}
    for language, v in wanted.items():
        found = have.get(language)
        if found is None:
            found = CampaignVariant(language=language, subject="")
            campaign.variants.append(found)
        variant = found
        variant.subject = one_line(v.subject)[:300]
        variant.preheader = one_line(v.preheader)[:300]
        variant.body_markdown = v.body_markdown[:100_000]
    db.flush()
    audit.record(
        db,
        actor,
        "campaign.create" if created else "campaign.update",
        object_type="campaign",
        object_id=campaign.id,
        detail={"lists": sorted(m.id for m in lists), "posts": data.post_ids[:50]},
    )
    return campaign


def duplicate(db: Session, actor: audit.Actor, source: Campaign) -> Campaign:
    """A new draft with the same content, lists, posts and template (a past campaign reused)."""
    copy = Campaign(
        kind=source.kind if source.kind != CampaignKind.TEST else CampaignKind.NEWSLETTER,
        name=f"{source.name} (copy)"[:200],
        template_name=source.template_name,
        archive_hidden=source.archive_hidden,
        created_by_id=actor.staff_user_id,
        lists=list(source.lists),
        posts=[CampaignPost(post_id=p.post_id, position=p.position) for p in source.posts],
        variants=[
            CampaignVariant(
                language=v.language,
                subject=v.subject,
                preheader=v.preheader,
                body_markdown=v.body_markdown,
            )
            for v in source.variants
        ],
    )
    db.add(copy)
    db.flush()
    audit.record(
        db,
        actor,
        "campaign.duplicate",
        object_type="campaign",
        object_id=copy.id,
        detail={"source": source.id},
    )
    return copy


def preview_as(
    settings: Settings, campaign: Campaign, language: str, subscriber: Subscriber | None
) -> Preview:
    """The message exactly as ``subscriber`` would get it (or a sample reader), via the engine."""
    recipient = None
    if subscriber is not None:
        recipient = Recipient(
            delivery_id=0,
            address=subscriber.email,
            name=subscriber.name,
            public_id=subscriber.public_id,
            timezone=subscriber.timezone,
        )
    return preview(settings, campaign, language, recipient)


def send_test(settings: Settings, campaign: Campaign, language: str, address: str) -> SendResult:
    """One message to ``address`` through the configured transport, as a sample reader sees it."""
    target = normalise_address(address)
    recipient = Recipient(delivery_id=0, address=target, name="", public_id="test-send")
    message = preview(settings, campaign, language, recipient)
    # the preview went through the campaign engine: already DKIM-signed when a key is set
    return send_system_mail(
        settings, "campaign_test", target, message.raw, mail_from=message.envelope_from, signed=True
    )


def local_to_utc(settings: Settings, local: str) -> dt.datetime:
    """``2026-12-01T09:30`` in the organisation's time zone, as an aware UTC time."""
    try:
        naive = dt.datetime.fromisoformat(local)
    except ValueError:
        raise CampaignRefused("Give a date and time.") from None
    if naive.tzinfo is not None:
        raise CampaignRefused("Give a local date and time.")
    return naive.replace(tzinfo=ZoneInfo(settings.org_timezone)).astimezone(dt.UTC)


def schedule_at(db: Session, campaign_id: int, moment: dt.datetime) -> None:
    """Let the beat start the campaign at ``moment`` (aware); a past time is refused, since
    the tick would start it at once, which is what "send now" is for."""
    if moment.tzinfo is None:
        raise CampaignRefused("Give a local date and time.")
    if moment <= utcnow():
        raise CampaignRefused("That time has passed.")
    service.schedule_campaign(db, campaign_id, moment)


def send_rate_per_minute(campaign: Campaign, now: dt.datetime | None = None) -> float:
    if campaign.started_at is None or not campaign.sent_count:
        return 0.0
    end = campaign.finished_at or now or utcnow()
    minutes = max((end - campaign.started_at).total_seconds() / 60, 1 / 60)
    return campaign.sent_count / minutes


@dataclass(frozen=True)
class Controlled:
    """What `control` did: the audit action, and the work to enqueue once it is committed."""

    campaign_id: int
    audit_action: str
    start: bool = False  # enqueue the start task (it snapshots the recipients in a worker)
    batches: service.Batches | None = None  # send batches of a resumed campaign
    detail: dict[str, object] | None = None


def control(
    db: Session,
    settings: Settings,
    campaign: Campaign,
    action: str,
    actor: audit.Actor | None = None,
) -> Controlled:
    """Send now, pause, resume or cancel: the console's buttons and the API's actions alike.

    Raises `CampaignRefused` (an English message id, translated by the caller) when the
    campaign's status does not allow it. Send and resume happen here, in the caller's
    transaction, so the answer already says "sending" with its recipient count (the live page
    shows it at once) and a second click finds it started; a queued task could wait behind
    other work. Under the two-person rule a send that needs a second editor is held instead.
    """
    if action == "send":
        db.refresh(campaign, with_for_update=True)  # two clicks at once: one sends
        if approval.is_awaiting(campaign):
            raise CampaignRefused("This campaign waits for a second editor's approval.")
        if campaign.status not in service.STARTABLE:
            raise CampaignRefused("This campaign has already started.")
        who = actor or audit.Actor("system")
        if approval.needs_second_editor(settings, db, campaign):
            approval.hold(db, campaign, who, utcnow())
            return Controlled(campaign.id, "send_held")
        campaign.started_by_id = who.staff_user_id
        batches = service.start_campaign(db, campaign.id, settings=settings)
        return Controlled(campaign.id, "start", batches=batches)
    if action == "pause":
        if not service.pause_campaign(db, campaign.id):
            raise CampaignRefused("Only a sending campaign can be paused.")
        return Controlled(campaign.id, "pause")
    if action == "resume":
        try:
            batches = service.resume_campaign(db, campaign.id, settings=settings)
        except service.CampaignStateError:
            raise CampaignRefused("Only a paused campaign can be resumed.") from None
        return Controlled(campaign.id, "resume", batches=batches)
    if action == "cancel":
        try:
            skipped = service.cancel_campaign(db, campaign.id)
        except service.CampaignStateError as exc:
            raise CampaignRefused(str(exc)) from None
        return Controlled(campaign.id, "cancel", detail={"skipped": skipped})
    raise ValueError(f"unknown campaign action {action!r}")
