"""Tasks round-trip through a real ``celery worker`` process on Redis."""

from __future__ import annotations

import datetime as dt

import pytest
from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from newsletter.models import Campaign, CampaignKind, CampaignStatus
from tests.conftest import WorkerHandle
from workers.celery_app import SEND_QUEUE, VISIBILITY_TIMEOUT, celery_config

pytestmark = [pytest.mark.slow, pytest.mark.date_sensitive]


def test_send_test_task_reaches_the_smtp_server_through_a_real_worker(
    celery_worker: WorkerHandle, smtp_server
) -> None:
    result = celery_worker.app.send_task("newsletter.send_test", args=["reader@example.org", "en"])
    assert result.get(timeout=30) == {"outcome": "sent", "code": 250}
    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert list(received.rcpt_tos) == ["reader@example.org"]
    assert received.mail_from == "bounces@bounces.coalition.example.org"
    assert received.message["Subject"].endswith("test message from the newsletter service")


def test_tick_finds_due_campaigns_committed_in_postgresql(
    celery_worker: WorkerHandle, committed_db: sessionmaker[Session]
) -> None:
    now = dt.datetime.now(dt.UTC)
    with committed_db() as session, session.begin():
        due = Campaign(
            kind=CampaignKind.NEWSLETTER,
            name="due",
            status=CampaignStatus.SCHEDULED,
            scheduled_at=now - dt.timedelta(minutes=1),
        )
        later = Campaign(
            kind=CampaignKind.NEWSLETTER,
            name="next month",
            status=CampaignStatus.SCHEDULED,
            scheduled_at=now + dt.timedelta(days=30),
        )
        session.add_all([due, later])
    result = celery_worker.app.send_task("newsletter.tick")
    assert result.get(timeout=30) == [due.id]


def test_worker_configuration_is_the_reliable_one(tmp_path) -> None:
    from tests.conftest import make_test_settings

    config = celery_config(make_test_settings(tmp_path, broker_url="redis://127.0.0.1:6379/14"))
    assert config["task_serializer"] == "json" and config["accept_content"] == ["json"]
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    app = Celery(set_as_current=False)
    app.conf.update(config)
    for bulk in ("newsletter.send_batch", "newsletter.send_sweep"):
        assert app.amqp.router.route({}, bulk)["queue"].name == SEND_QUEUE
    for person_waiting in ("newsletter.send_journey_email", "newsletter.send_test"):
        assert app.amqp.router.route({}, person_waiting)["queue"].name != SEND_QUEUE
    assert config["broker_transport_options"]["visibility_timeout"] == VISIBILITY_TIMEOUT
    assert config["task_time_limit"] < VISIBILITY_TIMEOUT
    assert config["beat_schedule"]["tick"]["schedule"] == 60.0
