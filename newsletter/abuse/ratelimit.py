"""Counting attempts per key in fixed windows: Redis when configured, else process memory.

Subscription bombing (a bot signing a victim up to thousands of lists, or one address up
thousands of times) is the attack every public sign-up form meets first. Limits are kept in
Redis so every web process and machine shares them. The embedded default (one box, one web
process, no Redis) keeps them in a thread-safe dictionary of this process instead: the same
rules, only not shared between processes, which that set-up does not have.

If Redis is configured but unreachable, the limiter falls back to memory for that call
(logged) rather than refusing every supporter or letting every bot through.

Keys are built by the caller from an IP or an address *hash*, never a clear address.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis

from newsletter.config import Settings

log = logging.getLogger(__name__)
_PREFIX = "nl:rl:"


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        """Count one attempt for ``key``; ``allowed`` is False beyond ``limit`` per window."""
        ...


def _verdict(count: int, limit: int, ttl: int) -> Verdict:
    return Verdict(allowed=limit <= 0 or count <= limit, count=count, retry_after=max(ttl, 1))


class MemoryRateLimiter:
    """Fixed windows in this process's memory (the embedded default's fallback)."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        now = time.monotonic()
        with self._lock:
            if len(self._counts) >= self._max_keys:
                self._evict(now)
            resets_at, count = self._counts.get(key, (now + window_seconds, 0))
            if resets_at <= now:
                resets_at, count = now + window_seconds, 0
            count += 1
            self._counts[key] = (resets_at, count)
        return _verdict(count, limit, int(resets_at - now))

    def _evict(self, now: float) -> None:
        for key in [k for k, (resets_at, _c) in self._counts.items() if resets_at <= now]:
            del self._counts[key]
        if len(self._counts) >= self._max_keys:  # under attack: forget the oldest half
            for key in list(self._counts)[: self._max_keys // 2]:
                del self._counts[key]


class RedisRateLimiter:
    """Fixed windows in Redis: INCR, and EXPIRE on the first hit, in one round trip."""

    def __init__(self, client: redis.Redis, fallback: MemoryRateLimiter | None = None) -> None:
        self.client = client
        self.fallback = fallback or MemoryRateLimiter()

    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        name = _PREFIX + key
        try:
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(name)
            pipe.expire(name, window_seconds, nx=True)
            pipe.ttl(name)
            count, _set, ttl = pipe.execute()
        except redis.RedisError as exc:
            log.warning("rate limiter: Redis unavailable (%s); memory fallback", type(exc).__name__)
            return self.fallback.hit(key, limit, window_seconds)
        return _verdict(int(count), limit, int(ttl) if ttl and ttl > 0 else window_seconds)


def make_rate_limiter(settings: Settings) -> RateLimiter:
    """Redis when ``REDIS_URL`` is set, else memory (one process: the embedded default)."""
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        return RedisRateLimiter(client)
    return MemoryRateLimiter()


HOUR = 3600
DAY = 24 * 3600
