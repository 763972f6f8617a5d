"""The dashboard and the campaign page show a campaign's rates exactly as
`newsletter.bounces.visibility` defines them (the staff warnings use the same figures)."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from newsletter.bounces.models import BounceKind
from newsletter.bounces.policy import record_bounce
from newsletter.bounces.visibility import campaign_rates
from newsletter.campaigns.models import DeliveryStatus
from newsletter.db import unit_of_work
from newsletter.staff.models import StaffRole
from tests.admin.helpers import StaffClient, app_for, make_staff, staff_settings
from tests.bounces.factories import make_campaign, make_delivery, make_subscriber


def cells(html: str, row: str) -> dict[str, str]:
    found = re.search(rf'<tr id="{row}">(.*?)</tr>', html, re.S)
    assert found, row
    pairs = re.findall(r'<td class="([a-z-]+)[^"]*">([^<]*)</td>', found.group(1))
    return {name: value.strip() for name, value in pairs}


def test_dashboard_and_campaign_page_show_the_rates_of_the_bounce_module(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    with unit_of_work(committed_db) as db:
        campaign = make_campaign(db)
        sent = [
            make_delivery(db, campaign, make_subscriber(db, f"r{i}@example.org")) for i in range(10)
        ]
        # Refused at send time: never left us, so it counts in no rate's denominator.
        make_delivery(
            db, campaign, make_subscriber(db, "x@example.org"), status=DeliveryStatus.FAILED
        )
        events = [(0, BounceKind.HARD), (1, BounceKind.HARD), (2, BounceKind.COMPLAINT)]
        events.append((2, BounceKind.COMPLAINT))  # the same person's second report
        for n, (index, kind) in enumerate(events):
            record_bounce(
                db, source="t", source_event_id=str(n), kind=kind, diagnostic="",
                delivery_id=sent[index].id, settings=settings,
            )  # fmt: skip
        campaign_id = campaign.id
    with committed_db() as db:
        rates = campaign_rates(db, campaign_id, settings)
    assert (rates.sent, rates.bounced, rates.complaints) == (10, 2, 1)
    expected = {
        "delivered": "8 / 10",
        "delivery-rate": "80.0 %",
        "bounce-rate": "20.0 %",
        "complaint-rate": "10.00 %",
    }
    make_staff(committed_db, StaffRole.VIEWER)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("viewer@coalition.example.org")
    dashboard = client.get("/admin/")
    assert cells(dashboard.text, f"campaign-{campaign_id}") == expected
    page = client.get(f"/admin/campaigns/{campaign_id}").text
    on_page = re.search(r'<table id="rates">.*?<tbody><tr>(.*?)</tr>', page, re.S).group(1)
    assert cells(f'<tr id="rates">{on_page}</tr>', "rates") == {
        k: v for k, v in expected.items() if k != "delivered"
    }
