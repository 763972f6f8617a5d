"""Press list tasks: send queued briefing mail now (after the console committed it), and a
minute beat that sends whatever is still queued (a lost task, a relay that deferred).

Safe twice at once: each message row is claimed by one conditional UPDATE before sending.
"""

from __future__ import annotations

import dataclasses

from celery import shared_task

from newsletter.config import get_settings
from newsletter.db import utcnow
from newsletter.press.delivery import deliver, deliver_due
from workers.tasks import session_factory


@shared_task(name="newsletter.press_tick")
def press_tick() -> dict[str, int]:
    return dataclasses.asdict(deliver_due(get_settings(), session_factory(), utcnow))


@shared_task(name="newsletter.send_press_messages")
def send_press_messages(message_ids: list[int]) -> dict[str, int]:
    return dataclasses.asdict(deliver(get_settings(), session_factory(), message_ids, utcnow))
