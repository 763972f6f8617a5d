"""Campaign pages: compose, preview as a subscriber (per language, HTML and text), test-send
to the real SMTP test server, schedule in the organisation's zone, watch a real worker send,
pause and resume; duplicate; edits refused once sending."""

from __future__ import annotations

import contextlib
import datetime as dt
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns.models import Campaign, CampaignStatus
from newsletter.db import unit_of_work
from newsletter.staff.models import AuditLogEntry, StaffRole
from tests.admin.factories import XSS, make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for, browser_sign_in, make_staff
from tests.conftest import (
    REDIS_BROKER_DB,
    REDIS_HOST_URL,
    _redis,
    make_test_settings,
    start_worker_process,
    wait_for_worker,
)

RECIPIENTS = 24


def seed(factory: sessionmaker[Session]) -> dict[str, int]:
    with unit_of_work(factory) as db:
        press = make_list(db, "press", "Press releases", "Communiqués")
        first = None
        for i in range(RECIPIENTS):
            s = make_subscriber(
                db,
                f"reader{i}@example.org",
                name=f"Reader {i}",
                language="fr" if i % 2 else "en",
                lists=[press],
            )
            first = first or s
        return {"press": press.id, "reader": first.id}


def compose(client: StaffClient, list_id: int, **extra: str) -> int:
    client.get("/admin/campaigns/new")
    response = client.post(
        "/admin/campaigns/new/edit",
        {
            "name": "November update",
            "template_name": "newsletter",
            "lists": [str(list_id)],
            "subject_en": "Our November update",
            "body_en": "The coalition met in **Dakar**.",
            "subject_fr": "Nos nouvelles de novembre",
            "body_fr": "La coalition s'est réunie.",
            **extra,
        },
    )
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split("/")[3].split("?")[0])


