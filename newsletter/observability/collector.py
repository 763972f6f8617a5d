"""Gauges read at scrape time from the shared state: queues, heartbeats, campaigns, disk.

Served by the web process's ``/metrics`` (one place, however many workers run): queue depth
per Celery queue, age of beat's last tick (and whether it is stale), the inbound receiver's
last heartbeat, disk left under ``DATA_DIR``, and per recent campaign its deliveries by status
(the database's own count, which the workers' counters must add up to).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns.models import Campaign, CampaignStatus, Delivery
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.observability import heartbeats, system

RECENT_CAMPAIGNS = dt.timedelta(hours=24)


class SystemCollector(Collector):
    def __init__(self, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.settings, self.factory = settings, factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        queues = GaugeMetricFamily(
            "newsletter_queue_depth", "Tasks waiting per Celery queue.", labels=["queue"]
        )
        for queue, depth in system.queue_depths(self.settings).items():
            if depth is not None:
                queues.add_metric([queue], depth)
        yield queues
        with self.factory() as session:
            yield from self._heartbeats(session)
            yield self._deliveries(session)
        disk = system.disk_space(self.settings)
        yield GaugeMetricFamily(
            "newsletter_data_dir_free_bytes", "Disk left under DATA_DIR.", value=disk.free_bytes
        )

    def _heartbeats(self, session: Session) -> Iterator[GaugeMetricFamily]:
        now = utcnow()
        beat_age = heartbeats.age_seconds(heartbeats.last_seen(session, heartbeats.BEAT), now)
        age = GaugeMetricFamily(
            "newsletter_beat_last_tick_age_seconds",
            "Seconds since beat's tick last ran (absent: it never ran).",
        )
        if beat_age is not None:
            age.add_metric([], beat_age)
        yield age
        stale = system.beat_is_stale(beat_age, self.settings.beat_stale_seconds)
        yield GaugeMetricFamily(
            "newsletter_beat_stale",
            "1 when beat's tick has not run for BEAT_STALE_SECONDS (or never ran).",
            value=1 if stale else 0,
        )
        inbound = heartbeats.age_seconds(heartbeats.last_seen(session, heartbeats.INBOUND), now)
        family = GaugeMetricFamily(
            "newsletter_inbound_heartbeat_age_seconds",
            "Seconds since the inbound receiver last said it was up.",
        )
        if inbound is not None:
            family.add_metric([], inbound)
        yield family

    def _deliveries(self, session: Session) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "newsletter_campaign_deliveries",
            "Deliveries of campaigns sending or finished in the last 24 hours, by status.",
            labels=["campaign_id", "campaign_kind", "status"],
        )
        since = utcnow() - RECENT_CAMPAIGNS
        rows = session.execute(
            select(Campaign.id, Campaign.kind, Delivery.status, func.count())
            .join(Delivery, Delivery.campaign_id == Campaign.id)
            .where(or_(Campaign.status == CampaignStatus.SENDING, Campaign.finished_at >= since))
            .group_by(Campaign.id, Campaign.kind, Delivery.status)
        )
        for campaign_id, kind, status, count in rows:
            family.add_metric([str(campaign_id), str(kind), str(status)], count)
        return family
