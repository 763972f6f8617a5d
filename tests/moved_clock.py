"""The moments the date-sensitive tests are also run at, and the faketime offset to each.

``python -m tests.moved_clock NAME`` prints the libfaketime ``FAKETIME`` value (a relative
offset in seconds, so every process of the run, test and workers alike, shares one moved
clock) that puts "now" at the named moment:

- ``month-start``: the first minute of next month (UTC);
- ``month-end``: the last minute of this month (UTC), so the run crosses into a new month;
- ``leap-day``: 2028-02-29 12:00 UTC;
- ``dst-brussels``: 2027-03-28 01:30 UTC, the spring-forward night in Europe/Brussels.
"""

from __future__ import annotations

import datetime as dt
import sys
import time

MOMENTS = ("month-start", "month-end", "leap-day", "dst-brussels")


def moment(name: str, now: dt.datetime) -> dt.datetime:
    """The instant ``name`` stands for, seen from ``now`` (aware, UTC)."""
    first_of_next = (now.replace(day=1) + dt.timedelta(days=32)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    if name == "month-start":
        return first_of_next + dt.timedelta(seconds=5)
    if name == "month-end":
        return first_of_next - dt.timedelta(seconds=60)
    if name == "leap-day":
        return dt.datetime(2028, 2, 29, 12, 0, tzinfo=dt.UTC)
    if name == "dst-brussels":
        return dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC)
    raise ValueError(f"unknown moment {name!r}; use one of {', '.join(MOMENTS)}")


def faketime_offset(name: str) -> str:
    """``FAKETIME`` for libfaketime: ``+N`` / ``-N`` seconds from the real clock."""
    now = time.time()
    seconds = int(moment(name, dt.datetime.fromtimestamp(now, dt.UTC)).timestamp() - now)
    return f"{seconds:+d}"


if __name__ == "__main__":
    try:
        print(faketime_offset(sys.argv[1]))
    except (IndexError, ValueError) as exc:
        sys.exit(f"usage: python -m tests.moved_clock {{{'|'.join(MOMENTS)}}} ({exc})")
