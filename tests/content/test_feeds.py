"""Feed ingestion: items become posts once; slow or broken feeds are logged and retried later."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.content import feeds
from newsletter.content.models import FeedSource, Post, PostKind
from newsletter.content.service import is_public
from tests.conftest import make_test_settings
from tests.content.feed_server import FeedServer

NOW = dt.datetime(2026, 10, 21, 12, 0, tzinfo=dt.UTC)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Coalition website</title><language>fr-FR</language>
<link>https://coalition.example.org/</link>
<item><title>La coalition demande une définition élargie</title>
  <link>https://coalition.example.org/fr/2026/10/definition</link>
  <guid isPermaLink="false">site-post-101</guid>
  <category>Press Release</category>
  <pubDate>Tue, 20 Oct 2026 09:00:00 GMT</pubDate>
  <description>&lt;p&gt;Résumé &lt;script&gt;alert(1)&lt;/script&gt;court.&lt;/p&gt;</description>
</item>
<item><title>Webinaire sur les communautés minières</title>
  <link>https://coalition.example.org/fr/2026/10/webinaire</link>
  <guid isPermaLink="false">site-post-102</guid>
  <category>Webinar</category>
  <pubDate>Mon, 19 Oct 2026 09:00:00 GMT</pubDate>
  <description>Inscrivez-vous.</description>
</item>
<item><title>Nouvelles du réseau</title>
  <link>https://coalition.example.org/fr/2026/10/reseau</link>
  <pubDate>Sun, 18 Oct 2026 09:00:00 GMT</pubDate>
  <description>Quelques nouvelles.</description>
</item>
</channel></rss>
"""


def _poll(settings, session: Session, now: dt.datetime = NOW) -> list[Post]:
    created = []
    for source_id in feeds.due_sources(settings, session, now):
        created += feeds.poll_source(settings, session, source_id, now)
    session.flush()
    return created


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Post))


def test_local_feed_file_creates_each_item_once(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_text(RSS, encoding="utf-8")
    settings = make_test_settings(tmp_path, feed_urls=str(path))
    created = _poll(settings, db_session)
    assert sorted(str(p.kind) for p in created) == ["event", "news", "press_release"]
    release = next(p for p in created if p.kind == PostKind.PRESS_RELEASE)
    (translation,) = release.translations
    assert translation.language == "fr"  # the feed's declared language
    assert translation.summary == "Résumé court."  # sanitised: no script
    assert release.source_guid == "site-post-101" and release.published_at is None  # draft
    later = NOW + dt.timedelta(hours=1)
    path.write_text(RSS.replace("Tue, 20 Oct", "Wed, 21 Oct"), encoding="utf-8")  # re-dated
    assert _poll(settings, db_session, later) == []
    assert _poll(settings, db_session, later + dt.timedelta(days=1)) == []
    assert _count(db_session) == 3


def test_loopback_feed_published_by_setting_and_fetched_conditionally(
    db_session: Session, tmp_path: Path
) -> None:
    with FeedServer(RSS.encode()) as server:
        settings = make_test_settings(
            tmp_path, feed_urls=server.url(), feed_publish=True, feed_poll_minutes=5
        )
        created = _poll(settings, db_session)
        assert len(created) == 3
        release = next(p for p in created if p.kind == PostKind.PRESS_RELEASE)
        assert release.published_at == dt.datetime(2026, 10, 20, 9, 0, tzinfo=dt.UTC)
        assert is_public(release, NOW)
        event = next(p for p in created if p.kind == PostKind.EVENT)
        assert event.published_at is None  # an event needs its time from staff first
        assert _poll(settings, db_session, NOW + dt.timedelta(minutes=1)) == []  # not due yet
        assert _poll(settings, db_session, NOW + dt.timedelta(minutes=6)) == []
        assert server.requests[-1][1] is not None  # sent If-None-Match, got 304
        assert len(server.requests) == 2
    assert _count(db_session) == 3


def test_slow_feed_times_out_is_logged_and_retried_with_backoff(
    db_session: Session, tmp_path: Path, caplog
) -> None:
    with FeedServer(RSS.encode(), slow_seconds=3.0) as server:
        settings = make_test_settings(tmp_path, feed_urls=server.url("/slow.xml"), feed_timeout=0.5)
        started = time.monotonic()
        assert _poll(settings, db_session) == []
        assert time.monotonic() - started < 2.5
    source = db_session.scalar(select(FeedSource))
    assert source.failures == 1
    assert "slow" in source.last_error or "timed out" in source.last_error
    assert source.next_poll_at == NOW + dt.timedelta(minutes=2)
    assert f"feed source {source.id} failed" in caplog.text
    assert _poll(settings, db_session, NOW + dt.timedelta(minutes=1)) == []  # backing off
    assert source.failures == 1


def test_broken_feeds_never_raise_and_do_not_stop_a_good_one(
    db_session: Session, tmp_path: Path
) -> None:
    with FeedServer(RSS.encode()) as server:
        urls = [server.url("/broken.xml"), server.url("/garbage.xml"), "http://127.0.0.1:9/x.xml",
                str(tmp_path / "missing.xml"), server.url()]  # fmt: skip
        settings = make_test_settings(tmp_path, feed_urls=",".join(urls))
        assert len(_poll(settings, db_session)) == 3
    sources = {s.url: s for s in db_session.scalars(select(FeedSource))}
    assert sources[urls[0]].last_error == "HTTP 500"
    assert "not a feed" in sources[urls[1]].last_error
    assert all(sources[url].failures == 1 for url in urls[:4])
    assert sources[urls[4]].failures == 0
    # the next failures back off further (2, 4, 8 minutes ...)
    assert _poll(settings, db_session, NOW + dt.timedelta(minutes=3)) == []
    assert sources[urls[0]].failures == 2
    assert sources[urls[0]].next_poll_at == NOW + dt.timedelta(minutes=3 + 4)
