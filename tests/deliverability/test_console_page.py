"""The console's Deliverability page in headless Chromium, against the loopback DNS server.

An admin opens the page with a zone that publishes no SPF record: the page names that fault
and its fix, and shows the checks that pass as passing.
"""

from __future__ import annotations

from pathlib import Path

from newsletter.staff.models import StaffRole
from tests.admin.helpers import app_for, browser_sign_in, make_staff
from tests.deliverability.conftest import zone
from tests.deliverability.dns_server import LoopbackDns

ADMIN = "admin@coalition.example.org"


def test_an_admin_sees_the_missing_spf_and_its_fix(
    tmp_path: Path, pg_url: str, committed_db, key: str, dns_server: LoopbackDns, smtp_server,
    live_server, browser,
) -> None:  # fmt: skip
    dns_server.serve(zone(key, spf=None))
    make_staff(committed_db, StaffRole.ADMIN)
    app = app_for(
        tmp_path, pg_url, smtp_url=smtp_server.url,
        from_address="news@coalition.example.org", bounce_domain="bounces.coalition.example.org",
        dkim_domain="coalition.example.org", dkim_selector="news2026",
        dkim_private_key_path=tmp_path / "dkim.pem", inbound_mx_host="mx.coalition.example.org",
        dns_nameserver=dns_server.nameserver, dns_timeout=3,
    )  # fmt: skip
    base = live_server(app)
    page = browser.new_page()
    try:
        browser_sign_in(page, base, ADMIN)
        page.goto(base + "/admin/deliverability")
        spf = page.locator("#check-spf_from").inner_text()
        assert "Problem" in spf and "publishes no SPF record" in spf
        assert "Add a TXT record at coalition.example.org" in spf
        assert "OK" in page.locator("#check-dkim").inner_text()
        assert "OK" in page.locator("#check-mx").inner_text()
    finally:
        page.close()
