"""Website feed ingestion: the coalition's RSS/Atom items become posts, each exactly once.

Why the care: the feed is someone else's server. It may be slow, broken or gone, and the
beat that polls it also releases embargoed alerts, so a feed problem must only ever delay
*that feed*: every fetch has a total deadline and a size cap, every failure is logged with
the source id and pushes that source's next poll back (doubling, capped), and nothing is
raised to the caller. Items are recognised by GUID (else link), so a re-poll, a feed that
re-orders or re-dates its items, or two pollers racing never create a second post.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import feedparser
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.content.models import FeedSource, Post, PostKind
from newsletter.content.service import TranslationInput, create_post, publish_post
from newsletter.rendering.markdown import html_to_text, sanitize_html

log = logging.getLogger(__name__)
MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_BACKOFF = dt.timedelta(hours=6)
USER_AGENT = "coalition-newsletter-feed/1.0"


class FeedError(Exception):
    """The feed could not be fetched or parsed; ``str()`` says why (for the log)."""


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since the last poll
    etag: str | None
    modified: str | None


def fetch(
    url: str, timeout: float, etag: str | None = None, modified: str | None = None
) -> Fetched:
    """GET the feed with conditional headers, within ``timeout`` seconds *in total*."""
    if "://" not in url:
        return Fetched(Path(url).read_bytes()[:MAX_FEED_BYTES], None, None)
    if not url.startswith(("http://", "https://", "file://")):
        raise FeedError("only http(s) and file feeds are polled")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310
    if etag:
        request.add_header("If-None-Match", etag)
    if modified:
        request.add_header("If-Modified-Since", modified)
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            chunks, size = [], 0
            while chunk := response.read(65536):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_FEED_BYTES:
                    raise FeedError(f"feed larger than {MAX_FEED_BYTES} bytes")
                if time.monotonic() > deadline:
                    raise FeedError(f"feed slower than {timeout:g} s")
            headers = response.headers
            return Fetched(b"".join(chunks), headers.get("ETag"), headers.get("Last-Modified"))
    except HTTPError as exc:
        if exc.code == 304:
            return Fetched(None, etag, modified)
        raise FeedError(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, resets are OSErrors
        raise FeedError(f"{type(exc).__name__}: {exc}") from None


def _entry_time(entry: Any) -> dt.datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC) if parsed else None


def _kind(settings: Settings, entry: Any) -> PostKind:
    for tag in entry.get("tags") or []:
        term = (tag.get("term") or tag.get("label") or "").strip().lower()
        if term in settings.feed_categories:
            return PostKind(settings.feed_categories[term])
    return PostKind.NEWS


def _language(settings: Settings, feed: Any) -> str:
    declared = (feed.get("language") or "").split("-")[0].lower()
    if declared in settings.languages:
        return declared
    return settings.feed_language or settings.default_language


def _known(session: Session, guid: str, link: str | None) -> bool:
    clauses = [Post.source_guid == guid] + ([Post.source_url == link] if link else [])
    return session.scalar(select(Post.id).where(or_(*clauses)).limit(1)) is not None


def ingest(settings: Settings, session: Session, parsed: Any, now: dt.datetime) -> list[Post]:
    """New items of a parsed feed become posts (draft, or published per ``FEED_PUBLISH``)."""
    language = _language(settings, parsed.feed)
    created = []
    for entry in parsed.entries:
        link = entry.get("link") or None
        guid = entry.get("id") or link
        title = html_to_text(sanitize_html(entry.get("title") or "")).strip()
        if not guid or not title or _known(session, guid, link):
            continue
        content = (entry.get("content") or [{}])[0].get("value") or ""
        summary = html_to_text(sanitize_html(entry.get("summary") or ""))[:1000]
        kind = _kind(settings, entry)
        try:
            with session.begin_nested():
                post = create_post(
                    session,
                    kind=kind,
                    translations=[TranslationInput(language, title[:500], summary, content)],
                    languages=settings.languages,
                    source_url=link,
                    source_guid=guid[:1000],
                    incomplete_event_ok=True,
                )
                if settings.feed_publish and kind != PostKind.EVENT:
                    publish_post(post, at=min(_entry_time(entry) or now, now), now=now)
        except IntegrityError:  # another poller took this GUID a moment ago
            continue
        created.append(post)
    return created


def due_sources(settings: Settings, session: Session, now: dt.datetime) -> list[int]:
    """Ids of the configured feeds due for a poll (rows created on first sight)."""
    known = {s.url: s for s in session.scalars(select(FeedSource))}
    for url in settings.feed_urls:
        if url not in known:
            source = FeedSource(url=url, failures=0, last_error="")
            session.add(source)
            known[url] = source
    session.flush()
    return [known[url].id for url in settings.feed_urls if _due(known[url].next_poll_at, now)]


def _due(next_poll_at: dt.datetime | None, now: dt.datetime) -> bool:
    return next_poll_at is None or next_poll_at <= now


def poll_source(
    settings: Settings, session: Session, source_id: int, now: dt.datetime
) -> list[Post]:
    """Fetch, parse and ingest one feed; never raises for a feed problem (logs, backs off)."""
    source = session.get(FeedSource, source_id)
    if source is None:
        return []
    source.last_polled_at = now
    try:
        fetched = fetch(source.url, settings.feed_timeout, source.etag, source.modified)
        parsed = feedparser.parse(fetched.body) if fetched.body is not None else None
        if parsed is not None and parsed.bozo and not parsed.entries:
            raise FeedError(f"not a feed: {parsed.get('bozo_exception')}")
    except (FeedError, OSError) as exc:
        source.failures += 1
        backoff = min(dt.timedelta(minutes=2**source.failures), MAX_BACKOFF)
        source.next_poll_at = now + backoff
        source.last_error = str(exc)[:500]
        log.warning(
            "feed source %s failed (%d in a row, retry in %s): %s",
            source.id, source.failures, backoff, exc,
        )  # fmt: skip
        return []
    created = ingest(settings, session, parsed, now) if parsed is not None else []
    source.etag, source.modified = fetched.etag, fetched.modified
    source.failures, source.last_error = 0, ""
    source.last_success_at = now
    source.next_poll_at = now + dt.timedelta(minutes=settings.feed_poll_minutes)
    log.info("feed source %s polled: %d new post(s)", source.id, len(created))
    return created
