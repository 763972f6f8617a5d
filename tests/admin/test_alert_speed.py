"""Alerts within seconds from every door: a press release published through the API, and one
published in the console in real Chromium, reach the real SMTP server through a real worker
in under 10 seconds, without the once-a-minute beat (no beat runs here at all).

The time measured is from the publishing request to the last message at the SMTP server.
"""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import unit_of_work
from newsletter.staff.models import StaffRole
from tests.admin.factories import make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for, browser_sign_in, make_staff
from tests.admin.test_api import token_for

READERS = 3
LIMIT_SECONDS = 10.0


def seed_press_list(factory: sessionmaker[Session]) -> int:
    """A list that receives press-release alerts (the settings' initial slug), three readers."""
    with unit_of_work(factory) as db:
        press = make_list(db, "press-releases", "Press releases", "Communiqués")
        for i in range(READERS):
            make_subscriber(
                db, f"alert{i}@example.org", language="fr" if i % 2 else "en", lists=[press]
            )
        return press.id


def test_an_api_publish_reaches_the_smtp_server_within_seconds(
    tmp_path: Path, committed_db: sessionmaker[Session], celery_worker, smtp_server
) -> None:
    seed_press_list(committed_db)
    writer = token_for(committed_db, StaffRole.EDITOR, ["posts:read", "posts:write"])
    settings = celery_worker.settings
    app = app_for(tmp_path, settings.database_url, broker_url=settings.broker_url)
    client = StaffClient(app).http
    body = {
        "kind": "press_release",
        "texts": {
            "en": {"title": "River survey published", "body_markdown": "Findings."},
            "fr": {"title": "Étude de la rivière publiée", "body_markdown": "Résultats."},
        },
        "publish": "now",
    }
    started = time.monotonic()
    created = client.post("/api/v1/posts", json=body, headers={"Authorization": f"Bearer {writer}"})
    assert created.status_code == 201, created.text
    messages = smtp_server.wait_for(READERS, timeout=LIMIT_SECONDS)
    elapsed = time.monotonic() - started
    print(f"API publish -> {READERS} messages at the SMTP server: {elapsed:.2f} s")
    assert elapsed < LIMIT_SECONDS
    subjects = sorted(str(m.message["Subject"]) for m in messages)
    assert any("River survey published" in s for s in subjects)
    assert any("Étude de la rivière publiée" in s for s in subjects)


def test_a_console_publish_in_chromium_reaches_the_smtp_server_within_seconds(
    tmp_path: Path,
    committed_db: sessionmaker[Session],
    celery_worker,
    smtp_server,
    live_server,
    browser,
) -> None:
    seed_press_list(committed_db)
    make_staff(committed_db, StaffRole.EDITOR)
    settings = celery_worker.settings
    base = live_server(app_for(tmp_path, settings.database_url, broker_url=settings.broker_url))
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "editor@coalition.example.org")
        page.goto(base + "/admin/posts/new")
        page.select_option("select[name=kind]", "press_release")
        page.fill("input[name=title_en]", "Court ruling on the dam")
        page.fill("textarea[name=body_en]", "The court **ruled**.")
        page.fill("input[name=title_fr]", "Décision du tribunal sur le barrage")
        page.fill("textarea[name=body_fr]", "Le tribunal a **statué**.")
        page.check("input[name=publish][value=now]")
        page.click("button[value=save]")
        confirm = page.locator("#publish-confirm")
        expect(confirm).to_contain_text(str(READERS))
        started = time.monotonic()
        page.click("#publish-confirm button[value=alert]")
        messages = smtp_server.wait_for(READERS, timeout=LIMIT_SECONDS)
        elapsed = time.monotonic() - started
        print(f"console publish -> {READERS} messages at the SMTP server: {elapsed:.2f} s")
        assert elapsed < LIMIT_SECONDS
        assert any("Court ruling on the dam" in str(m.message["Subject"]) for m in messages)
        expect(page.locator("p.notice")).to_be_visible()
    finally:
        page.close()
