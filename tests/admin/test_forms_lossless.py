"""Every console form saved unchanged changes nothing in the database.

Each test fills every field of one form's object with a non-default value, opens the form
through HTTP, submits exactly what a browser would send without touching anything, and
compares every table before and after. Then it changes one field through the same form, to
show the submission really is saved (a form that ignored its input would pass the first half).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns.models import Campaign, CampaignKind, CampaignPost, CampaignVariant
from newsletter.content import service as content
from newsletter.content.models import PostKind
from newsletter.db import unit_of_work
from newsletter.registrations import service as registrations
from newsletter.staff.models import EmailTemplateVersion, StaffRole, StaffUser
from newsletter.subscribers.models import (
    MailingList,
    MailingListTranslation,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from tests.admin.factories import make_list, make_subscriber
from tests.admin.form_roundtrip import browser_fields, changed_tables, database_rows
from tests.admin.helpers import StaffClient, app_for, make_staff


def _round_trip(
    client: StaffClient,
    page: str,
    action: str,
    button: tuple[str, str] | None = None,
    **changes: str,
) -> list[tuple[str, str]]:
    """Open ``page``, submit its form posting to ``action`` as a browser would (with
    ``changes`` typed in), expect the redirect of a successful save."""
    html = client.get(page)
    assert html.status_code == 200, page
    fields = browser_fields(html.text, action, button)
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(changes.get(name, value))
    response = client.http.post(action, data=data)
    assert response.status_code == 303, response.text[:2000]
    return fields


def _signed_in(tmp_path: Path, pg_url: str, factory: sessionmaker[Session], role: StaffRole):
    make_staff(factory, role)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in(f"{role.value}@coalition.example.org")
    return client


def _posts(db: Session, count: int) -> list[int]:
    ids = []
    for i in range(count):
        post = content.create_post(
            db,
            kind=PostKind.NEWS,
            translations=[content.TranslationInput("en", f"News {i}", body_markdown="x")],
            languages=["en", "fr"],
        )
        ids.append(post.id)
    return ids


def test_the_campaign_form_saved_unchanged_changes_nothing(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], pg_engine
) -> None:
    with unit_of_work(committed_db) as db:
        public = make_list(db, "supporters", "Supporters", "Sympathisants")
        make_list(db, "board", "Board")
        ids = _posts(db, 55)
        campaign = Campaign(
            kind=CampaignKind.NEWSLETTER,
            name="December newsletter",
            template_name="digest",
            lists=[public],
            archive_hidden=True,
            posts=[CampaignPost(post_id=ids[0], position=0),
                   CampaignPost(post_id=ids[-1], position=1)],
            variants=[
                CampaignVariant(language="en", subject="Our December", preheader="The year",
                                body_markdown="Dear friends,\n\nThe year in review.\n"),
                CampaignVariant(language="fr", subject="Notre décembre", preheader="L'année",
                                body_markdown="Chers amis,\n\nL'année écoulée."),
            ],
        )  # fmt: skip
        db.add(campaign)
        db.flush()
        campaign_id = campaign.id
    client = _signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    before = database_rows(pg_engine)
    page, action = f"/admin/campaigns/{campaign_id}/edit", f"/admin/campaigns/{campaign_id}/edit"
    fields = dict(_round_trip(client, page, action))
    assert fields["archive_hidden"] == "yes" and fields["template_name"] == "digest"
    assert changed_tables(before, database_rows(pg_engine)) == {}
    _round_trip(client, page, action, subject_fr="Notre décembre 2026")
    with committed_db() as db:
        saved = db.get(Campaign, campaign_id)
        assert saved is not None
        assert [p.post_id for p in saved.posts] == [ids[0], ids[-1]]  # order, and the oldest
        assert {v.language: v.subject for v in saved.variants}["fr"] == "Notre décembre 2026"
        assert saved.archive_hidden is True


def test_a_new_campaign_starts_on_the_newsletter_template(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    client = _signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    html = client.get("/admin/campaigns/new").text
    assert dict(browser_fields(html, "/admin/campaigns/new/edit"))["template_name"] == "newsletter"


def test_the_list_form_saved_unchanged_changes_nothing(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], pg_engine
) -> None:
    with unit_of_work(committed_db) as db:
        board = MailingList(slug="board-notes", is_public=False)
        board.translations += [
            MailingListTranslation(language="en", name="Board notes",
                                   description="For the board.\nMonthly."),
            MailingListTranslation(language="fr", name="Notes du bureau",
                                   description="Pour le bureau."),
        ]  # fmt: skip
        db.add(board)
        db.flush()
        list_id = board.id
    client = _signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    before = database_rows(pg_engine)
    fields = dict(_round_trip(client, f"/admin/lists/{list_id}", f"/admin/lists/{list_id}"))
    assert "is_public" not in fields and fields["description_fr"] == "Pour le bureau."
    assert changed_tables(before, database_rows(pg_engine)) == {}
    _round_trip(client, f"/admin/lists/{list_id}", f"/admin/lists/{list_id}", name_fr="Bureau")
    with committed_db() as db:
        names = {t.language: t.name for t in db.get(MailingList, list_id).translations}  # type: ignore[union-attr]
        assert names["fr"] == "Bureau"


def test_the_subscriber_form_saved_unchanged_changes_nothing(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], pg_engine
) -> None:
    with unit_of_work(committed_db) as db:
        news = make_list(db, "news", "News")
        make_list(db, "events", "Events")
        alerts = make_list(db, "alerts", "Alerts")
        person = make_subscriber(db, "amani@example.org", name="Amani K.", language="fr",
                                 lists=[news])  # fmt: skip
        person.timezone, person.discreet, person.low_bandwidth = "Africa/Nairobi", True, True
        db.add(Subscription(subscriber_id=person.id, list_id=alerts.id,
                            status=SubscriptionStatus.UNSUBSCRIBED))  # fmt: skip
        db.flush()
        person_id = person.id
    client = _signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    page = action = f"/admin/subscribers/{person_id}"
    before = database_rows(pg_engine)
    fields = _round_trip(client, page, action)
    assert ("discreet", "yes") in fields and ("timezone", "Africa/Nairobi") in fields
    assert changed_tables(before, database_rows(pg_engine)) == {}
    _round_trip(client, page, action, timezone="America/Bogota")
    with committed_db() as db:
        assert db.get(Subscriber, person_id).timezone == "America/Bogota"  # type: ignore[union-attr]
    html = client.get(page)
    data = dict(browser_fields(html.text, action)) | {"timezone": "Mars/Olympus_Mons"}
    refused = client.http.post(action, data=data)
    assert refused.status_code == 400 and "Mars/Olympus_Mons" not in refused.text.split("<form")[0]


def test_the_template_form_saved_unchanged_adds_no_version(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], pg_engine
) -> None:
    client = _signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    page = action = "/admin/templates/newsletter"
    before = database_rows(pg_engine)
    _round_trip(client, page, action)  # the shipped files, unchanged: still no version
    assert changed_tables(before, database_rows(pg_engine)) == {}
    fields = dict(browser_fields(client.get(page).text, action))
    edited = fields["body.txt"].replace("\r\n", "\n") + "\nWith thanks.\n"
    _round_trip(client, page, action, **{"body.txt": edited})
    with committed_db() as db:
        versions = db.scalars(select(EmailTemplateVersion)).all()
        assert [v.body_text.endswith("With thanks.\n") for v in versions] == [True]
    before = database_rows(pg_engine)
    _round_trip(client, page, action)
    assert changed_tables(before, database_rows(pg_engine)) == {}


def test_the_event_registration_settings_saved_unchanged_change_nothing(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], pg_engine
) -> None:
    with unit_of_work(committed_db) as db:
        post = content.create_post(
            db,
            kind=PostKind.EVENT,
            translations=[content.TranslationInput("en", "Assembly")],
            languages=["en"],
            event=content.EventInput(dt.datetime(2099, 5, 1, 18), "Africa/Lagos", 120),
        )
        content.publish_post(post, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        registrations.configure(
            db, post, enabled=True, capacity=40, reminder_offsets="48h, 90m", reopen=False,
            now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )  # fmt: skip
        post_id = post.id
    client = _signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    page, action = f"/admin/events/{post_id}", f"/admin/events/{post_id}/settings"
    before = database_rows(pg_engine)
    fields = dict(_round_trip(client, page, action))
    assert fields["capacity"] == "40" and fields["enabled"] == "on"
    assert changed_tables(before, database_rows(pg_engine)) == {}


def test_the_staff_form_saved_unchanged_changes_nothing(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], pg_engine
) -> None:
    viewer_id = make_staff(committed_db, StaffRole.VIEWER)
    client = _signed_in(tmp_path, pg_url, committed_db, StaffRole.ADMIN)
    before = database_rows(pg_engine)
    _round_trip(client, "/admin/staff", f"/admin/staff/{viewer_id}")
    assert changed_tables(before, database_rows(pg_engine)) == {}
    _round_trip(client, "/admin/staff", f"/admin/staff/{viewer_id}", role="editor")
    with committed_db() as db:
        assert db.get(StaffUser, viewer_id).role == StaffRole.EDITOR  # type: ignore[union-attr]
