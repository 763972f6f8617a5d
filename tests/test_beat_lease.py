"""Beat that cannot run twice: two real ``celery beat`` processes on one real Redis.

Only one ticks; killed (SIGKILL, no clean hand-over), the other takes over once the lease runs
out. Ticks are counted where they land: the tick messages in the Redis broker's queue, each
carrying the publishing process in its ``origin`` header.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import redis

from tests.conftest import (
    PROJECT_ROOT,
    REDIS_BROKER_DB,
    REDIS_FIXTURE_DB,
    REDIS_HOST_URL,
    make_test_settings,
    settings_env,
)
from workers.beat_scheduler import (
    LEASE_KEY,
    FileLease,
    RedisLease,
    poll_seconds,
    takeover_bound_seconds,
)

LEASE_SECONDS = 3.0
TICK_SECONDS = 1.0


def test_a_redis_lease_has_one_holder_and_passes_on_when_it_expires(
    redis_client: redis.Redis,
) -> None:
    first = RedisLease(redis_client, ttl_seconds=2, owner="host-a:1")
    second = RedisLease(redis_client, ttl_seconds=2, owner="host-b:2")
    assert first.hold()
    assert not second.hold()
    assert first.hold()  # renewing keeps it
    second.release()  # not the owner: releases nothing
    assert redis_client.get(LEASE_KEY) == b"host-a:1"
    redis_client.pexpire(LEASE_KEY, 1)  # as if the holder had stopped renewing
    time.sleep(0.05)
    assert second.hold()
    assert not first.hold()  # the former leader must not renew the new one's lease
    second.release()
    assert first.hold()


def test_a_file_lease_has_one_holder(tmp_path: Path) -> None:
    first, second = FileLease(tmp_path / "beat.lock"), FileLease(tmp_path / "beat.lock")
    assert first.hold()
    assert not second.hold()
    first.release()
    assert second.hold()
    second.release()


def test_the_default_lease_hands_over_within_two_minutes(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path)
    assert takeover_bound_seconds(settings.beat_lease_seconds) <= 120
    # a leader renews several times within one lease
    assert poll_seconds(settings.beat_lease_seconds) * 3 < settings.beat_lease_seconds


def _start_beat(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    data_dir = tmp_path / name
    data_dir.mkdir()
    settings = make_test_settings(
        data_dir,
        broker_url=f"{REDIS_HOST_URL}/{REDIS_BROKER_DB}",
        redis_url=f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}",
        beat_tick_seconds=TICK_SECONDS,
        beat_lease_seconds=LEASE_SECONDS,
    )
    log_file = (tmp_path / f"{name}.log").open("ab")
    argv = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat", "--loglevel=INFO"]
    argv.append(f"--schedule={data_dir / 'celerybeat-schedule'}")
    return subprocess.Popen(
        argv, cwd=PROJECT_ROOT, env=settings_env(settings), stdout=log_file, stderr=log_file
    )


def _ticks_by_origin(broker: redis.Redis) -> Counter[str]:
    """How many ``newsletter.tick`` messages each process has published so far."""
    origins: Counter[str] = Counter()
    for raw in broker.lrange("default", 0, -1):
        headers = json.loads(raw)["headers"]
        if headers["task"] == "newsletter.tick":
            origins[headers["origin"]] += 1
    return origins


def _wait(predicate: object, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_beats_tick_once_and_the_standby_takes_over(
    tmp_path: Path, redis_client: redis.Redis
) -> None:
    broker = redis.Redis.from_url(f"{REDIS_HOST_URL}/{REDIS_BROKER_DB}")
    broker.flushdb()
    beats = [_start_beat(tmp_path, "beat-a"), _start_beat(tmp_path, "beat-b")]
    try:
        _wait(lambda: sum(_ticks_by_origin(broker).values()) >= 1, 30, "a first tick")
        first_tick = time.monotonic()
        time.sleep(6 * TICK_SECONDS)
        ticks = _ticks_by_origin(broker)
        elapsed = time.monotonic() - first_tick
        assert len(ticks) == 1, f"more than one beat ticked: {ticks}"
        # one tick per period (plus the one that started the window), never two per period
        assert sum(ticks.values()) <= elapsed / TICK_SECONDS + 2, ticks
        leader_origin = next(iter(ticks))
        leader = next(beat for beat in beats if f"gen{beat.pid}@" in leader_origin)
        standby = next(beat for beat in beats if beat is not leader)

        leader.send_signal(signal.SIGKILL)  # no clean stop: the lease must run out by itself
        leader.wait(timeout=10)
        killed_at = time.monotonic()
        broker.delete("default")
        took_over = _wait(
            lambda: any(f"gen{standby.pid}@" in origin for origin in _ticks_by_origin(broker)),
            takeover_bound_seconds(LEASE_SECONDS) + 10,
            "the standby's first tick",
        )
        assert took_over <= takeover_bound_seconds(LEASE_SECONDS) + 3
        time.sleep(4 * TICK_SECONDS)
        ticks = _ticks_by_origin(broker)
        assert list(ticks) == [o for o in ticks if f"gen{standby.pid}@" in o]
        # the standby sends its overdue tick once on taking over, then one per period
        assert sum(ticks.values()) <= (time.monotonic() - killed_at) / TICK_SECONDS + 2, ticks
        assert redis_client.get(LEASE_KEY).decode().split(":")[1] == str(standby.pid)
    finally:
        for beat in beats:
            if beat.poll() is None:
                beat.terminate()
                try:
                    beat.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    beat.kill()
                    beat.wait()
        broker.flushdb()
