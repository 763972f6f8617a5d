"""Digest approval: a digest held by DIGEST_HOLD_FOR_APPROVAL is listed for staff, previewed,
approved (it is scheduled for now and its start enqueued) or discarded (that month is never
built again); audited; viewers can look but not approve. The last test drives the page in
headless Chromium."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.content.digest import Period, create_digest
from newsletter.content.service import publish_post
from newsletter.db import unit_of_work
from newsletter.staff.models import AuditLogEntry, StaffRole
from tests.admin.factories import make_list
from tests.admin.helpers import (
    StaffClient,
    app_for,
    browser_sign_in,
    make_staff,
    staff_settings,
)
from tests.content.helpers import EN, FR, press_release

pytestmark = pytest.mark.date_sensitive

NOW = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)


def held_digest(
    factory: sessionmaker[Session], tmp_path: Path, pg_url: str, month: int = 10
) -> int:
    """The held digest of 2026-``month``, built by the beat's own function."""
    settings = staff_settings(tmp_path, pg_url, digest_hold_for_approval=True)
    with unit_of_work(factory) as db:
        if db.scalar(select(Campaign.id)) is None:
            make_list(db, "monthly-digest", "Monthly digest", "Synthèse mensuelle")
        post = press_release(db, EN, FR)
        publish_post(post, at=dt.datetime(2026, month, 5, tzinfo=dt.UTC), now=NOW)
        db.flush()
        digest = create_digest(settings, db, Period(2026, month), NOW)
        assert digest is not None and digest.status == CampaignStatus.DRAFT
        return digest.id


def signed_in(tmp_path: Path, pg_url: str, role: StaffRole) -> StaffClient:
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in(f"{role.value}@coalition.example.org")
    return client


def test_editors_approve_or_discard_a_held_digest_and_viewers_only_look(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    approved_id = held_digest(committed_db, tmp_path, pg_url, 10)
    discarded_id = held_digest(committed_db, tmp_path, pg_url, 9)
    for role in (StaffRole.VIEWER, StaffRole.EDITOR):
        make_staff(committed_db, role)
    viewer = signed_in(tmp_path, pg_url, StaffRole.VIEWER)
    listed = viewer.get("/admin/digests")
    assert "Digests awaiting approval" in listed.text and "Monthly digest 2026-10" in listed.text
    page = viewer.get(f"/admin/digests/{approved_id}")
    assert page.status_code == 200 and "approve-form" not in page.text
    assert viewer.post(f"/admin/digests/{approved_id}/approve").status_code == 403

    editor = signed_in(tmp_path, pg_url, StaffRole.EDITOR)
    page = editor.get(f"/admin/digests/{approved_id}", params={"language": "fr"})
    assert "approve-form" in page.text and "La coalition demande" in page.text
    frame = editor.get(f"/admin/campaigns/{approved_id}/preview.html", params={"language": "fr"})
    assert "La coalition demande une définition élargie" in frame.text
    asked = editor.post(f"/admin/digests/{approved_id}/approve")  # first the count
    assert asked.status_code == 200 and "confirm-total" in asked.text
    approved = editor.post(f"/admin/digests/{approved_id}/approve", {"confirm": "yes"})
    assert approved.headers["location"] == f"/admin/campaigns/{approved_id}?notice=started"
    again = editor.post(f"/admin/digests/{approved_id}/approve", {"confirm": "yes"})
    assert again.status_code == 409 and "no longer waiting" in again.text
    assert editor.post(f"/admin/digests/{discarded_id}/discard").status_code == 303
    assert "No digest is waiting for approval." in editor.get("/admin/digests").text
    assert editor.get(f"/admin/digests/{approved_id}").status_code == 404

    settings = staff_settings(tmp_path, pg_url, digest_hold_for_approval=True)
    with unit_of_work(committed_db) as db:
        approved = db.get(Campaign, approved_id)
        assert (
            approved.status == CampaignStatus.SCHEDULED
            and approved.scheduled_at <= dt.datetime.now(dt.UTC)
        )
        assert db.get(Campaign, discarded_id).status == CampaignStatus.CANCELLED
        assert create_digest(settings, db, Period(2026, 9), NOW) is None  # never rebuilt
        entries = db.execute(
            select(AuditLogEntry.action, AuditLogEntry.object_id).where(
                AuditLogEntry.action.like("digest.%")
            )
        ).all()
        assert sorted(entries) == [
            ("digest.approve", str(approved_id)),
            ("digest.discard", str(discarded_id)),
        ]


def test_a_held_digest_is_previewed_and_approved_in_a_browser(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], live_server, browser
) -> None:
    digest_id = held_digest(committed_db, tmp_path, pg_url)
    make_staff(committed_db, StaffRole.EDITOR)
    base = live_server(app_for(tmp_path, pg_url))
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "editor@coalition.example.org")
        page.click("nav a[href='/admin/digests']")
        page.click(f"#held-digests a[href='/admin/digests/{digest_id}']")
        frame = page.frame_locator("#digest-preview")
        expect(
            frame.get_by_text("Coalition asks the plenary for a broader definition")
        ).to_be_visible()
        page.click("#approve-form button[type=submit]")
        expect(page.locator("#confirm-total")).to_be_visible()  # the count, before it goes
        page.click("#confirm-form button[type=submit]")
        expect(page.locator("#campaign-status")).to_have_text("scheduled")
        expect(page.locator("p.notice")).to_be_visible()
    finally:
        page.close()
