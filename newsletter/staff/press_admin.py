"""What staff do with the press list and a release's briefing, each action audited.

Every mail to the press list is a mass send: the console shows the number of journalists it
reaches and the action runs only when that number is still the one confirmed (as for event
notices). The audit entry names the release, the count and the embargo instant; who was
briefed and when is the briefing's message log (one row per journalist, with its sent time).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.content.alerts import create_alert
from newsletter.content.models import Post
from newsletter.press import service
from newsletter.press.models import Journalist, PressMessage
from newsletter.staff import audit
from newsletter.staff.event_admin import CountChanged

ACTIONS = ("brief", "move", "lift", "withdraw")


def audience_count(session: Session) -> int:
    return len(service.active_ids(session))


def save_journalist(
    session: Session, actor: audit.Actor, given: service.JournalistInput
) -> Journalist:
    journalist, added = service.save_journalist(session, given)
    audit.record(
        session,
        actor,
        "press.journalist_added" if added else "press.journalist_updated",
        object_type="journalist",
        object_id=journalist.id,
    )
    return journalist


def remove_journalist(session: Session, actor: audit.Actor, journalist: Journalist) -> None:
    journalist.active = False
    audit.record(
        session,
        actor,
        "press.journalist_removed",
        object_type="journalist",
        object_id=journalist.id,
    )


def import_journalists(
    session: Session, settings: Settings, actor: audit.Actor, text: str
) -> tuple[int, int, list[str]]:
    added, updated, problems = service.import_journalists(session, settings, text)
    audit.record(
        session,
        actor,
        "press.import",
        object_type="journalists",
        detail={"added": added, "updated": updated, "problems": len(problems)},
    )
    return added, updated, problems


def act(
    session: Session,
    settings: Settings,
    actor: audit.Actor,
    post: Post,
    action: str,
    *,
    confirmed_count: int | None,
    now: dt.datetime,
    embargo_until: dt.datetime | None = None,
) -> tuple[int, list[int]]:
    """Brief, move, lift or withdraw; returns (journalists told, alert campaigns to start)."""
    count = audience_count(session)
    if confirmed_count != count:
        raise CountChanged(count)
    started: list[int] = []
    if action == "brief":
        assert embargo_until is not None
        service.brief(session, post, embargo_until, now, actor.staff_user_id)
    elif action == "move":
        assert embargo_until is not None
        service.move(session, post, embargo_until, now)
    elif action == "lift":
        service.lift(session, post, now)
    elif action == "withdraw":
        service.withdraw(session, post, now)
    else:
        raise ValueError(action)
    if action == "lift" or (action == "move" and embargo_until and embargo_until <= now):
        campaign = create_alert(settings, session, post, now)  # the tick would, a minute later
        started = [campaign.id] if campaign is not None else []
    detail: dict[str, object] = {"journalists": count}
    if post.embargo_until is not None:
        detail["embargo_until"] = post.embargo_until.isoformat()
    audit.record(session, actor, f"press.{action}", object_type="post", object_id=post.id,
                 detail=detail)  # fmt: skip
    return count, started


def briefing_log(session: Session, post: Post) -> list[tuple[Journalist, PressMessage]]:
    """Who was told what and when, for the release's page."""
    briefing = service.briefing_for(session, post)
    if briefing is None:
        return []
    rows = session.scalars(
        select(PressMessage)
        .where(PressMessage.briefing_id == briefing.id)
        .order_by(PressMessage.id)
    ).all()
    return [(row.journalist, row) for row in rows]
