"""The event beat: plan the reminders whose instant came, then send what is queued.

A thin composition of :mod:`reminders` (which rows must exist) and :mod:`delivery` (claim and
send each row once); the Celery task ``newsletter.event_tick`` calls it every minute.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import unit_of_work
from newsletter.registrations.delivery import DeliveryReport, deliver_due
from newsletter.registrations.reminders import plan_reminders


def event_tick(
    settings: Settings, factory: sessionmaker[Session], clock: Callable[[], dt.datetime]
) -> DeliveryReport:
    with unit_of_work(factory) as session:
        plan_reminders(session, clock())
    return deliver_due(settings, factory, clock)
