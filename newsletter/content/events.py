"""Event times in each reader's time zone, the coalition's city-by-city line, and .ics files.

Why here and not in templates: the start is stored once in UTC (plus the zone it was
announced in), and every reader must see the same instant in their own zone, worded in
their language. "16:00 London" and "11:00 New York" are two renderings of one instant, so
a template only ever receives the already-converted labels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time
from icalendar import Calendar, Event, vCalAddress, vDDDTypes

from newsletter.content.models import Post
from newsletter.i18n import gettext


@dataclass(frozen=True)
class EventTimes:
    """One event's start and end as one reader should read them."""

    start_utc: dt.datetime
    end_utc: dt.datetime | None
    timezone: str
    date_label: str
    time_label: str
    end_time_label: str
    when_label: str
    city_line: str


def zone_or(name: str | None, fallback: str) -> ZoneInfo:
    """The reader's zone when it is a real IANA name, else the organisation's."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def zone_label(zone: ZoneInfo) -> str:
    """``America/New_York`` -> ``New York``: the city readers recognise."""
    return str(zone.key).rsplit("/", 1)[-1].replace("_", " ")


#: Zones that are UTC itself: "11:00 (UTC)", never "UTC time" or "heure de UTC".
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Zulu"})


def when_label(date: str, time: str, zone: ZoneInfo, language: str) -> str:
    """ "Thursday 17 December 2026, 11:00 (New York time)" in ``language``.

    UTC is named as itself; French elides before a vowel ("heure d’Abidjan", not
    "heure de Abidjan"), which a single catalogue entry cannot say.
    """
    if str(zone.key) in _UTC_KEYS:
        return gettext("%(date)s, %(time)s (UTC)", language, date=date, time=time)
    label = zone_label(zone)
    text = gettext("%(date)s, %(time)s (%(zone)s time)", language, date=date, time=time,
                   zone=label)  # fmt: skip
    if language == "fr" and label[:1].lower() in "aeiouyâéèêîôû":
        text = text.replace(f"heure de {label}", f"heure d’{label}")
    return text


def city_line(start_utc: dt.datetime, cities: Sequence[str]) -> str:
    """``08:00 Los Angeles | 11:00 New York | 16:00 London``, in the order configured.

    ``cities`` entries are ``Zone/Name`` or ``Zone/Name=Label``; cities sharing a time are
    joined (``17:00 Brussels, Harare``) as the coalition's invitations do.
    """
    groups: list[tuple[str, list[str]]] = []
    for entry in cities:
        zone_name, _, label = entry.partition("=")
        zone = ZoneInfo(zone_name.strip())
        local = start_utc.astimezone(zone)
        when = local.strftime("%H:%M")
        if local.date() != start_utc.astimezone(ZoneInfo("UTC")).date():
            when += f" ({local:%d/%m})"
        name = label.strip() or zone_label(zone)
        if groups and groups[-1][0] == when:
            groups[-1][1].append(name)
        else:
            groups.append((when, [name]))
    return " | ".join(f"{when} {', '.join(names)}" for when, names in groups)


def event_times(
    post: Post, language: str, reader_zone: ZoneInfo, cities: Sequence[str] = ()
) -> EventTimes | None:
    """The event's times converted to ``reader_zone`` and worded in ``language``."""
    if post.event_start is None:
        return None
    start = post.event_start.astimezone(reader_zone)
    end_utc = (
        post.event_start + dt.timedelta(minutes=post.event_duration_minutes)
        if post.event_duration_minutes
        else None
    )
    end = end_utc.astimezone(reader_zone) if end_utc else None
    date_label = format_date(start.date(), "full", locale=language)
    time_label = format_time(start, "HH:mm", locale=language)
    end_label = format_time(end, "HH:mm", locale=language) if end else ""
    span = f"{time_label}–{end_label}" if end_label else time_label
    when = when_label(date_label, span, reader_zone, language)
    return EventTimes(
        start_utc=post.event_start,
        end_utc=end_utc,
        timezone=str(reader_zone.key),
        date_label=date_label,
        time_label=time_label,
        end_time_label=end_label,
        when_label=when,
        city_line=city_line(post.event_start, cities) if cities else "",
    )


def event_uid(post: Post, url: str) -> str:
    """One UID per event for ever: updates and cancellations must replace the same entry."""
    return f"{post.public_id}@{urlsplit(url).hostname or 'newsletter'}"


def event_calendar(
    post: Post,
    title: str,
    description: str,
    url: str,
    *,
    show_online_url: bool = True,
) -> bytes:
    """An iCalendar (RFC 5545) file with one VEVENT, in UTC so every calendar agrees.

    ``show_online_url`` False: the public file of an event whose joining link is only for
    registrants (they get it in their own ``.ics``, see :func:`registrant_calendar`).
    """
    if post.event_start is None:
        raise ValueError("not an event")
    calendar = Calendar()
    calendar.add("prodid", "-//Coalition Newsletter//Events//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add_component(
        _vevent(
            post,
            title,
            description,
            url,
            online_url=post.event_online_url if show_online_url else None,
        )
    )
    return calendar.to_ical()


def _vevent(post: Post, title: str, description: str, url: str, *, online_url: str | None) -> Event:
    assert post.event_start is not None
    event = Event()
    event.add("uid", event_uid(post, url))
    event.add("dtstamp", post.updated_at or post.created_at)
    event.add("dtstart", post.event_start.astimezone(dt.UTC))
    duration = dt.timedelta(minutes=post.event_duration_minutes or 60)
    event.add("dtend", post.event_start.astimezone(dt.UTC) + duration)
    event.add("summary", title)
    details = [description] if description else []
    if post.registration_url:
        details.append(post.registration_url)
    if online_url:
        details.append(online_url)
    event.add("description", "\n\n".join(details))
    location = post.event_location or online_url
    if location:
        event.add("location", location)
    event.add("url", online_url or post.registration_url or url)
    return event


def registrant_calendar(
    post: Post,
    title: str,
    description: str,
    url: str,
    *,
    sequence: int,
    organizer: tuple[str, str],
    attendee: str,
    cancelled: bool = False,
    stamp: dt.datetime,
    online_url: str | None = None,
) -> bytes:
    """The ``.ics`` a registrant receives: ``METHOD:REQUEST`` (or ``CANCEL``), one UID for
    every version of the event and a SEQUENCE that grows with each change (RFC 5546), so a
    calendar replaces its entry instead of adding a second one. It carries the joining link.
    """
    if post.event_start is None:
        raise ValueError("not an event")
    calendar = Calendar()
    calendar.add("prodid", "-//Coalition Newsletter//Events//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = _vevent(post, title, description, url, online_url=online_url)
    event["dtstamp"] = vDDDTypes(stamp.astimezone(dt.UTC))
    event.add("sequence", sequence)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    name, address = organizer
    event.add("organizer", vCalAddress(f"mailto:{address}"), parameters={"cn": name})
    event.add(
        "attendee",
        vCalAddress(f"mailto:{attendee}"),
        parameters={"role": "REQ-PARTICIPANT", "partstat": "ACCEPTED", "rsvp": "FALSE"},
    )
    calendar.add_component(event)
    return calendar.to_ical()
