"""Content that mails itself, end to end: real Celery workers, Redis, PostgreSQL, SMTP server.

Alerts and digests are started the way the shells start them: the domain function runs in a
committed transaction, then ``newsletter.start_campaign`` (the sending engine's task) is sent.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from email.utils import format_datetime

import pytest
from sqlalchemy import func, select

from newsletter.campaigns.models import Campaign, CampaignKind, CampaignStatus
from newsletter.content.alerts import publish_with_alert
from newsletter.content.models import Post
from newsletter.content.service import publish_post
from newsletter.db import utcnow
from tests.conftest import clock_offset_to
from tests.content.feed_server import FeedServer
from tests.content.helpers import (
    EN,
    city_hour,
    local_span,
    press_release,
    seed_readers,
    stays,
    webinar,
    webinar_start,
)

pytestmark = [pytest.mark.slow, pytest.mark.date_sensitive]
OCTOBER = dt.datetime(2026, 10, 14, 10, 0, tzinfo=dt.UTC)
# The digest tests run their workers on a clock set to just after October's digest falls due,
# whatever day the suite runs on (the setting moves the worker processes' clock too).
OCTOBER_DIGEST_DUE = dt.datetime(2026, 11, 1, 0, 30, tzinfo=dt.UTC)


def _subjects(messages) -> dict[str, str]:
    return {m.rcpt_tos[0]: str(m.message["Subject"]) for m in messages}


def _text(message) -> str:
    return message.message.get_body(("plain",)).get_content()


def _campaigns(factory, kind: CampaignKind) -> list[Campaign]:
    with factory() as session:
        return list(session.scalars(select(Campaign).where(Campaign.kind == kind)))


def test_publishing_a_press_release_alerts_both_languages_within_seconds(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(workers=1, event_city_line="America/New_York=New York,Europe/London")
    readers = [f"reader{i}@example.org" for i in range(4)]
    with committed_db.begin() as session:
        seed_readers(session, "press-releases", readers)
        seed_readers(
            session, "events", ["london@example.org", "newyork@example.org"],
            languages=("en",), timezones=("Europe/London", "America/New_York"),
        )  # fmt: skip
        post_id = press_release(session).id
    started = time.monotonic()
    with committed_db.begin() as session:
        campaign_ids = publish_with_alert(
            fleet.settings, session, session.get(Post, post_id), utcnow()
        )
    for campaign_id in campaign_ids:
        fleet.app.send_task("newsletter.start_campaign", args=[campaign_id])
    received = smtp_server.wait_for(4, timeout=20)
    latency = time.monotonic() - started
    print(f"\nalert: publish -> 4 messages at the SMTP server in {latency:.2f} s")
    assert latency < 10
    subjects = _subjects(received)
    assert subjects["reader0@example.org"] == f"Press release: {EN.title}"
    assert (
        subjects["reader1@example.org"]
        == "Communiqué de presse\u00a0: La coalition demande une définition élargie"
    )
    assert "london@example.org" not in subjects
    french = next(m for m in received if m.rcpt_tos[0] == "reader1@example.org")
    assert "La coalition appelle les participants" in _text(french)
    assert "Se désabonner" in _text(french)
    # Publishing again, and the beat's tick, never send a second alert.
    with committed_db.begin() as session:
        again = publish_with_alert(fleet.settings, session, session.get(Post, post_id), utcnow())
    assert again == []
    assert fleet.app.send_task("newsletter.content_tick").get(timeout=20) == []
    assert stays(lambda: len(smtp_server.messages) == 4, 1.0)
    assert len(_campaigns(committed_db, CampaignKind.ALERT)) == 1

    # An event invitation: one instant, each reader's own time (London 16:00, New York's hour).
    start = webinar_start()
    with committed_db.begin() as session:
        ids = publish_with_alert(fleet.settings, session, webinar(session, start), utcnow())
    fleet.app.send_task("newsletter.start_campaign", args=ids)
    received = {m.rcpt_tos[0]: _text(m) for m in smtp_server.wait_for(6, timeout=20)[4:]}
    london = local_span(start, "Europe/London")
    assert f"{london} (London time)" in received["london@example.org"]
    assert (
        f"{local_span(start, 'America/New_York')} (New York time)"
        in received["newyork@example.org"]
    )
    for text in received.values():
        assert f"{city_hour(start, 'America/New_York')} New York | 16:00 London" in text
        assert "/archive/posts/" in text and ".ics" in text


def test_embargoed_release_goes_only_after_its_embargo(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(workers=1)
    with committed_db.begin() as session:
        seed_readers(session, "press-releases", ["a@example.org", "b@example.org"])
        post = press_release(session)
        embargo = utcnow() + dt.timedelta(seconds=2)
        assert (
            publish_with_alert(fleet.settings, session, post, utcnow(), embargo_until=embargo) == []
        )
    assert fleet.app.send_task("newsletter.content_tick").get(timeout=20) == []
    assert stays(lambda: not smtp_server.messages, 0.5)
    while utcnow() < embargo:
        time.sleep(0.1)
    (campaign_id,) = fleet.app.send_task("newsletter.content_tick").get(timeout=20)
    received = smtp_server.wait_for(2, timeout=20)
    assert sorted(m.rcpt_tos[0] for m in received) == ["a@example.org", "b@example.org"]
    assert fleet.app.send_task("newsletter.content_tick").get(timeout=20) == []
    assert stays(lambda: len(smtp_server.messages) == 2, 1.0)
    with committed_db() as session:
        assert session.get(Campaign, campaign_id).idempotency_key.startswith("alert:press_release:")


def _october_posts(session, count: int = 3) -> None:
    for index in range(count):
        post = press_release(session)
        publish_post(post, at=OCTOBER + dt.timedelta(days=index), now=OCTOBER)


def test_digest_for_a_month_arrives_once_even_when_the_job_runs_twice(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(
        workers=1, digest_day=1, digest_hour=0,
        clock_offset_seconds=clock_offset_to(OCTOBER_DIGEST_DUE),
    )  # fmt: skip
    with committed_db.begin() as session:
        seed_readers(session, "monthly-digest", ["d1@example.org", "d2@example.org"])
        _october_posts(session)
    first = fleet.app.send_task("newsletter.content_tick")
    second = fleet.app.send_task("newsletter.content_tick")
    started = first.get(timeout=20) + second.get(timeout=20)
    assert len(started) == 1
    received = smtp_server.wait_for(2, timeout=20)
    assert stays(lambda: len(smtp_server.messages) == 2, 1.0)
    assert Counter(m.rcpt_tos[0] for m in received) == {"d1@example.org": 1, "d2@example.org": 1}
    subjects = _subjects(received)
    assert subjects["d1@example.org"] == "Coalition Newsletter: the month in review, October 2026"
    assert subjects["d2@example.org"].endswith("le mois en bref, octobre 2026")
    (digest,) = _campaigns(committed_db, CampaignKind.DIGEST)
    assert digest.idempotency_key == "digest:2026-10"


def test_empty_month_sends_nothing_and_a_held_digest_waits_for_staff(
    fleet_factory, committed_db, smtp_server
) -> None:
    fleet = fleet_factory(
        workers=1, digest_day=1, digest_hour=0, digest_hold_for_approval=True,
        clock_offset_seconds=clock_offset_to(OCTOBER_DIGEST_DUE),
    )  # fmt: skip
    with committed_db.begin() as session:
        seed_readers(session, "monthly-digest", ["d1@example.org"])
        draft = press_release(session)  # written in October but never published
        draft.created_at = OCTOBER
    assert fleet.app.send_task("newsletter.content_tick").get(timeout=20) == []
    assert _campaigns(committed_db, CampaignKind.DIGEST) == []
    with committed_db.begin() as session:
        _october_posts(session, 1)
    assert fleet.app.send_task("newsletter.content_tick").get(timeout=20) == []
    (held,) = _campaigns(committed_db, CampaignKind.DIGEST)
    assert held.status == CampaignStatus.DRAFT and held.status_reason == "held for approval"
    assert stays(lambda: not smtp_server.messages, 0.5)
    fleet.app.send_task("newsletter.start_campaign", args=[held.id])  # staff approve
    (message,) = smtp_server.wait_for(1, timeout=20)
    assert EN.title in _text(message) and EN.summary in _text(message)
    with committed_db() as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1


def test_feed_items_become_posts_once_and_a_broken_feed_never_stops_the_beat(
    fleet_factory, committed_db, smtp_server, tmp_path
) -> None:
    yesterday = utcnow() - dt.timedelta(hours=20)
    item = FEED_ITEM.format(date=format_datetime(yesterday, usegmt=True))
    with FeedServer(FEED.format(items=item).encode()) as server:
        fleet = fleet_factory(
            workers=1, feed_publish=True, feed_urls=f"{server.url('/broken.xml')},{server.url()}"
        )
        with committed_db.begin() as session:
            seed_readers(session, "press-releases", ["feed-reader@example.org"], languages=("fr",))
        assert fleet.app.send_task("newsletter.poll_feeds").get(timeout=20) == 1
        (message,) = smtp_server.wait_for(1, timeout=20)  # a fresh press release alerts
        assert "Réforme : la coalition répond" in str(message.message["Subject"])
        assert fleet.app.send_task("newsletter.poll_feeds").get(timeout=20) == 0  # not due yet
        assert "feed source 1 failed (1 in a row" in fleet.logs()
    with committed_db() as session:
        (post,) = session.scalars(select(Post)).all()
        assert post.source_guid == "site-201" and post.published_at is not None
    assert stays(lambda: len(smtp_server.messages) == 1, 0.5)


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Site</title><language>fr</language>{items}</channel></rss>"""
FEED_ITEM = """<item><title>Réforme : la coalition répond</title><guid>site-201</guid>
<link>https://coalition.example.org/fr/reforme</link><category>Press release</category>
<pubDate>{date}</pubDate><description>Un résumé.</description></item>"""
