"""Send now in real Chromium, with a real worker and the real SMTP server: the confirmation
page states the count, a double click on its button sends every message once, and the campaign
page is live at once (sending, the count, who started it) and reloads itself until sent."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import unit_of_work
from newsletter.staff.models import StaffRole
from tests.admin.factories import make_list, make_subscriber
from tests.admin.helpers import app_for, browser_sign_in, make_staff

READERS = 5


def test_send_now_confirms_the_count_double_click_sends_once_and_the_page_is_live(
    tmp_path: Path,
    committed_db: sessionmaker[Session],
    celery_worker,
    smtp_server,
    live_server,
    browser,
) -> None:
    with unit_of_work(committed_db) as db:
        members = make_list(db, "members", "Members", "Membres")
        for i in range(READERS):
            make_subscriber(db, f"member{i}@example.org", lists=[members])
        list_id = members.id
    make_staff(committed_db, StaffRole.EDITOR)
    settings = celery_worker.settings
    base = live_server(app_for(tmp_path, settings.database_url, broker_url=settings.broker_url))
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "editor@coalition.example.org")
        page.goto(base + "/admin/campaigns/new")
        page.fill("input[name=name]", "December update")
        page.check(f"input[name=lists][value='{list_id}']")
        page.fill("input[name=subject_en]", "Our December update")
        page.fill("textarea[name=body_en]", "The coalition met.")
        page.click("#campaign-form button[type=submit]")
        expect(page.locator("#campaign-status")).to_have_text("draft")
        page.click("#send-form button[type=submit]")
        expect(page.locator("#confirm-total")).to_contain_text(f"{READERS} readers")
        assert smtp_server.messages == []  # nothing left before the confirmation
        page.dblclick("#confirm-form button[type=submit]")
        expect(page.locator("#started-by")).to_have_text("Editor Person")
        expect(page.locator("#p-total")).to_have_text(str(READERS))
        smtp_server.wait_for(READERS, timeout=20)
        deadline = time.monotonic() + 20  # the page's own refresh shows the end
        while page.locator("#campaign-status").inner_text().strip() != "sent":
            assert time.monotonic() < deadline, "the live page never showed sent"
            time.sleep(0.5)
        expect(page.locator("#finished-at")).to_be_visible()
        time.sleep(1.0)
        assert len(smtp_server.messages) == READERS  # the double click sent each once
    finally:
        page.close()
