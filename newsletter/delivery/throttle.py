"""Rate limits shared by every worker: token buckets in Redis, one Lua call per message.

Why Redis and not a per-process limit: the provider's quota is per account, and workers run in
several processes on several machines. Each bucket holds at most ``capacity`` tokens and refills
at ``rate`` tokens per second; a message takes one token from every bucket that applies to it
(the relay's per-second bucket, its per-hour bucket, and its bucket for the recipient's
domain when a per-domain limit is set), or from none: the Lua script checks and takes
atomically, using Redis' clock so machines with skewed clocks agree.

Without ``REDIS_URL`` (the one-box default) the same buckets live in the process: exact for a
single worker process, a per-process limit otherwise (documented in docs/operators.md).

When Redis is configured but does not answer (restarting, unreachable), the throttle falls back to
the in-process buckets for a few seconds at a time instead of raising: a rate-limit store must
never stop a batch mid-chunk, because messages already sent in that chunk would then be handed
back unrecorded and sent twice (invariant `claim-and-record`). The quota is briefly per process
instead of shared.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 5.0
REDIS_RETRY_SECONDS = 5.0  # while Redis is down, how long to use local buckets before asking again
REDIS_TIMEOUT_SECONDS = 2.0

# KEYS: bucket keys; ARGV: capacity_1, rate_1, capacity_2, rate_2, ...
# Returns 0 when a token was taken from every bucket, else the seconds to wait (as a string).
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local levels = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i])
  local stored = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(stored[1]) or capacity
  local at = tonumber(stored[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
  levels[i] = tokens
  if tokens < 1 then
    wait = math.max(wait, (1 - tokens) / rate)
  end
end
if wait > 0 then
  return tostring(wait)
end
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i])
  redis.call('HSET', key, 'tokens', levels[i] - 1, 'at', now)
  redis.call('EXPIRE', key, math.ceil(capacity / rate) + 60)
end
return 0
"""


@dataclass(frozen=True)
class Bucket:
    """One limit: ``key`` names it across workers; refills ``rate``/s up to ``capacity``."""

    key: str
    capacity: float
    rate: float


@dataclass(frozen=True)
class Limits:
    """The limits of one relay; 0 means "no limit"."""

    per_second: float = 0.0
    per_hour: float = 0.0
    per_domain_per_second: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.per_second or self.per_hour or self.per_domain_per_second)

    def buckets(self, relay: str, domain: str) -> list[Bucket]:
        found = []
        if self.per_second:
            found.append(Bucket(f"throttle:{relay}:s", max(self.per_second, 1), self.per_second))
        if self.per_hour:
            found.append(Bucket(f"throttle:{relay}:h", self.per_hour, self.per_hour / 3600))
        if self.per_domain_per_second:
            rate = self.per_domain_per_second
            found.append(Bucket(f"throttle:{relay}:d:{domain}", max(rate, 1), rate))
        return found


class RedisBuckets:
    """Token buckets in Redis, shared by every worker using the same ``REDIS_URL``."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.script = client.register_script(_TAKE)

    def take(self, buckets: Sequence[Bucket]) -> float:
        """Take one token from each bucket and return 0, or return the seconds to wait."""
        args: list[float] = []
        for bucket in buckets:
            args += [bucket.capacity, bucket.rate]
        return float(self.script(keys=[b.key for b in buckets], args=args))


class LocalBuckets:
    """The same buckets in this process (no Redis configured)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.state: dict[str, tuple[float, float]] = {}

    def take(self, buckets: Sequence[Bucket]) -> float:
        with self.lock:
            now = self.clock()
            levels = []
            for bucket in buckets:
                tokens, at = self.state.get(bucket.key, (bucket.capacity, now))
                levels.append(min(bucket.capacity, tokens + max(0.0, now - at) * bucket.rate))
            wait = max(
                ((1 - level) / bucket.rate for level, bucket in zip(levels, buckets, strict=True)
                 if level < 1),
                default=0.0,
            )  # fmt: skip
            if wait == 0.0:
                for level, bucket in zip(levels, buckets, strict=True):
                    self.state[bucket.key] = (level - 1, now)
            return wait


class Throttle:
    """Blocks until one more message may go to ``domain`` through ``relay``."""

    def __init__(
        self, store: RedisBuckets | LocalBuckets, sleep: Callable[[float], None] = time.sleep
    ):
        self.store = store
        self.sleep = sleep
        self.waited = 0.0
        self.fallback = store if isinstance(store, LocalBuckets) else LocalBuckets()
        self.shared_again_at = 0.0  # while Redis is down: when to try it again

    def _take(self, buckets: Sequence[Bucket]) -> float:
        if self.store is not self.fallback and time.monotonic() >= self.shared_again_at:
            try:
                return self.store.take(buckets)
            except redis.RedisError as exc:
                self.shared_again_at = time.monotonic() + REDIS_RETRY_SECONDS
                log.warning("rate limits: Redis unreachable (%s); per-process limits for now",
                            type(exc).__name__)  # fmt: skip
        return self.fallback.take(buckets)

    def acquire(self, relay: str, limits: Limits, domain: str) -> None:
        buckets = limits.buckets(relay, domain)
        if not buckets:
            return
        while True:
            wait = self._take(buckets)
            if wait <= 0:
                return
            wait = min(wait, MAX_WAIT_SECONDS)
            self.waited += wait
            self.sleep(wait)


@functools.cache
def make_throttle(redis_url: str | None) -> Throttle:
    """Shared buckets when Redis is configured, else per-process ones (one per process)."""
    if redis_url:
        client = redis.Redis.from_url(
            redis_url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        return Throttle(RedisBuckets(client))
    return Throttle(LocalBuckets())
