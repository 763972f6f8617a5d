"""The one clock of the service: every "now" the code reads comes from here.

Why not ``datetime.now()`` at each call site: tests and demos must be able to move time for
every process of a run at once (web, Celery workers, beat), so that "the digest of last month"
or "the reminder one hour before the event" can be exercised on any day the suite runs. A
process's composition root (web app factory, Celery app, CLI) calls :func:`configure` with
its settings; ``CLOCK_OFFSET_SECONDS`` then shifts this process's clock by that many seconds.
Production refuses a non-zero offset (``config.py``), so real mail always runs on real time.

Operating-system level moves (libfaketime, used by the moved-clock test run) shift
``time.time()`` underneath, and this clock follows them as well.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol


class _HasClockOffset(Protocol):
    clock_offset_seconds: float


_offset_seconds = 0.0


def configure(settings: _HasClockOffset) -> None:
    """Adopt the settings' clock offset for this whole process."""
    set_offset(settings.clock_offset_seconds)


def set_offset(seconds: float) -> None:
    """Shift this process's clock (tests and demos; production never sets one)."""
    global _offset_seconds
    _offset_seconds = float(seconds)


def offset() -> float:
    """The current shift in seconds (0 on real time)."""
    return _offset_seconds


def timestamp() -> float:
    """Seconds since the epoch, like ``time.time()``, on the service's clock."""
    return time.time() + _offset_seconds


def now() -> dt.datetime:
    """The current time, aware, in UTC, on the service's clock."""
    return dt.datetime.fromtimestamp(timestamp(), dt.UTC)
