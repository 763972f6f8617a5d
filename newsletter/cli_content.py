"""``newsletter post ...``, ``newsletter digest ...`` and ``newsletter feeds poll``.

Thin shells over ``newsletter.content``: parse options, run one function in a unit of work,
and start the campaigns it created only after the commit (invariant `commit-then-enqueue`). The
staff console calls the same functions.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import click

from newsletter import clock
from newsletter.config import Settings, SettingsError, get_settings


def _settings() -> Settings:
    try:
        settings = get_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    clock.configure(settings)
    return settings


def _factory(settings: Settings):  # type: ignore[no-untyped-def]
    import newsletter.models  # noqa: F401 - every table, so foreign keys resolve
    from newsletter.db import make_engine, make_session_factory

    return make_session_factory(make_engine(settings.database_url))


def _when(settings: Settings, text: str | None) -> dt.datetime | None:
    """ISO date-time; without an offset it is read in ORG_TIMEZONE."""
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date-time like 2026-10-20T16:00") from None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(settings.org_timezone))


def _start(campaign_ids: list[int]) -> None:
    if campaign_ids:
        from workers.celery_app import app

        for campaign_id in campaign_ids:
            app.send_task("newsletter.start_campaign", args=[campaign_id])
        click.echo(f"started campaign(s) {', '.join(map(str, campaign_ids))}")


def _body(body: str | None, body_file: Path | None) -> str:
    return body_file.read_text(encoding="utf-8") if body_file else (body or "")


@click.group()
def post() -> None:
    """Posts: press releases, statements, reports, events, news."""


@post.command("create")
@click.option(
    "--kind",
    type=click.Choice(["press_release", "statement", "report", "event", "news"]),
    required=True,
)
@click.option("--language", default=None, help="Language of this text (default: DEFAULT_LANGUAGE).")
@click.option("--title", required=True)
@click.option("--summary", default="")
@click.option("--body", default=None, help="Markdown text (or --body-file).")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--contacts", default="", help='"More information" contacts, Markdown.')
@click.option("--download", "downloads", multiple=True, help="LABEL=URL, repeatable.")
@click.option("--event-start", default=None, help="e.g. 2026-10-20T16:00 (in --event-timezone).")
@click.option(
    "--event-timezone", default=None, help="IANA zone of the start (default: ORG_TIMEZONE)."
)
@click.option("--duration", type=int, default=None, help="Minutes.")
@click.option("--location", default=None)
@click.option("--online-url", default=None)
@click.option("--registration-url", default=None)
@click.option("--embargo-until", default=None, help="Hidden and not mailed before this time.")
@click.option("--no-alert", is_flag=True, help="Never send an instant alert for this post.")
@click.option("--publish", is_flag=True, help="Publish at once (the alert goes when public).")
def post_create(**options: object) -> None:
    """Create a post (a draft unless --publish); prints its id."""
    settings = _settings()
    from newsletter.content.alerts import publish_with_alert
    from newsletter.content.models import PostKind
    from newsletter.content.service import (
        DownloadInput,
        EventInput,
        PostError,
        TranslationInput,
        create_post,
    )
    from newsletter.db import unit_of_work, utcnow

    language = str(options["language"] or settings.default_language)
    downloads = []
    for item in options["downloads"]:  # type: ignore[attr-defined]
        label, equals, url = str(item).rpartition("=")
        if not equals:
            raise click.BadParameter(f"{item!r}: use LABEL=URL", param_hint="--download")
        downloads.append(DownloadInput(label, url))
    event = None
    if options["event_start"]:
        zone = str(options["event_timezone"] or settings.org_timezone)
        start = dt.datetime.fromisoformat(str(options["event_start"]))
        event = EventInput(
            start,
            zone,
            cast("int | None", options["duration"]),
            options["location"],  # type: ignore[arg-type]
            cast("str | None", options["online_url"]),
            cast("str | None", options["registration_url"]),
        )
    started: list[int] = []
    try:
        with unit_of_work(_factory(settings)) as session:
            text = TranslationInput(
                language,
                str(options["title"]),
                str(options["summary"]),
                _body(
                    cast("str | None", options["body"]), cast("Path | None", options["body_file"])
                ),
            )
            created = create_post(
                session,
                kind=PostKind(str(options["kind"])),
                translations=[text],
                languages=settings.languages,
                contacts=str(options["contacts"]),
                downloads=downloads,
                event=event,
                embargo_until=_when(settings, options["embargo_until"]),  # type: ignore[arg-type]
                alert_enabled=not options["no_alert"],
            )
            if options["publish"]:
                started = publish_with_alert(settings, session, created, utcnow())
            public_id = created.public_id
    except PostError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(public_id)
    _start(started)


@post.command("translate")
@click.argument("public_id")
@click.option("--language", required=True)
@click.option("--title", required=True)
@click.option("--summary", default="")
@click.option("--body", default=None)
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def post_translate(
    public_id: str,
    language: str,
    title: str,
    summary: str,
    body: str | None,
    body_file: Path | None,
) -> None:
    """Add or replace the LANGUAGE version of a post."""
    settings = _settings()
    from newsletter.content.service import PostError, TranslationInput, get_post, set_translation
    from newsletter.db import unit_of_work

    if language not in settings.languages:
        raise click.BadParameter(f"use one of {settings.languages}", param_hint="--language")
    try:
        with unit_of_work(_factory(settings)) as session:
            found = get_post(session, public_id)
            if found is None:
                raise click.ClickException(f"no post {public_id}")
            set_translation(
                found, TranslationInput(language, title, summary, _body(body, body_file))
            )
    except PostError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"post {public_id}: {language} version saved")


@post.command("publish")
@click.argument("public_id")
@click.option("--at", default=None, help="Publish later (the beat publishes it then).")
@click.option("--embargo-until", default=None, help="Keep it hidden and unmailed until then.")
def post_publish(public_id: str, at: str | None, embargo_until: str | None) -> None:
    """Publish a post; a press release's alert starts at once (or when its embargo passes)."""
    settings = _settings()
    from newsletter.content.alerts import publish_with_alert
    from newsletter.content.service import PostError, get_post, visible_from
    from newsletter.db import unit_of_work, utcnow

    try:
        with unit_of_work(_factory(settings)) as session:
            found = get_post(session, public_id)
            if found is None:
                raise click.ClickException(f"no post {public_id}")
            started = publish_with_alert(
                settings,
                session,
                found,
                utcnow(),
                at=_when(settings, at),
                embargo_until=_when(settings, embargo_until),
            )
            public_from = visible_from(found)
    except PostError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"post {public_id} published, public from {public_from:%Y-%m-%d %H:%M} UTC")
    _start(started)