def test_compose_preview_duplicate_and_no_edit_once_sending(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    ids = seed(committed_db)
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    campaign_id = compose(client, ids["press"], subject_en=f"Hello {XSS}")
    page = client.get(
        f"/admin/campaigns/{campaign_id}/preview",
        params={"language": "fr", "subscriber_id": str(ids["reader"])},
    )
    assert page.status_code == 200
    assert "Nos nouvelles de novembre" in page.text and "reader0@example.org" in page.text
    english = client.get(f"/admin/campaigns/{campaign_id}/preview", params={"language": "en"})
    assert "&lt;script&gt;" in english.text and "<script>alert" not in english.text
    html = client.get(f"/admin/campaigns/{campaign_id}/preview.html", params={"language": "en"})
    assert "<strong>Dakar</strong>" in html.text and "<script>alert" not in html.text
    assert "default-src 'none'" in html.headers["content-security-policy"]
    copy = client.post(f"/admin/campaigns/{campaign_id}/duplicate")
    assert copy.status_code == 303
    with unit_of_work(committed_db) as db:
        original = db.get(Campaign, campaign_id)
        original.status = CampaignStatus.SENDING
        copies = db.scalars(select(Campaign).where(Campaign.id != campaign_id)).all()
        assert len(copies) == 1 and len(copies[0].variants) == 2
        assert [m.id for m in copies[0].lists] == [ids["press"]]
    refused = client.post(
        f"/admin/campaigns/{campaign_id}/edit",
        {
            "name": "x",
            "template_name": "newsletter",
            "lists": [str(ids["press"])],
            "subject_en": "Changed",
        },
    )
    assert refused.status_code == 400
    with committed_db() as db:
        actions = set(db.scalars(select(AuditLogEntry.action)))
        assert {"campaign.create", "campaign.duplicate"} <= actions


@pytest.fixture
def slow_worker(tmp_path: Path, pg_url: str, committed_db: object, smtp_server) -> Iterator:  # type: ignore[no-untyped-def]
    """A real worker sending 3 messages a second, so a pause lands mid-campaign (at 6 a
    second the 24 messages were gone before the page's 3-second refresh showed "sending")."""
    from workers.celery_app import make_celery

    broker = f"{REDIS_HOST_URL}/{REDIS_BROKER_DB}"
    _redis(REDIS_BROKER_DB).flushdb()
    settings = make_test_settings(
        tmp_path,
        database_url=pg_url,
        broker_url=broker,
        smtp_url=smtp_server.url,
        smtp_rate_per_second=3,
        send_chunk_size=2,
        send_batch_size=10,
        org_timezone="Europe/Paris",
    )
    process = start_worker_process(settings, tmp_path / "worker.log")
    app = make_celery(settings)
    try:
        wait_for_worker(app)
        yield settings, app
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        if process.poll() is None:
            process.kill()
        app.close()
        _redis(REDIS_BROKER_DB).flushdb()


def wait_for_status(page, status: str, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    """Reload until the campaign page shows ``status``: an assertion polling the DOM while the
    page's own 3-second refresh replaces it was seen to keep reading the old document."""
    deadline = time.monotonic() + seconds
    while page.locator("#campaign-status").inner_text().strip() != status:
        assert time.monotonic() < deadline, f"the campaign never became {status}"
        time.sleep(0.5)
        page.reload()


def test_compose_preview_test_send_schedule_send_pause_resume_in_a_browser(
    tmp_path: Path,
    committed_db: sessionmaker[Session],
    slow_worker,
    smtp_server,
    live_server,
    browser,
) -> None:
    settings, celery = slow_worker
    ids = seed(committed_db)
    make_staff(committed_db, StaffRole.EDITOR)
    base = live_server(
        app_for(
            tmp_path,
            settings.database_url,
            broker_url=settings.broker_url,
            smtp_url=smtp_server.url,
            org_timezone="Europe/Paris",
        )
    )
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "editor@coalition.example.org")
        page.goto(base + "/admin/campaigns/new")
        page.fill("input[name=name]", "November update")
        page.check(f"input[name=lists][value='{ids['press']}']")
        page.fill("input[name=subject_en]", "Our November update")
        page.fill("textarea[name=body_en]", "The coalition met in **Dakar**.")
        page.fill("input[name=subject_fr]", "Nos nouvelles de novembre")
        page.fill("textarea[name=body_fr]", "La coalition s'est réunie à **Dakar**.")
        page.click("#campaign-form button[type=submit]")
        expect(page.locator("#campaign-status")).to_have_text("draft")
        campaign_url = page.url.split("?")[0]
        campaign_id = int(campaign_url.rsplit("/", 1)[1])

        page.goto(f"{campaign_url}/preview?language=fr&subscriber_id={ids['reader']}")
        expect(page.locator("#preview-subject")).to_have_text("Nos nouvelles de novembre")
        expect(page.locator("#preview-text")).to_contain_text("réunie à **Dakar**")
        frame = page.frame_locator("iframe.preview")
        expect(frame.locator("strong", has_text="Dakar")).to_be_visible()

        page.goto(campaign_url)
        page.fill("#test-form input[name=address]", "desk@coalition.example.org")
        page.select_option("#test-form select[name=language]", "fr")
        page.click("#test-form button[type=submit]")
        expect(page.locator("p.notice")).to_be_visible()
        (test_message,) = smtp_server.wait_for(1)
        assert test_message.rcpt_tos == ("desk@coalition.example.org",)
        assert "novembre" in str(test_message.message["Subject"])

        page.fill("#schedule-form input[name=at]", "2099-12-01T09:30")
        page.click("#schedule-form button[type=submit]")
        expect(page.locator("#scheduled")).to_have_text(
            "2099-12-01 09:30 Europe/Paris (2099-12-01 08:30 UTC)"
        )
        with unit_of_work(committed_db) as db:  # time passes: the campaign is now due
            db.get(Campaign, campaign_id).scheduled_at = dt.datetime.now(dt.UTC)
        celery.send_task("newsletter.tick")
        expect(page.locator("#pause-form")).to_be_visible(timeout=20_000)  # sending
        page.click("#pause-form button[type=submit]")
        expect(page.locator("#campaign-status")).to_have_text("paused")
        time.sleep(1.5)  # in-flight chunks settle
        held = len(smtp_server.messages)
        time.sleep(1.5)
        assert len(smtp_server.messages) == held < RECIPIENTS + 1
        page.reload()
        page.click("#resume-form button[type=submit]")
        expect(page.locator("#campaign-status")).to_have_text("sending")  # resumed at once
        wait_for_status(page, "sent")
        expect(page.locator("#p-sent")).to_have_text(str(RECIPIENTS))
        assert len(smtp_server.wait_for(RECIPIENTS + 1)) == RECIPIENTS + 1
    finally:
        page.close()
