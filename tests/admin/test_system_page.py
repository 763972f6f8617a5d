"""The System page and the dashboard's service warnings, in headless Chromium.

Nothing running (no worker, beat never ticked, a relay that refuses): the dashboard warns of
all three and the System page shows why. With a real worker that ran beat's tick and a live
relay, the warnings are gone and the page lists the worker.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import unit_of_work
from newsletter.staff.models import StaffRole
from tests.admin.helpers import CREATED_APPS, StaffClient, app_for, browser_sign_in, make_staff
from tests.conftest import REDIS_BROKER_DB, REDIS_HOST_URL, _redis
from tests.observability.helpers import free_port, wait_until
from tests.sending.helpers import seed_campaign

ADMIN = "admin@coalition.example.org"
WARNINGS = ("#warning-beat_stale", "#warning-no_worker", "#warning-relay_refusing")


def _failed_delivery(factory: sessionmaker[Session]) -> int:
    from newsletter.campaigns.models import Delivery, DeliveryStatus
    from newsletter.campaigns.service import start_campaign

    with unit_of_work(factory) as session:
        seeded = seed_campaign(session, 2)
        start_campaign(session, seeded.campaign_id)
    with unit_of_work(factory) as session:
        delivery = session.query(Delivery).order_by(Delivery.id).first()
        assert delivery is not None
        delivery.status = DeliveryStatus.FAILED
        delivery.last_reply_code = 550
        delivery.last_reply = "5.1.1 <reader0@example.org>: user unknown"
        return delivery.id


def test_nothing_running_warns_on_the_dashboard_and_the_system_page_says_why(
    tmp_path: Path, pg_url: str, committed_db, live_server, browser
) -> None:
    make_staff(committed_db, StaffRole.ADMIN)
    failed = _failed_delivery(committed_db)
    _redis(REDIS_BROKER_DB).flushdb()
    app = app_for(tmp_path, pg_url, broker_url=f"{REDIS_HOST_URL}/{REDIS_BROKER_DB}",
                  smtp_url=f"smtp://127.0.0.1:{free_port()}?timeout=2")  # fmt: skip
    base = live_server(app)
    page = browser.new_page()
    try:
        browser_sign_in(page, base, ADMIN)
        page.goto(base + "/admin/")
        for selector in WARNINGS:
            assert page.locator(selector).is_visible(), selector
        page.click("#warning-no_worker a")
        page.wait_for_url(base + "/admin/system")
        assert "No worker answered." in page.locator("#workers").inner_text()
        assert "Beat has never ticked." in page.locator("#beat").inner_text()
        assert "relay0" in page.locator("#relays").inner_text()
        assert page.locator("#relays td").nth(1).inner_text() == "no"
        errors = page.locator("#errors").inner_text()
        assert str(failed) in errors and "550" in errors
        replies = page.locator("#replies").inner_text()
        assert "[address]" in replies and "reader0@example.org" not in page.content()
        assert "GB free" in page.locator("#disk").inner_text()
    finally:
        page.close()


def test_a_running_worker_and_a_ticking_beat_clear_the_warnings(
    tmp_path: Path, committed_db, celery_worker, live_server, browser
) -> None:
    make_staff(committed_db, StaffRole.ADMIN)
    result = celery_worker.app.send_task("newsletter.tick")  # what beat sends every minute
    result.get(timeout=30)
    shared = ("broker_url", "result_backend_url", "redis_url", "smtp_url")
    same = {name: getattr(celery_worker.settings, name) for name in shared}
    app = app_for(tmp_path, celery_worker.settings.database_url, **same)
    base = live_server(app)
    page = browser.new_page()
    try:
        browser_sign_in(page, base, ADMIN)
        page.goto(base + "/admin/")
        for selector in WARNINGS:
            assert page.locator(selector).count() == 0, selector
        page.goto(base + "/admin/system")
        assert "celery@" in page.locator("#workers").inner_text()
        wait_until(lambda: "seconds ago" in page.locator("#beat").inner_text(), 5, "beat age")
        assert page.locator("#relays td").nth(1).inner_text() == "yes"
    finally:
        page.close()


@pytest.mark.parametrize("path", ["/admin/system", "/admin/deliverability"])
def test_only_admins_see_the_system_pages(tmp_path: Path, pg_url: str, committed_db, path) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    assert client.get(path).status_code == 403
    client.close()
    assert CREATED_APPS