@click.group()
def digest() -> None:
    """The monthly digest."""


def _period(month: str):  # type: ignore[no-untyped-def]
    from newsletter.content.digest import Period

    try:
        return Period.parse(month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from None


@digest.command("preview")
@click.option("--month", required=True, help="e.g. 2026-10")
@click.option("--language", default=None)
@click.option(
    "--html",
    "html_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the HTML part to this file.",
)
def digest_preview(month: str, language: str | None, html_out: Path | None) -> None:
    """Show the digest of MONTH as a reader would get it (nothing is created or sent)."""
    settings = _settings()
    from newsletter.content.digest import preview_digest
    from newsletter.db import unit_of_work, utcnow

    period = _period(month)
    with unit_of_work(_factory(settings)) as session:
        shown = preview_digest(
            settings, session, period, language or settings.default_language, utcnow()
        )
    if shown is None:
        click.echo(f"nothing was published in {period.key}: no digest would be sent")
        return
    click.echo(f"Subject: {shown.subject}\n\n{shown.text}")
    if html_out:
        html_out.write_text(shown.html, encoding="utf-8")
        click.echo(f"HTML written to {html_out}")


@digest.command("create")
@click.option("--month", required=True, help="e.g. 2026-10")
def digest_create(month: str) -> None:
    """Build MONTH's digest now (held for approval when DIGEST_HOLD_FOR_APPROVAL is set)."""
    settings = _settings()
    from newsletter.content.digest import create_digest
    from newsletter.db import unit_of_work, utcnow

    period = _period(month)
    with unit_of_work(_factory(settings)) as session:
        campaign = create_digest(settings, session, period, utcnow())
        campaign_id = campaign.id if campaign else None
    if campaign_id is None:
        click.echo(f"no digest created for {period.key} (already made, or nothing published)")
    elif settings.digest_hold_for_approval:
        click.echo(f"digest campaign {campaign_id} created and held for approval")
    else:
        _start([campaign_id])


@click.group()
def feeds() -> None:
    """Website feeds (FEED_URLS)."""


@feeds.command("poll")
def feeds_poll() -> None:
    """Poll every configured feed now, whatever its schedule."""
    settings = _settings()
    from newsletter.content import feeds as feed_service
    from newsletter.content.alerts import release_due_alerts
    from newsletter.content.models import FeedSource
    from newsletter.db import unit_of_work, utcnow

    factory = _factory(settings)
    with unit_of_work(factory) as session:
        feed_service.due_sources(settings, session, utcnow())
        ids = [
            s.id for s in session.query(FeedSource).filter(FeedSource.url.in_(settings.feed_urls))
        ]
    for source_id in ids:
        with unit_of_work(factory) as session:
            created = feed_service.poll_source(settings, session, source_id, utcnow())
            started = release_due_alerts(settings, session, utcnow())
        click.echo(f"feed source {source_id}: {len(created)} new post(s)")
        _start(started)
