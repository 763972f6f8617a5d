"""Beat that cannot run twice: a scheduler that ticks only while it holds the beat lease.

A standby beat on a second host, or a beat started by mistake, must never send the tick while
another one does: each beat process tries to take a lease before every scheduling step and sends
nothing without it. The lease is a Redis key with a time to live (``BEAT_LEASE_SECONDS``) that
the leader renews at every step, so a leader that is killed, frozen or cut off from Redis loses it
when the key expires and a standby takes over within ``BEAT_LEASE_SECONDS`` plus one poll (a
fraction of it). The lease is checked again right before each entry is published, so a leader
that lost it between two steps sends nothing more. On a single box (the embedded filesystem
broker) the lease is an exclusive lock on a file under ``DATA_DIR``, which the kernel releases
when the process dies.

The work itself stays safe even if two ticks did run (invariant `far-future-in-the-database`:
the tick finds due work in the database and claims it there); the lease keeps the tick rate
and the System page's "last tick" honest and spares the workers the doubled load.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import uuid
from pathlib import Path
from typing import IO, Any, Protocol

import redis
from celery.beat import PersistentScheduler, ScheduleEntry

from newsletter.config import Settings, get_settings

log = logging.getLogger(__name__)

LEASE_KEY = "newsletter:beat:lease"
REDIS_TIMEOUT_SECONDS = 5.0
MAX_POLL_SECONDS = 15.0

# Renew only a lease this process still owns: a leader that lost it must not extend another's.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class BeatLease(Protocol):
    """Who may tick: at most one holder at a time across every beat process."""

    def hold(self) -> bool:
        """Take the lease or renew it; True while this process holds it."""

    def release(self) -> None:
        """Give the lease up now (a clean stop hands over without waiting for expiry)."""


class RedisLease:
    """A Redis key set with NX and a TTL, renewed by its owner only."""

    def __init__(self, client: redis.Redis, ttl_seconds: float, owner: str) -> None:
        self.client = client
        self.ttl_ms = int(ttl_seconds * 1000)
        self.owner = owner
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def hold(self) -> bool:
        try:
            if self.client.set(LEASE_KEY, self.owner, nx=True, px=self.ttl_ms):
                return True
            return bool(self._renew(keys=[LEASE_KEY], args=[self.owner, self.ttl_ms]))
        except redis.RedisError as exc:
            # Without Redis nothing can be published anyway; never tick on a guess.
            log.warning("beat lease: Redis unreachable (%s)", type(exc).__name__)
            return False

    def holder(self) -> str | None:
        value = self.client.get(LEASE_KEY)
        return value.decode() if isinstance(value, bytes) else None

    def release(self) -> None:
        with contextlib.suppress(redis.RedisError):  # else it expires by itself
            self._release(keys=[LEASE_KEY], args=[self.owner])


class FileLease:
    """An exclusive ``flock`` on a file: one box, so the kernel is the arbiter."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def hold(self) -> bool:
        if self._file is not None:
            return True
        handle = self.path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def lease_owner() -> str:
    """This process's name in the lease: host, pid and a random part (no personal data)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def make_lease(settings: Settings) -> BeatLease:
    """Redis when the installation has it (several hosts), else the file lock (one box)."""
    url = settings.redis_url
    if url is None and settings.broker_url.startswith(("redis://", "rediss://")):
        url = settings.broker_url
    if url:
        client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        return RedisLease(client, settings.beat_lease_seconds, lease_owner())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return FileLease(settings.data_dir / "beat.lock")


def poll_seconds(lease_seconds: float) -> float:
    """How often a beat looks at the lease: well inside its TTL, so a leader renews in time."""
    return min(lease_seconds / 4, MAX_POLL_SECONDS)


def takeover_bound_seconds(lease_seconds: float) -> float:
    """The longest a standby waits after the leader died: the lease runs out, then one poll."""
    return lease_seconds + poll_seconds(lease_seconds)


class SingleBeatScheduler(PersistentScheduler):
    """Celery's persistent scheduler, stepping only while this process holds the beat lease."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = get_settings()
        self.lease = make_lease(settings)
        self.poll = poll_seconds(settings.beat_lease_seconds)
        self.leading = False
        super().__init__(*args, **kwargs)

    def _hold(self) -> bool:
        holds = self.lease.hold()
        if holds != self.leading:
            self.leading = holds
            log.info("beat: %s the lease", "took" if holds else "does not hold")
        return holds

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._hold():
            return self.poll
        return min(float(super().tick(*args, **kwargs)), self.poll)

    def apply_entry(self, entry: ScheduleEntry, producer: Any = None) -> None:
        # The lease may have run out between the step's check and now (a long pause).
        if not self.lease.hold():
            self.leading = False
            log.warning("beat: lost the lease before sending %s; not sent", entry.name)
            return
        super().apply_entry(entry, producer=producer)

    def close(self) -> None:
        super().close()
        self.lease.release()
