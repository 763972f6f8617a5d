"""Event registration tasks: the minute beat (reminders, queued messages) and a prompt send.

Both are safe to run twice at once: every message row is claimed by one conditional UPDATE
before it is sent (see ``newsletter.registrations.delivery``).
"""

from __future__ import annotations

import dataclasses

from celery import shared_task

from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.registrations.delivery import deliver
from newsletter.registrations.tick import event_tick
from workers.tasks import session_factory


@shared_task(name="newsletter.event_tick")
def event_tick_task() -> dict[str, int]:
    """Every minute: queue the reminders that came due, send every queued event message."""
    report = event_tick(get_settings(), session_factory(), utcnow)
    return dataclasses.asdict(report)


@shared_task(name="newsletter.send_event_messages")
def send_event_messages(message_ids: list[int]) -> dict[str, int]:
    """Send these queued messages now (after the web committed them); the beat is the backstop."""
    report = deliver(get_settings(), session_factory(), message_ids, utcnow)
    return dataclasses.asdict(report)
