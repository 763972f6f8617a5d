"""The monthly digest at 09:00 in each reader's zone: one campaign, rows opening zone by zone.

Readers in Kinshasa (UTC+1), New York and Lima (UTC−5 in November): 09:00 on the 1st is
08:00 UTC for the first and 14:00 UTC for the other two. Real workers on a clock the test sets.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from newsletter.campaigns import service as campaigns
from newsletter.campaigns.models import Campaign, Delivery
from newsletter.content.digest import run_due_digest
from newsletter.content.service import publish_post
from tests.conftest import clock_offset_to, make_test_settings
from tests.content.helpers import press_release, seed_readers, stays

OCTOBER = dt.datetime(2026, 10, 14, 10, 0, tzinfo=dt.UTC)
READERS = {
    "kinshasa@example.org": "Africa/Kinshasa",
    "newyork@example.org": "America/New_York",
    "lima@example.org": "America/Lima",
}
KINSHASA_NINE = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
AMERICAS_NINE = dt.datetime(2026, 11, 1, 14, 0, tzinfo=dt.UTC)


def _seed(session) -> None:
    seed_readers(
        session,
        "monthly-digest",
        list(READERS),
        languages=("en",),
        timezones=list(READERS.values()),
    )
    for index in range(2):
        post = press_release(session)
        publish_post(post, at=OCTOBER + dt.timedelta(days=index), now=OCTOBER)


def test_each_readers_row_opens_at_nine_in_their_zone(db_session, tmp_path) -> None:
    settings = make_test_settings(tmp_path, digest_day=1, digest_hour=9, digest_local_time=True)
    _seed(db_session)
    # 09:00 on the 1st arrives first at UTC+14 (19:00 UTC the day before): the campaign is made.
    assert (
        run_due_digest(settings, db_session, dt.datetime(2026, 10, 31, 18, 59, tzinfo=dt.UTC)) == []
    )
    (campaign_id,) = run_due_digest(
        settings, db_session, dt.datetime(2026, 10, 31, 19, 0, tzinfo=dt.UTC)
    )
    assert db_session.get(Campaign, campaign_id).local_send_at == "2026-11-01T09:00"
    campaigns.start_campaign(db_session, campaign_id, OCTOBER.replace(month=10, day=31, hour=19),
                             settings=settings)  # fmt: skip
    rows = db_session.execute(
        select(Delivery.next_attempt_at).where(Delivery.campaign_id == campaign_id)
    ).scalars()
    assert sorted(rows) == [KINSHASA_NINE, AMERICAS_NINE, AMERICAS_NINE]


@pytest.mark.slow
def test_workers_send_the_local_time_digest_zone_by_zone(
    fleet_factory, committed_db, smtp_server
) -> None:
    options = {"digest_day": 1, "digest_hour": 9, "digest_local_time": True}
    with committed_db.begin() as session:
        _seed(session)
    fleet = fleet_factory(
        workers=1, clock_offset_seconds=clock_offset_to(KINSHASA_NINE + dt.timedelta(seconds=5)),
        **options,
    )  # fmt: skip
    (campaign_id,) = fleet.app.send_task("newsletter.content_tick").get(timeout=20)
    fleet.app.send_task("newsletter.start_campaign", args=[campaign_id]).get(timeout=20)
    (first,) = smtp_server.wait_for(1, timeout=20)
    assert first.rcpt_tos == ("kinshasa@example.org",)
    fleet.app.send_task("newsletter.tick").get(timeout=20)
    assert stays(lambda: len(smtp_server.messages) == 1, 1.0)
    fleet.stop()
    fleet = fleet_factory(
        workers=1, clock_offset_seconds=clock_offset_to(AMERICAS_NINE + dt.timedelta(seconds=5)),
        **options,
    )  # fmt: skip
    fleet.app.send_task("newsletter.tick").get(timeout=20)
    later = smtp_server.wait_for(3, timeout=20)[1:]
    assert sorted(m.rcpt_tos[0] for m in later) == ["lima@example.org", "newyork@example.org"]
    assert stays(lambda: len(smtp_server.messages) == 3, 1.0)
