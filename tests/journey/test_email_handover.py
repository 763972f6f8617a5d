"""A journey email the relay refuses for now is retried by a real Celery worker, not lost."""

from __future__ import annotations

import pytest

from newsletter.abuse.ratelimit import MemoryRateLimiter
from newsletter.delivery.outcomes import Outcome
from newsletter.subscribers import notifications, service
from newsletter.subscribers.inputs import SignUp
from tests.journey.conftest import add_public_lists
from workers.celery_app import celery_config

pytestmark = pytest.mark.slow


def test_deferred_confirmation_is_sent_by_the_worker(celery_worker, committed_db, smtp_server):
    settings = celery_worker.settings
    add_public_lists(committed_db)
    sign_up = SignUp(
        email="late@example.org",
        name="",
        language="fr",
        list_slugs=["events"],
        consent_text_version="v1",
        source="api",
    )
    with committed_db.begin() as session:
        outcome = service.subscribe(session, settings, sign_up, MemoryRateLimiter())
    smtp_server.fail_next(1)  # the relay says 451 to the web process's attempt
    queued = []

    def enqueue(kind: str, subscriber_id: int) -> None:
        queued.append(
            celery_worker.app.send_task("newsletter.send_journey_email", args=[kind, subscriber_id])
        )

    with committed_db() as session:
        result = notifications.send_or_hand_over(
            settings, session, "confirm", outcome.subscriber_id, enqueue
        )
    assert result.outcome is Outcome.DEFERRED
    assert queued[0].get(timeout=30) == "sent"
    [received] = smtp_server.wait_for(1, timeout=20)
    assert received.rcpt_tos == ("late@example.org",)
    assert "Merci de confirmer" in received.message["Subject"]


def test_pending_purge_has_its_own_beat_entry(tmp_path):
    from tests.conftest import make_test_settings

    schedule = celery_config(make_test_settings(tmp_path))["beat_schedule"]
    assert schedule["purge-pending"]["task"] == "newsletter.purge_pending"
    assert schedule["purge-pending"]["schedule"] <= 24 * 3600
