"""Briefing the press under embargo, and telling them when the embargo changes.

Why the public release needs nothing here: a post is public only once its embargo has
passed (``content.service.public_filter``), and the content beat creates its supporters'
alert once, keyed per post, when it becomes public (``content.alerts``). So briefing sets the
embargo and publishes the post hidden; at the embargo instant the archive shows it and the
tick mails supporters exactly once. Moving the embargo moves that instant; lifting it makes
it now; withdrawing unpublishes, so nothing is ever released.

Each change queues one message per journalist under its own key (``moved:2``), so a double
click or a retried request tells the press once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.content.models import Post
from newsletter.content.service import is_public, publish_post, unpublish_post
from newsletter.i18n import gettext as _
from newsletter.press.models import (
    BriefingStatus,
    Journalist,
    PressBriefing,
    PressContact,
    PressMessage,
)
from newsletter.registrations.models import MessageStatus
from newsletter.subscribers.inputs import InvalidInput, clean_address, clean_text, clean_timezone

log = logging.getLogger(__name__)


class BriefingError(ValueError):
    """A briefing action refused; ``str()`` is translated for the staff member."""


@dataclass(frozen=True)
class JournalistInput:
    email: str
    name: str = ""
    outlet: str = ""
    language: str = "en"
    timezone: str | None = None
    beat: str = ""


def press_list(session: Session) -> list[Journalist]:
    return list(session.scalars(select(Journalist).order_by(Journalist.outlet, Journalist.name)))


def active_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Journalist.id).where(Journalist.active.is_(True)).order_by(Journalist.id)
        )
    )


def save_journalist(session: Session, given: JournalistInput) -> tuple[Journalist, bool]:
    """Add the journalist, or update the one with that address; True when added."""
    found = session.scalar(select(Journalist).where(Journalist.email == given.email))
    journalist = found or Journalist(email=given.email)
    journalist.name = given.name
    journalist.outlet = given.outlet
    journalist.language = given.language
    journalist.timezone = given.timezone
    journalist.beat = given.beat
    journalist.active = True
    if found is None:
        session.add(journalist)
    session.flush()
    return journalist, found is None


def clean_journalist(settings: Settings, fields: Mapping[str, object]) -> JournalistInput:
    """Raises ``InvalidInput`` naming the field."""
    language = str(fields.get("language") or settings.default_language).strip().lower()
    if language not in settings.languages:
        language = settings.default_language
    return JournalistInput(
        email=clean_address(fields.get("email"), settings),
        name=clean_text(fields.get("name"), "name", 200),
        outlet=clean_text(fields.get("outlet"), "outlet", 200),
        language=language,
        timezone=clean_timezone(fields.get("timezone")),
        beat=clean_text(fields.get("beat"), "beat", 200),
    )


def import_journalists(
    session: Session, settings: Settings, text: str
) -> tuple[int, int, list[str]]:
    """A CSV as a spreadsheet exports it (header row: email, name, outlet, language, time
    zone, beat; comma or semicolon): returns (added, updated, problems by line)."""
    sample = text[:2000]
    dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), dialect=dialect)
    added = updated = 0
    problems: list[str] = []
    for line, row in enumerate(reader, start=2):
        fields = {
            (k or "").strip().lower().replace(" ", "").replace("_", ""): v for k, v in row.items()
        }
        fields["timezone"] = fields.get("timezone") or fields.get("tz")
        try:
            given = clean_journalist(settings, fields)
        except InvalidInput as invalid:
            problems.append(f"{line}: {invalid.message}")
            continue
        _journalist, is_new = save_journalist(session, given)
        added, updated = added + is_new, updated + (not is_new)
    return added, updated, problems


def briefing_for(session: Session, post: Post) -> PressBriefing | None:
    return session.scalar(select(PressBriefing).where(PressBriefing.post_id == post.id))


def _queue(session: Session, briefing: PressBriefing, key: str, now: dt.datetime) -> int:
    rows = [
        {
            "briefing_id": briefing.id,
            "journalist_id": jid,
            "key": key,
            "status": MessageStatus.QUEUED.value,
            "due_at": now,
            "attempts": 0,
            "last_reply": "",
        }
        for jid in active_ids(session)
    ]
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(PressMessage).on_conflict_do_nothing(
        index_elements=["briefing_id", "journalist_id", "key"]
    )
    return len(session.scalars(statement.returning(PressMessage.id), rows).all())


def brief(
    session: Session, post: Post, embargo_until: dt.datetime, now: dt.datetime, by: int | None
) -> int:
    """Publish ``post`` under embargo and mail the press list now; returns how many."""
    if embargo_until.tzinfo is None or embargo_until <= now:
        raise BriefingError(_("The embargo must be a time in the future."))
    existing = briefing_for(session, post)
    if existing is not None and existing.status is not BriefingStatus.WITHDRAWN:
        raise BriefingError(_("The press was already briefed: move or lift the embargo instead."))
    if is_public(post, now):
        raise BriefingError(_("This release is public already; an embargo would mean nothing."))
    post.embargo_until = embargo_until
    post.published_at = None
    publish_post(post, now=now)
    if existing is None:
        existing = PressBriefing(post_id=post.id, sequence=0)
        session.add(existing)
    else:
        existing.sequence += 1
    existing.embargo_until = embargo_until
    existing.status = BriefingStatus.EMBARGOED
    existing.briefed_by_id = by
    existing.briefed_at = now
    session.flush()
    count = _queue(session, existing, f"brief:{existing.sequence}", now)
    log.info("post %s: press briefed under embargo (%d journalist(s))", post.id, count)
    return count


def _live(session: Session, post: Post, now: dt.datetime) -> PressBriefing:
    briefing = briefing_for(session, post)
    if briefing is None or briefing.status is not BriefingStatus.EMBARGOED:
        raise BriefingError(_("This release is not under embargo."))
    if post.embargo_until is not None and post.embargo_until <= now:
        raise BriefingError(_("The embargo has passed: the release is public."))
    return briefing


def move(session: Session, post: Post, new_embargo: dt.datetime, now: dt.datetime) -> int:
    """A new embargo time; the press is told once. A time already past lifts it."""
    if new_embargo <= now:
        return lift(session, post, now)
    briefing = _live(session, post, now)
    if new_embargo == briefing.embargo_until:
        return 0
    briefing.sequence += 1
    briefing.embargo_until = new_embargo
    post.embargo_until = new_embargo
    session.flush()
    return _queue(session, briefing, f"moved:{briefing.sequence}", now)


def lift(session: Session, post: Post, now: dt.datetime) -> int:
    """Release now; the press is told they may publish. The caller starts the alert."""
    briefing = _live(session, post, now)
    briefing.sequence += 1
    briefing.status = BriefingStatus.LIFTED
    briefing.embargo_until = now
    post.embargo_until = now
    session.flush()
    return _queue(session, briefing, f"lifted:{briefing.sequence}", now)


def withdraw(session: Session, post: Post, now: dt.datetime) -> int:
    """Nothing will be released; the press is asked not to publish."""
    briefing = _live(session, post, now)
    briefing.sequence += 1
    briefing.status = BriefingStatus.WITHDRAWN
    unpublish_post(post)
    session.flush()
    return _queue(session, briefing, f"withdrawn:{briefing.sequence}", now)


@dataclass(frozen=True)
class ContactInput:
    name: str
    organisation: str = ""
    roles: dict[str, str] | None = None
    phone: str = ""
    email: str = ""
    spoken_languages: str = ""


def set_contacts(post: Post, contacts: Iterable[ContactInput]) -> None:
    """Replace the release's press contacts (in the order given)."""
    post.press_contacts.clear()  # type: ignore[attr-defined]
    for position, given in enumerate(contacts):
        if not given.name.strip():
            raise BriefingError(_("Every press contact needs a name."))
        post.press_contacts.append(  # type: ignore[attr-defined]
            PressContact(
                position=position,
                name=given.name.strip()[:200],
                organisation=given.organisation.strip()[:200],
                roles={k: v.strip()[:300] for k, v in (given.roles or {}).items() if v.strip()},
                phone=given.phone.strip()[:60],
                email=given.email.strip()[:320],
                spoken_languages=given.spoken_languages.strip()[:100],
            )
        )
