"""Auto-pause on the recent error rate, on real PostgreSQL and the real SMTP test server.

The rate is taken over a window of recent attempts (`newsletter.delivery.error_window`), so a
burst of refusals pauses the campaign whether it comes first or after many good messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns import service
from newsletter.delivery import pipeline
from newsletter.delivery.error_window import ErrorWindow, chunk_terms, chunk_update
from newsletter.models import Campaign, CampaignStatus
from tests.conftest import make_test_settings
from tests.sending.helpers import seed_campaign

REFUSED = "554 5.7.1 rejected as spam"


@pytest.fixture
def settings(tmp_path: Path, pg_url: str, smtp_server):
    return make_test_settings(
        tmp_path,
        database_url=pg_url,
        smtp_url=smtp_server.url,
        send_batch_size=1000,
        send_chunk_size=10,
        send_auto_pause_min_attempts=20,
        send_auto_pause_error_rate=0.5,
        send_auto_pause_window=100,
    )


def refuse_when(smtp_server, refused) -> list[int]:
    """Answer the n-th message (0-based) with a 554 when ``refused(n)``; returns the counter."""
    seen = [0]

    def rule(message) -> str | None:
        seen[0] += 1
        return REFUSED if refused(seen[0] - 1) else None

    smtp_server.reply_to_data(rule)
    return seen


def send(factory: sessionmaker[Session], settings, count: int) -> tuple[int, pipeline.BatchReport]:
    with factory() as session, session.begin():
        campaign_id = seed_campaign(session, count).campaign_id
    with factory() as session, session.begin():
        batches = service.start_campaign(session, campaign_id, settings=settings)
    [(first, last)] = batches.ranges
    return campaign_id, pipeline.send_batch(factory, settings, campaign_id, first, last)


def campaign(factory, campaign_id: int) -> Campaign:
    with factory() as session:
        return session.get(Campaign, campaign_id)


def test_an_early_burst_of_refusals_pauses_the_campaign(committed_db, settings, smtp_server):
    refuse_when(smtp_server, lambda n: True)
    campaign_id, report = send(committed_db, settings, 60)
    assert report.stopped == "paused" and report.failed == 20 and report.released == 40
    paused = campaign(committed_db, campaign_id)
    assert paused.status is CampaignStatus.PAUSED
    assert paused.status_reason == "auto-paused: error rate 100% over 20 attempts"


def test_a_late_burst_pauses_a_big_campaign_and_resume_starts_a_fresh_window(
    committed_db, settings, smtp_server
):
    seen = refuse_when(smtp_server, lambda n: n >= 300)  # the relay turns hostile late
    campaign_id, report = send(committed_db, settings, 500)
    assert report.stopped == "paused" and report.sent == 300
    # Over the window (~100 attempts) half failed after ~70 refusals; over the whole campaign
    # the rate was still far below 50%, which would have sent the remaining 200 into refusals.
    assert 60 <= report.failed <= 80
    assert report.failed / (report.sent + report.failed) < 0.25
    paused = campaign(committed_db, campaign_id)
    assert paused.status is CampaignStatus.PAUSED
    assert paused.status_reason.startswith("auto-paused: error rate 5")
    assert paused.status_reason.endswith("over its last 100 attempts")

    smtp_server.reply_to_data(None)  # staff fixed the cause: the errors must not pause it again
    with committed_db() as session, session.begin():
        resumed = service.resume_campaign(session, campaign_id, settings=settings)
    reports = [
        pipeline.send_batch(committed_db, settings, campaign_id, first, last)
        for first, last in resumed.ranges
    ]
    assert sum(r.sent for r in reports) == 500 - 300 - report.failed
    assert campaign(committed_db, campaign_id).status is CampaignStatus.SENT
    assert seen[0] == 300 + report.failed  # the rule is gone; the rest went straight through


def test_scattered_errors_below_the_threshold_never_pause(committed_db, settings, smtp_server):
    refuse_when(smtp_server, lambda n: n % 3 == 0)  # a third refused, under the 50% threshold
    campaign_id, report = send(committed_db, settings, 300)
    assert report.stopped == "" and report.sent == 200 and report.failed == 100
    assert campaign(committed_db, campaign_id).status is CampaignStatus.SENT


def test_the_window_weighs_recent_attempts_and_knows_how_many_it_has_seen() -> None:
    size, window = 100, ErrorWindow()
    for chunk in ([False] * 7, [True, False, True], [False] * 25):  # chunk sizes do not matter
        window = window.after(chunk_terms(size, chunk))
    assert window.attempts(size) == pytest.approx(35)
    assert window.error_rate < 2 / 35  # two old errors weigh less than the recent successes
    late = ErrorWindow().after(chunk_terms(size, [False] * 33 + [True, True]))
    assert late.error_rate > 2 / 35  # the same two errors, recent, weigh more
    one_by_one = ErrorWindow()
    for error in [False] * 7 + [True, False, True] + [False] * 25:
        one_by_one = one_by_one.after(chunk_terms(size, [error]))
    assert one_by_one.attempts_weight == pytest.approx(window.attempts_weight)
    assert one_by_one.errors_weight == pytest.approx(window.errors_weight)
    assert chunk_terms(size, []) is None and chunk_update(size, []) == {}  # skips: no attempts
