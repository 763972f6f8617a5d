"""Press briefing rules on PostgreSQL with explicit instants, the press list's CSV import as
spreadsheets export it, the contacts block on the public page, and the console in Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from newsletter.content.models import PostKind
from newsletter.content.service import create_post, is_public
from newsletter.content.views import post_view
from newsletter.press import service
from newsletter.press.models import BriefingStatus, Journalist, PressMessage
from newsletter.staff.models import StaffRole
from tests.admin.conftest import _dispose_apps  # noqa: F401 - releases the apps' pools
from tests.admin.helpers import app_for, browser_sign_in, make_staff
from tests.conftest import clock_offset_to, make_test_settings
from tests.content.helpers import EN, FR

NOW = dt.datetime(2027, 2, 3, 9, 0, tzinfo=dt.UTC)
EMBARGO = NOW + dt.timedelta(days=1)
# As LibreOffice exports a sheet with a French header row: semicolons, a BOM, CRLF.
SHEET = (
    "\ufeffEmail;Name;Outlet;Language;Time zone;Beat\r\n"
    "sam@wire-ny.example;Sam Porter;Wire NY;en;America/New_York;mining\r\n"
    "mireille@radio-kin.example;Mireille Kabila;Radio Kin;fr;Africa/Kinshasa;droits humains\r\n"
    "not-an-address;Nobody;;en;;\r\n"
)


def _release(session):
    post = create_post(
        session, kind=PostKind.PRESS_RELEASE, translations=[EN, FR], languages=["en", "fr"]
    )
    session.flush()
    return post


def _keys(session) -> list[str]:
    return sorted(session.scalars(select(PressMessage.key)))


def test_import_reads_a_spreadsheet_export_and_reports_bad_lines(db_session, tmp_path) -> None:
    settings = make_test_settings(tmp_path)
    added, updated, problems = service.import_journalists(db_session, settings, SHEET)
    assert (added, updated) == (2, 0)
    assert len(problems) == 1 and problems[0].startswith("4:")
    kin = db_session.scalar(select(Journalist).where(Journalist.outlet == "Radio Kin"))
    assert (kin.language, kin.timezone, kin.beat) == ("fr", "Africa/Kinshasa", "droits humains")
    assert service.import_journalists(db_session, settings, SHEET)[:2] == (0, 2)


def test_brief_lift_and_withdraw_tell_the_press_once_each(db_session, tmp_path) -> None:
    service.import_journalists(db_session, make_test_settings(tmp_path), SHEET)
    post = _release(db_session)
    assert service.brief(db_session, post, EMBARGO, NOW, None) == 2
    assert not is_public(post, NOW) and is_public(post, EMBARGO)
    with pytest.raises(service.BriefingError):
        service.brief(db_session, post, EMBARGO, NOW, None)
    assert service.move(db_session, post, EMBARGO, NOW) == 0  # same time: nothing to say
    later = NOW + dt.timedelta(hours=1)
    assert service.lift(db_session, post, later) == 2
    assert is_public(post, later)
    with pytest.raises(service.BriefingError):
        service.withdraw(db_session, post, later)
    assert _keys(db_session) == ["brief:0", "brief:0", "lifted:1", "lifted:1"]


def test_withdrawing_keeps_the_release_from_ever_going_public(db_session, tmp_path) -> None:
    service.import_journalists(db_session, make_test_settings(tmp_path), SHEET)
    post = _release(db_session)
    service.brief(db_session, post, EMBARGO, NOW, None)
    assert service.withdraw(db_session, post, NOW + dt.timedelta(minutes=5)) == 2
    assert not is_public(post, EMBARGO + dt.timedelta(days=30))
    assert service.briefing_for(db_session, post).status is BriefingStatus.WITHDRAWN
    with pytest.raises(service.BriefingError):
        service.brief(db_session, post, NOW - dt.timedelta(minutes=1), NOW, None)


def test_press_contacts_show_in_each_language(db_session) -> None:
    post = _release(db_session)
    service.set_contacts(
        post,
        [
            service.ContactInput(
                "Amani Bisimwa", "KP CSC", {"en": "Spokesperson", "fr": "Porte-parole"},
                "+243 000 000 000", "press@example.org", "FR, EN",
            )
        ],
    )  # fmt: skip
    db_session.flush()
    english = post_view(post, "en", "en").press_contacts[0]
    french = post_view(post, "fr", "en").press_contacts[0]
    assert (english.role, french.role) == ("Spokesperson", "Porte-parole")
    assert french.phone == "+243 000 000 000"


@pytest.mark.slow
def test_staff_brief_the_press_in_a_browser_after_seeing_the_count(
    tmp_path, pg_url, committed_db, live_server, browser
) -> None:
    with committed_db.begin() as session:
        service.import_journalists(session, make_test_settings(tmp_path), SHEET)
        post_id = _release(session).id
    make_staff(committed_db, StaffRole.EDITOR)
    app = app_for(tmp_path, pg_url, clock_offset_seconds=clock_offset_to(NOW))
    base = live_server(app)
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "editor@coalition.example.org")
        page.click("nav >> text=Press list")
        assert page.locator("#journalists tbody tr").count() == 2
        page.goto(f"{base}/admin/posts/{post_id}/press")
        page.fill("#contacts-form input[name=c0_name]", "Amani Bisimwa")
        page.fill("#contacts-form input[name=c0_role_fr]", "Porte-parole")
        page.click("#contacts-form button[type=submit]")
        page.wait_for_url(lambda url: "notice=saved" in url)
        page.fill("#brief-form input[name=embargo]", "2027-02-04T10:00")
        page.fill("#brief-form input[name=timezone]", "Europe/Brussels")
        page.click("#brief-form button[type=submit]")
        assert "This emails 2 journalists." in page.inner_text("#confirm-count")
        page.click("#confirm-form button[type=submit]")
        page.wait_for_url(lambda url: "notice=saved" in url)
        assert page.inner_text("#briefing-status").strip().startswith("embargoed")
        assert "2027-02-04 09:00 UTC" in page.inner_text("#embargo")
        assert page.locator("#briefing-log tbody tr").count() == 2
    finally:
        page.close()
