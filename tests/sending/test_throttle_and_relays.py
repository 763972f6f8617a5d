"""Rate limits (token buckets in real Redis) and relay fail-over."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter

from sqlalchemy import func, select

from newsletter.campaigns import service
from newsletter.delivery import pipeline
from newsletter.delivery.relays import FailoverMailer, make_campaign_mailer, relay_limits
from newsletter.delivery.throttle import Limits, LocalBuckets, RedisBuckets, Throttle
from newsletter.models import Delivery
from tests.conftest import make_test_settings
from tests.sending.test_pipeline import start


def timed_acquires(throttle: Throttle, limits: Limits, domain: str, count: int) -> float:
    started = time.monotonic()
    for _ in range(count):
        throttle.acquire("relay:25", limits, domain)
    return time.monotonic() - started


def test_redis_buckets_limit_per_domain_and_leave_other_domains_alone(redis_client) -> None:
    throttle = Throttle(RedisBuckets(redis_client))
    limits = Limits(per_domain_per_second=10)
    slow = timed_acquires(throttle, limits, "busy.example", 25)
    assert 1.3 <= slow < 3.0  # 10 at once (the bucket), then 15 at 10/s
    assert timed_acquires(throttle, limits, "quiet.example", 10) < 0.3


def test_redis_buckets_apply_the_relay_wide_per_second_limit(redis_client) -> None:
    throttle = Throttle(RedisBuckets(redis_client))
    limits = Limits(per_second=20)
    elapsed = timed_acquires(throttle, limits, "a.example", 20) + timed_acquires(
        throttle, limits, "b.example", 20
    )
    assert 0.85 <= elapsed < 2.0  # 40 tokens at 20/s with a bucket of 20: about one second


def test_an_hourly_quota_stops_sending_once_spent(redis_client) -> None:
    waits: list[float] = []
    throttle = Throttle(
        RedisBuckets(redis_client), sleep=lambda s: waits.append(s) or time.sleep(0)
    )
    limits = Limits(per_hour=5)
    for _ in range(5):
        throttle.acquire("relay:25", limits, "x.example")
    assert waits == []
    store = throttle.store
    assert store.take(limits.buckets("relay:25", "x.example")) > 600  # next token: 12 min


def test_local_buckets_keep_the_same_rule_without_redis() -> None:
    now = [0.0]
    buckets = LocalBuckets(clock=lambda: now[0])
    limits = Limits(per_second=2)
    taken = [buckets.take(limits.buckets("r", "d")) for _ in range(3)]
    assert taken[:2] == [0.0, 0.0] and taken[2] == 0.5
    now[0] = 0.5
    assert buckets.take(limits.buckets("r", "d")) == 0.0


def test_limits_come_from_the_relay_url_or_the_settings(tmp_path) -> None:
    settings = make_test_settings(tmp_path, smtp_rate_per_second=14, smtp_rate_per_hour=5000)
    assert relay_limits("smtp://relay:25", settings) == Limits(14, 5000, 0)
    assert relay_limits("smtp://relay:25?rate_per_second=2&domain_rate_per_second=1", settings) == (
        Limits(2, 5000, 1)
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_relay_that_is_down_fails_over_to_the_next_one(
    committed_db, tmp_path, pg_url, smtp_server
) -> None:
    settings = make_test_settings(
        tmp_path,
        database_url=pg_url,
        smtp_url=f"smtp://127.0.0.1:{closed_port()}?timeout=2",
        smtp_fallback_urls=smtp_server.url,
        send_batch_size=50,
    )
    mailer = make_campaign_mailer(settings)
    assert isinstance(mailer, FailoverMailer) and len(mailer.relays) == 2
    campaign_id, batches = start(committed_db, settings, 30)
    started = time.monotonic()
    pipeline.send_batch(committed_db, settings, campaign_id, *batches.ranges[0], mailer=mailer)
    assert time.monotonic() - started < 10  # the dead relay is not retried per message
    assert len({m.rcpt_tos[0] for m in smtp_server.messages}) == 30
    assert mailer.last_relay == f"127.0.0.1:{smtp_server.port}"
    with committed_db() as session:
        rows = session.execute(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        ).all()
    assert Counter({str(s): n for s, n in rows}) == Counter({"sent": 30})


def test_a_rate_limited_chunk_ends_on_time_so_pause_is_prompt(
    committed_db, tmp_path, pg_url, smtp_server
) -> None:
    """At 10 messages/s a 100-message chunk would take 10 s; SEND_CHUNK_SECONDS cuts it short."""
    settings = make_test_settings(
        tmp_path,
        database_url=pg_url,
        smtp_url=smtp_server.url,
        smtp_rate_per_second=10,
        send_batch_size=100,
        send_chunk_size=100,
        send_chunk_seconds=0.5,
    )
    campaign_id, batches = start(committed_db, settings, 40)
    reports: list[pipeline.BatchReport] = []
    sender = threading.Thread(
        target=lambda: reports.append(
            pipeline.send_batch(committed_db, settings, campaign_id, *batches.ranges[0])
        )
    )
    sender.start()
    time.sleep(1.0)
    with committed_db() as session, session.begin():
        assert service.pause_campaign(session, campaign_id)
    paused_at = time.monotonic()
    sender.join(timeout=15)
    stopped_after = time.monotonic() - paused_at
    (report,) = reports
    assert report.stopped == "paused"
    assert stopped_after < 1.5, f"the batch ran {stopped_after:.1f}s after the pause"
    assert 10 <= report.sent < 40 and report.released == 40 - report.sent
    assert len(smtp_server.messages) == report.sent
