"""Prometheus metrics during a real campaign: PostgreSQL, Redis, two worker processes, SMTP.

Each worker serves its own exporter; the web process's ``/metrics`` (behind its token) serves
the shared gauges. What the SMTP server received must equal the workers' sent counters added
up, and the database's count the web process reports; a beat stopped on purpose turns stale.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from newsletter.web.app import create_app
from tests.observability.helpers import (
    free_port,
    samples,
    scrape_url,
    start_beat,
    stop,
    total,
    wait_until,
)
from tests.sending.helpers import seed_campaign

pytestmark = pytest.mark.slow
TOKEN = "metrics-token-for-the-test-0123456789"


def _start_workers(fleet, count: int) -> list[int]:
    base, ports = fleet.settings, []
    for _ in range(count):
        port = free_port()
        fleet.settings = base.model_copy(update={"worker_metrics_port": port})
        fleet.start()
        ports.append(port)
    fleet.settings = base
    fleet.wait_ready(count)
    return ports


def _scrape_workers(ports: list[int]) -> list[str]:
    return [scrape_url(f"http://127.0.0.1:{port}/metrics") for port in ports]


@pytest.mark.timeout(300)
def test_sent_counters_add_up_to_what_the_smtp_server_received(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(
        workers=0, send_batch_size=40, send_chunk_size=10, metrics_token=TOKEN,
        smtp_rate_per_second=25,
    )  # fmt: skip
    ports = _start_workers(fleet, 2)
    with committed_db() as session:
        seeded = seed_campaign(session, 400)
        session.commit()
    fleet.app.send_task("newsletter.start_campaign", args=[seeded.campaign_id])

    wait_until(lambda: len(smtp_server.messages) >= 50, 60, "the campaign to be under way")
    during = _scrape_workers(ports)  # mid-campaign: both exporters answer
    assert 0 < sum(total(t, "newsletter_messages_total", outcome="sent") for t in during) <= 400

    wait_until(lambda: len(smtp_server.messages) >= 400, 120, "all 400 messages")
    received = len(smtp_server.messages)
    wait_until(
        lambda: sum(total(t, "newsletter_messages_total", outcome="sent")
                    for t in _scrape_workers(ports)) == received,
        10, "the last chunk to be counted",
    )  # fmt: skip
    scraped = _scrape_workers(ports)
    sent = [total(t, "newsletter_messages_total", outcome="sent", campaign_kind="newsletter",
                  relay="relay0") for t in scraped]  # fmt: skip
    assert sum(sent) == received == 400
    assert all(count > 0 for count in sent), f"both workers should have sent: {sent}"
    latency = sum(total(t, "newsletter_smtp_transaction_seconds_count", relay="relay0")
                  for t in scraped)  # fmt: skip
    assert latency == received
    waits = sum(total(t, "newsletter_throttle_waits_total", relay="relay0") for t in scraped)
    assert waits > 0, [line for line in scraped[0].splitlines() if "throttle" in line]
    assert sum(total(t, "newsletter_tasks_total", task="newsletter.send_batch") for t in scraped)
    for text in scraped:
        assert "@" not in text  # labels are kinds and ids, never an address

    app = create_app(fleet.settings)
    with TestClient(app) as web:
        assert web.get("/metrics").status_code == 401
        assert web.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        response = web.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    app.state.engine.dispose()
    assert response.status_code == 200
    counted = samples(
        response.text, "newsletter_campaign_deliveries",
        campaign_id=str(seeded.campaign_id), status="sent",
    )  # fmt: skip
    assert counted == [received]
    assert samples(response.text, "newsletter_queue_depth", queue="send") == [0]
    assert "@" not in response.text


def test_metrics_do_not_exist_without_a_token(tmp_path, sqlite_url) -> None:
    from tests.conftest import make_test_settings

    app = create_app(make_test_settings(tmp_path, database_url=sqlite_url))
    with TestClient(app) as web:
        assert web.get("/metrics").status_code == 404
    app.state.engine.dispose()


def test_a_stopped_beat_shows_as_stale(fleet_factory, committed_db, tmp_path) -> None:
    fleet = fleet_factory(workers=1, metrics_token=TOKEN, beat_stale_seconds=4, beat_tick_seconds=1)
    app = create_app(fleet.settings)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    def stale() -> float:
        [value] = samples(web.get("/metrics", headers=headers).text, "newsletter_beat_stale")
        return value

    beat = start_beat(fleet.settings, tmp_path / "beat.log")
    try:
        with TestClient(app) as web:
            assert stale() == 1  # never ticked yet
            try:
                wait_until(lambda: stale() == 0, 30, "beat's first tick (after a second)")
            except AssertionError:
                beat_log = (tmp_path / "beat.log").read_text(errors="replace")
                raise AssertionError(beat_log[-3000:] + fleet.logs()[-3000:]) from None
            stop(beat)  # on purpose
            wait_until(lambda: stale() == 1, 15, "the stopped beat to show as stale")
            text = web.get("/metrics", headers=headers).text
            [age] = samples(text, "newsletter_beat_last_tick_age_seconds")
            assert age > 4
    finally:
        stop(beat)
        app.state.engine.dispose()
