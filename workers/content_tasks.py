"""Content tasks: the content beat, feed polling, starting alerts after publish.

Each task opens a unit of work, calls one ``newsletter.content`` function and, once that
transaction has committed, asks the sending engine to start the campaigns it created
(invariant `commit-then-enqueue`). Campaigns are started by task *name*, so this module needs
nothing of the engine but its contract: ``newsletter.start_campaign(campaign_id)``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import current_app, shared_task

from newsletter.config import get_settings
from newsletter.content import feeds
from newsletter.content.alerts import release_due_alerts
from newsletter.content.tick import content_tick
from newsletter.db import unit_of_work, utcnow
from workers.tasks import session_factory

log = logging.getLogger(__name__)


def start_campaigns(campaign_ids: Iterable[int]) -> None:
    """Hand committed campaigns to the sending engine (call only after commit)."""
    for campaign_id in campaign_ids:
        current_app.send_task("newsletter.start_campaign", args=[campaign_id])


@shared_task(name="newsletter.content_tick")
def content_tick_task() -> list[int]:
    """Every minute: alerts whose embargo or publication time passed, and the due digest."""
    with unit_of_work(session_factory()) as session:
        started = content_tick(get_settings(), session, utcnow())
    start_campaigns(started)
    if started:
        log.info("content tick: started campaign(s) %s", started)
    return started


@shared_task(name="newsletter.poll_feeds")
def poll_feeds() -> int:
    """Poll each due feed in its own transaction: one broken feed never stops the others."""
    settings = get_settings()
    if not settings.feed_urls:
        return 0
    with unit_of_work(session_factory()) as session:
        due = feeds.due_sources(settings, session, utcnow())
    created = 0
    for source_id in due:
        with unit_of_work(session_factory()) as session:
            created += len(feeds.poll_source(settings, session, source_id, utcnow()))
            started = release_due_alerts(settings, session, utcnow())
        start_campaigns(started)
    return created
