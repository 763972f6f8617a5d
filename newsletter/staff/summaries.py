"""The dashboard's and the lists page's figures, from a summary refreshed in the background.

Counting a million subscribers and three million deliveries takes seconds; a page that does it
on every view grows with the list. Beat's ``refresh-summaries`` entry recomputes the figures
every ``SUMMARY_REFRESH_SECONDS`` (5 minutes by default) into one ``report_summaries`` row, and
the pages read that row (a primary-key read) and say how old it is. The first view of a fresh
installation, with no row yet, computes it on the spot.

What stays live: the list of recent campaigns (ten rows); their rates come from the summary
when it has them and are computed on the spot for a campaign newer than the summary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from babel.dates import format_date
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.bounces.visibility import CampaignRates, campaigns_rates
from newsletter.campaigns.models import Campaign
from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.staff import reports
from newsletter.staff.summary_model import ReportSummary
from newsletter.subscribers.models import MailingList, Subscription, SubscriptionStatus

DASHBOARD = "dashboard"
RECENT_CAMPAIGNS = 10


@dataclass(frozen=True)
class Summary:
    computed_at: dt.datetime
    seconds: float
    over_time: list[reports.Point]
    by_status: dict[str, int]
    by_list: list[tuple[int, str, int]]  # list id, language, active subscribers
    list_totals: dict[int, int]  # active subscriptions per list
    rates: dict[int, CampaignRates]

    def age_seconds(self, now: dt.datetime | None = None) -> float:
        return max(0.0, ((now or utcnow()) - self.computed_at).total_seconds())


def compute(db: Session, settings: Settings, now: dt.datetime | None = None) -> dict[str, Any]:
    """Every figure, as JSON-ready values (the slow part: whole-table counts)."""
    now = now or utcnow()
    list_totals = db.execute(
        select(Subscription.list_id, func.count())
        .where(Subscription.status == SubscriptionStatus.ACTIVE)
        .group_by(Subscription.list_id)
    ).all()
    recent = db.scalars(
        select(Campaign.id).order_by(Campaign.id.desc()).limit(RECENT_CAMPAIGNS)
    ).all()
    rates = campaigns_rates(db, list(recent), settings)
    over_time = reports.active_subscribers_over_time(db, now=now)
    weeks = len(over_time)
    days = [
        (now - dt.timedelta(weeks=back)).date().isoformat() for back in range(weeks - 1, -1, -1)
    ]
    return {
        # The day of each bar, not its label: the page names the month in the reader's language.
        "over_time": [[day, point.value] for day, point in zip(days, over_time, strict=True)],
        "by_status": reports.subscribers_by_status(db),
        "by_list": [
            [mlist.id, language, count]
            for mlist, language, count in reports.active_by_list_and_language(db)
        ],
        "list_totals": [[int(list_id), int(count)] for list_id, count in list_totals],
        "rates": [dataclasses.asdict(rate) for rate in rates.values()],
    }


def refresh(db: Session, settings: Settings, now: dt.datetime | None = None) -> Summary:
    """Recompute and store the summary (beat, every SUMMARY_REFRESH_SECONDS)."""
    now = now or utcnow()
    started = time.perf_counter()
    payload = compute(db, settings, now)
    row = db.get(ReportSummary, DASHBOARD)
    if row is None:
        row = ReportSummary(name=DASHBOARD)
        db.add(row)
    row.computed_at = now
    row.seconds = round(time.perf_counter() - started, 3)
    row.payload = payload
    db.flush()
    return _parse(row)


def _parse(row: ReportSummary) -> Summary:
    payload = row.payload
    return Summary(
        computed_at=row.computed_at,
        seconds=row.seconds,
        over_time=[reports.Point(label, int(value)) for label, value in payload["over_time"]],
        by_status={str(k): int(v) for k, v in payload["by_status"].items()},
        by_list=[(int(i), str(lang), int(n)) for i, lang, n in payload["by_list"]],
        list_totals={int(i): int(n) for i, n in payload["list_totals"]},
        rates={int(r["campaign_id"]): CampaignRates(**r) for r in payload["rates"]},
    )


def current(db: Session, settings: Settings) -> Summary:
    """The stored summary; computed now only when none was ever stored."""
    row = db.get(ReportSummary, DASHBOARD)
    return _parse(row) if row is not None else refresh(db, settings)


def recent_campaigns(
    db: Session, settings: Settings, summary: Summary
) -> list[tuple[Campaign, CampaignRates]]:
    """The latest campaigns (live) with the summary's rates; newer ones computed now."""
    campaigns = db.scalars(
        select(Campaign).order_by(Campaign.id.desc()).limit(RECENT_CAMPAIGNS)
    ).all()
    missing = [c.id for c in campaigns if c.id not in summary.rates]
    rates = dict(summary.rates) | (campaigns_rates(db, missing, settings) if missing else {})
    return [(c, rates[c.id]) for c in campaigns]


def refresh_minutes(settings: Settings) -> int:
    """The refresh period as staff read it on the page."""
    return max(1, round(settings.summary_refresh_seconds / 60))


def lists_by_id(db: Session) -> dict[int, MailingList]:
    return {m.id: m for m in db.scalars(select(MailingList))}


def chart_points(summary: Summary, language: str) -> list[reports.Point]:
    """The weekly bars labelled with day and month in ``language`` (stored as ISO days)."""
    points = []
    for point in summary.over_time:
        try:
            day: dt.date | str = dt.date.fromisoformat(point.label)
        except ValueError:  # a summary stored before days replaced labels
            day = point.label
        label = format_date(day, "d MMM", locale=language) if isinstance(day, dt.date) else day
        points.append(reports.Point(label, point.value))
    return points
