"""The post form holds every field the API and the CLI have, and saving it loses nothing.

A webinar written with every field (duration, online link, place per language, contacts,
downloads, no alert, embargo to the second) is opened in the console and saved as it is:
through HTTP as a browser would submit it, then in Chromium after a title fix. Every table
of the database is compared before and after; the calendar file still lasts 90 minutes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.content import service as content
from newsletter.content.models import Post, PostKind
from newsletter.db import unit_of_work
from newsletter.staff.models import StaffRole
from tests.admin.form_roundtrip import browser_fields, changed_tables, database_rows
from tests.admin.helpers import StaffClient, app_for, browser_sign_in, make_staff

EDITOR = "editor@coalition.example.org"


def _webinar(factory: sessionmaker[Session]) -> int:
    """A published 90-minute webinar with every field a post can carry set to a non-default."""
    with unit_of_work(factory) as db:
        post = content.create_post(
            db,
            kind=PostKind.EVENT,
            translations=[
                content.TranslationInput(
                    "en",
                    "Webinar: water rights",
                    "Ninety minutes on the river basin.",
                    "First line.\n\n* a point\n* another\n",
                    event_location="Room 3, Civic Centre",
                ),
                content.TranslationInput(
                    "fr",
                    "Webinaire : droit à l'eau",
                    "Quatre-vingt-dix minutes sur le bassin.",
                    "Première ligne.\n\nDeuxième.",
                    event_location="Salle 3, Maison des associations",
                ),
            ],
            languages=["en", "fr"],
            contacts="Press: [Ama](mailto:press@coalition.example.org)\nPhone +233 20 000 0000",
            downloads=[
                content.DownloadInput("Briefing (PDF)", "https://coalition.example.org/b.pdf"),
                content.DownloadInput("Note (FR)", "https://coalition.example.org/n.pdf", "fr"),
            ],
            event=content.EventInput(
                start=dt.datetime(2099, 12, 17, 11, 0),
                timezone="America/New_York",
                duration_minutes=90,
                location="Civic Centre",
                online_url="https://meet.example.org/water-rights",
                registration_url="https://coalition.example.org/register",
            ),
            embargo_until=dt.datetime(2020, 6, 1, 8, 30, 15, tzinfo=dt.UTC),
            alert_enabled=False,
        )
        content.publish_post(post, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        return post.id


def _submit(client: StaffClient, post_id: int, **changes: str) -> int:
    page = client.get(f"/admin/posts/{post_id}/edit")
    assert page.status_code == 200
    fields = browser_fields(page.text, f"/admin/posts/{post_id}/edit", ("action", "save"))
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(changes.get(name, value))
    response = client.http.post(f"/admin/posts/{post_id}/edit", data=data)
    assert response.status_code == 303, response.text
    return len(fields)


def test_saving_a_post_unchanged_changes_nothing_and_a_title_fix_keeps_the_event(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], pg_engine
) -> None:
    post_id = _webinar(committed_db)
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url, org_timezone="Europe/Paris"))
    client.sign_in(EDITOR)
    page = client.get(f"/admin/posts/{post_id}/edit").text
    sent = dict(browser_fields(page, f"/admin/posts/{post_id}/edit", ("action", "save")))
    # every field the API and the CLI have is on the form, filled from the post
    assert sent["event_duration"] == "90"
    assert sent["event_online_url"] == "https://meet.example.org/water-rights"
    assert sent["place_fr"] == "Salle 3, Maison des associations"
    assert sent["no_alert"] == "yes"
    assert sent["download_url_1"] == "https://coalition.example.org/n.pdf"
    assert sent["download_language_1"] == "fr"
    assert sent["contacts"].startswith("Press: [Ama]")
    assert sent["embargo"] == "2020-06-01T10:30:15"  # Paris in summer, to the second

    before = database_rows(pg_engine)
    _submit(client, post_id)
    assert changed_tables(before, database_rows(pg_engine)) == {}

    _submit(client, post_id, title_en="Webinar: water rights (corrected)")
    with committed_db() as db:
        post = db.get(Post, post_id)
        assert post is not None
        assert {t.language: t.title for t in post.translations}["en"].endswith("(corrected)")
        assert post.event_duration_minutes == 90
        assert post.event_online_url == "https://meet.example.org/water-rights"
        assert [d.label for d in post.downloads] == ["Briefing (PDF)", "Note (FR)"]
        assert post.alert_enabled is False
        public_id = post.public_id
    ics = client.http.get(f"/archive/posts/{public_id}.ics")
    assert ics.status_code == 200
    event = next(c for c in Calendar.from_ical(ics.content).walk("VEVENT"))
    assert event.decoded("dtend") - event.decoded("dtstart") == dt.timedelta(minutes=90)


def test_a_new_webinar_written_in_the_form_keeps_every_field(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url, org_timezone="Europe/Paris"))
    client.sign_in(EDITOR)
    client.get("/admin/posts/new")
    response = client.post(
        "/admin/posts/new/edit",
        {
            "action": "save",
            "kind": "event",
            "title_en": "Online briefing",
            "body_en": "Line one\r\nLine two",
            "event_start": "2099-03-02T15:00",
            "event_timezone": "Europe/Paris",
            "event_duration": "90",
            "event_online_url": "https://meet.example.org/briefing",
            "place_en": "Online",
            "contacts": "Call us",
            "download_rows": "2",
            "download_label_0": "Slides",
            "download_url_0": "https://coalition.example.org/slides.pdf",
            "download_language_0": "en",
            "download_label_1": "",
            "download_url_1": "",
            "no_alert": "yes",
        },
    )
    assert response.status_code == 303, response.text
    with committed_db() as db:
        post = db.scalars(select(Post)).one()
        assert post.event_duration_minutes == 90
        assert post.event_online_url == "https://meet.example.org/briefing"
        assert post.translations[0].body_markdown == "Line one\nLine two"
        assert post.translations[0].event_location == "Online"
        assert [(d.label, d.language) for d in post.downloads] == [("Slides", "en")]
        assert post.alert_enabled is False and post.contacts == "Call us"
    bad = client.post(
        "/admin/posts/new/edit",
        {"action": "save", "kind": "news", "title_en": "x", "download_rows": "1",
         "download_label_0": "", "download_url_0": "https://coalition.example.org/x.pdf"},
    )  # fmt: skip
    assert bad.status_code == 400 and "Every download needs a label." in bad.text


def test_a_title_fix_in_chromium_keeps_duration_online_link_and_the_rest(
    tmp_path: Path,
    pg_url: str,
    committed_db: sessionmaker[Session],
    pg_engine,
    live_server,
    browser,
) -> None:
    post_id = _webinar(committed_db)
    make_staff(committed_db, StaffRole.EDITOR)
    base = live_server(app_for(tmp_path, pg_url, org_timezone="Europe/Paris"))
    page = browser.new_page()
    try:
        browser_sign_in(page, base, EDITOR)
        page.goto(f"{base}/admin/posts/{post_id}/edit")
        before = database_rows(pg_engine)
        page.click("button[name=action][value=save]")
        page.wait_for_url(lambda url: "notice=saved" in url)
        assert changed_tables(before, database_rows(pg_engine)) == {}
        page.fill("input[name=title_en]", "Webinar: water rights, corrected")
        page.click("button[name=action][value=save]")
        page.wait_for_url(lambda url: "notice=saved" in url)
    finally:
        page.close()
    after = database_rows(pg_engine)
    changed = changed_tables(before, after)
    assert set(changed) == {"post_translations"}, changed
    went, came = changed["post_translations"]
    assert len(went) == len(came) == 1
    with committed_db() as db:
        post = db.get(Post, post_id)
        assert post is not None
        assert (post.event_duration_minutes, post.event_online_url) == (
            90,
            "https://meet.example.org/water-rights",
        )
