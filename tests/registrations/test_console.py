"""Staff and event registrations in the console: per-event list, audited export, closing,
and a follow-up that states its recipient count and asks once (headless Chromium)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from newsletter.registrations.models import EventSetup, RegistrationMessage
from newsletter.staff.models import AuditLogEntry, StaffRole
from tests.admin.conftest import _dispose_apps  # noqa: F401 - releases the apps' pools
from tests.admin.helpers import StaffClient, app_for, browser_sign_in, make_staff
from tests.conftest import clock_offset_to
from tests.registrations.helpers import READERS, online_webinar, register_readers

START = dt.datetime(2027, 1, 20, 14, 0, tzinfo=dt.UTC)
NOW = START - dt.timedelta(days=5)


def _seed(committed_db) -> int:
    with committed_db.begin() as session:
        post = online_webinar(session, START, NOW)
        register_readers(session, post, NOW)
        return post.id


@pytest.mark.slow
def test_staff_follow_up_confirmed_with_its_count_and_close_registration_in_a_browser(
    tmp_path, pg_url, committed_db, live_server, browser
) -> None:
    post_id = _seed(committed_db)
    make_staff(committed_db, StaffRole.EDITOR)
    app = app_for(tmp_path, pg_url, clock_offset_seconds=clock_offset_to(NOW))
    base = live_server(app)
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "editor@coalition.example.org")
        page.click("nav >> text=Events")
        page.click(f"a[href='/admin/events/{post_id}']")
        assert page.locator("#registrations tbody tr").count() == 3
        assert page.inner_text("#count-registered").strip() == "3"
        page.fill("#followup-form textarea[name=text]", "The slides: https://files.example.net/s")
        page.click("#followup-form button[type=submit]")
        assert "This emails 3 registrants." in page.inner_text("#confirm-count")
        with committed_db() as session:  # nothing queued before the confirmation
            assert not session.scalars(
                select(RegistrationMessage).where(RegistrationMessage.key.like("followup:%"))
            ).all()
        page.click("#confirm-form button[type=submit]")
        page.wait_for_url(lambda url: "notice=saved" in url)
        page.click("#close-form button[type=submit]")
        page.wait_for_url(lambda url: "notice=saved" in url)
        assert page.inner_text("#registration-state").strip() == "closed"
    finally:
        page.close()
    with committed_db() as session:
        followups = session.scalars(
            select(RegistrationMessage).where(RegistrationMessage.key.like("followup:%"))
        ).all()
        assert len(followups) == 3
        assert session.scalar(select(EventSetup.closed_at)) is not None
        actions = set(session.scalars(select(AuditLogEntry.action)))
    assert {"event.followup", "event.registration_closed"} <= actions


def test_export_of_registrations_is_for_admins_and_audited(tmp_path, pg_url, committed_db) -> None:
    post_id = _seed(committed_db)
    make_staff(committed_db, StaffRole.EDITOR)
    make_staff(committed_db, StaffRole.ADMIN)
    app = app_for(tmp_path, pg_url)
    editor = StaffClient(app)
    editor.sign_in("editor@coalition.example.org")
    assert editor.post(f"/admin/events/{post_id}/export").status_code == 403
    client = StaffClient(app)
    client.sign_in("admin@coalition.example.org")
    response = client.post(f"/admin/events/{post_id}/export")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["email"] for r in rows) == sorted(r[1] for r in READERS)
    assert {r["timezone"] for r in rows} == {r[3] for r in READERS}
    with committed_db() as session:
        entry = session.scalar(
            select(AuditLogEntry).where(AuditLogEntry.action == "event.registrations_export")
        )
        assert entry is not None and entry.detail == {"rows": 3}
        assert "@" not in str(entry.detail)
