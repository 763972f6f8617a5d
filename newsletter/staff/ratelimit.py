"""Fixed-window counters for sign-in throttling: Redis when configured, else in memory.

Redis shares the counts between web processes and machines. The embedded install (one web
process, no Redis) counts in memory: a restart forgets the counts, which only gives an
attacker a few more guesses per restart, while the account lock-out itself is durable (it
lives on the staff row). A Redis outage falls back to memory rather than locking staff out.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import redis

log = logging.getLogger(__name__)


class RateLimiter(Protocol):
    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        """Count one event; False once ``limit`` events happened in the current window."""

    def reset(self, key: str) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        window = int(time.time()) // window_seconds
        with self._lock:
            if len(self._counts) > 100_000:  # bounded memory under a spray of addresses
                self._counts.clear()
            start, count = self._counts.get(key, (window, 0))
            count = count + 1 if start == window else 1
            self._counts[key] = (window, count)
        return count <= limit

    def reset(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, prefix: str = "nl:rl:") -> None:
        self._client = client
        self._prefix = prefix
        self._fallback = MemoryRateLimiter()

    def hit(self, key: str, limit: int, window_seconds: int) -> bool:
        window = int(time.time()) // window_seconds
        name = f"{self._prefix}{key}:{window}"
        try:
            pipe = self._client.pipeline()
            pipe.incr(name)
            pipe.expire(name, window_seconds + 5)
            count = int(pipe.execute()[0])
        except redis.RedisError:
            log.warning("rate limiter: Redis unreachable, counting in memory")
            return self._fallback.hit(key, limit, window_seconds)
        return count <= limit

    def reset(self, key: str) -> None:
        try:
            keys = list(self._client.scan_iter(f"{self._prefix}{key}:*", count=100))
            if keys:
                self._client.delete(*keys)
        except redis.RedisError:
            self._fallback.reset(key)


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    if redis_url:
        return RedisRateLimiter(redis.Redis.from_url(redis_url, socket_timeout=2))
    return MemoryRateLimiter()
