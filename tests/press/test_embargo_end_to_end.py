"""An embargoed release, end to end: staff brief the press from the console, real workers
mail the press list at once (banner, the embargo in each journalist's zone and language),
moving the embargo tells the press once, and supporters get the alert exactly once when the
(moved) embargo passes at 10:00 Brussels, not a minute before.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from newsletter.campaigns.models import Campaign, CampaignKind
from newsletter.content.models import PostKind
from newsletter.content.service import create_post
from newsletter.press import service
from newsletter.press.models import PressMessage
from newsletter.staff.models import AuditLogEntry, StaffRole
from newsletter.web.app import create_app
from tests.admin.helpers import StaffClient, make_staff
from tests.conftest import (
    REDIS_BROKER_DB,
    REDIS_FIXTURE_DB,
    REDIS_HOST_URL,
    clock_offset_to,
    make_test_settings,
)
from tests.content.helpers import EN, FR, seed_readers, stays

pytestmark = pytest.mark.slow
BRUSSELS = ZoneInfo("Europe/Brussels")
FIRST_EMBARGO = dt.datetime(2027, 2, 4, 9, 0, tzinfo=BRUSSELS)
EMBARGO = dt.datetime(2027, 2, 4, 10, 0, tzinfo=BRUSSELS)  # 09:00 UTC
BRIEFING_DAY = EMBARGO - dt.timedelta(days=1)
JOURNALISTS = (
    ("Mireille Kabila", "mireille@radio-kin.example", "Radio Kin", "fr", "Africa/Kinshasa"),
    ("Sam Porter", "sam@wire-ny.example", "Wire NY", "en", "America/New_York"),
    ("Lucía Paredes", "lucia@diario-lima.example", "Diario Lima", "en", "America/Lima"),
)
SUPPORTERS = ["s1@example.org", "s2@example.org"]


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def _console_action(client: StaffClient, post_id: int, action: str, **fields: str) -> None:
    first = client.post(f"/admin/posts/{post_id}/press/{action}", fields)
    assert first.status_code == 200, first.text
    assert "This emails 3 journalists." in first.text
    second = client.post(
        f"/admin/posts/{post_id}/press/{action}", fields | {"confirmed_count": "3"}
    )
    assert second.status_code == 303, second.text


@pytest.mark.timeout(400)
def test_release_embargoed_for_ten_brussels_briefs_the_press_then_alerts_supporters_once(
    tmp_path, pg_url, committed_db, smtp_server, redis_client, fleet_factory
) -> None:
    with committed_db.begin() as session:
        seed_readers(session, "press-releases", SUPPORTERS, languages=("en",))
        for name, email, outlet, language, zone in JOURNALISTS:
            service.save_journalist(
                session, service.JournalistInput(email, name, outlet, language, zone, "extractives")
            )
        post = create_post(
            session, kind=PostKind.PRESS_RELEASE, translations=[EN, FR], languages=["en", "fr"]
        )
        roles = {"en": "Spokesperson", "fr": "Porte-parole"}
        contact = service.ContactInput(
            "Amani Bisimwa", "KP CSC", roles, "+243 000 000 000", "press@example.org", "FR, EN"
        )
        service.set_contacts(post, [contact])
        post_id, public_id = post.id, post.public_id
    make_staff(committed_db, StaffRole.EDITOR)

    broker = f"{REDIS_HOST_URL}/{REDIS_BROKER_DB}"
    fleet = fleet_factory(workers=1, clock_offset_seconds=clock_offset_to(BRIEFING_DAY))
    app = create_app(
        make_test_settings(
            tmp_path / "web",
            database_url=pg_url,
            broker_url=broker,
            redis_url=f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}",
            smtp_url=smtp_server.url,
            clock_offset_seconds=clock_offset_to(BRIEFING_DAY),
        )
    )
    client = StaffClient(app)
    client.sign_in("editor@coalition.example.org")
    _console_action(
        client, post_id, "brief", embargo="2027-02-04T09:00", timezone="Europe/Brussels"
    )
    briefs = {m.rcpt_tos[0]: m.message for m in smtp_server.wait_for(3, timeout=30)}
    expected = {"Africa/Kinshasa": "09:00", "America/New_York": "03:00", "America/Lima": "03:00"}
    for _name, email, _outlet, language, zone in JOURNALISTS:
        subject, text = str(briefs[email]["Subject"]), _text(briefs[email])
        banner = "SOUS EMBARGO JUSQU’AU" if language == "fr" else "EMBARGOED UNTIL"
        assert subject.startswith(banner), subject
        assert banner in text and expected[zone] in text
        assert ("Porte-parole" if language == "fr" else "Spokesperson") in text
        assert "+243 000 000 000" in text
    assert "Kinshasa" in _text(briefs["mireille@radio-kin.example"])

    _console_action(client, post_id, "move", embargo="2027-02-04T10:00", timezone="Europe/Brussels")
    with committed_db() as session:
        ids = list(session.scalars(select(PressMessage.id).where(PressMessage.key.like("moved:%"))))
    for _ in range(2):  # a retried task and the beat: still one notice each
        fleet.app.send_task("newsletter.send_press_messages", args=[ids])
        fleet.app.send_task("newsletter.press_tick")
    moved = smtp_server.wait_for(6, timeout=30)[3:]
    assert stays(lambda: len(smtp_server.messages) == 6, 2.0)
    assert Counter(m.rcpt_tos[0] for m in moved) == {j[1]: 1 for j in JOURNALISTS}
    ny = next(m.message for m in moved if m.rcpt_tos[0] == "sam@wire-ny.example")
    assert "04:00" in _text(ny) and "New York" in _text(ny)
    # The public release has not happened: no alert, no archive page.
    assert client.http.get(f"/archive/posts/{public_id}").status_code == 404
    fleet.app.send_task("newsletter.content_tick").get(timeout=20)
    assert stays(lambda: len(smtp_server.messages) == 6, 1.0)
    fleet.stop()
    app.state.engine.dispose()

    fleet = fleet_factory(
        workers=1, clock_offset_seconds=clock_offset_to(EMBARGO - dt.timedelta(seconds=40))
    )
    assert fleet.app.send_task("newsletter.content_tick").get(timeout=20) == []
    fleet.stop()
    fleet = fleet_factory(
        workers=1, clock_offset_seconds=clock_offset_to(EMBARGO + dt.timedelta(seconds=5))
    )
    ticks = [fleet.app.send_task("newsletter.content_tick") for _ in range(2)]
    started = [cid for tick in ticks for cid in tick.get(timeout=20)]
    for campaign_id in started:
        fleet.app.send_task("newsletter.start_campaign", args=[campaign_id])
    alerts = smtp_server.wait_for(8, timeout=30)[6:]
    assert stays(lambda: len(smtp_server.messages) == 8, 2.0)
    assert Counter(m.rcpt_tos[0] for m in alerts) == {s: 1 for s in SUPPORTERS}
    with committed_db() as session:
        (campaign,) = session.scalars(select(Campaign).where(Campaign.kind == CampaignKind.ALERT))
        assert EMBARGO <= campaign.created_at < EMBARGO + dt.timedelta(minutes=1)
        actions = [e.action for e in session.scalars(select(AuditLogEntry))]
    assert actions.count("press.brief") == 1 and actions.count("press.move") == 1
    # No press mail is a campaign: nothing of the briefing is in the archive.
    assert all("EMBARGO" not in str(m.message["Subject"]) for m in alerts)
    after = create_app(
        make_test_settings(
            tmp_path / "web2",
            database_url=pg_url,
            clock_offset_seconds=clock_offset_to(EMBARGO + dt.timedelta(minutes=1)),
        )
    )
    with TestClient(after) as http:
        assert http.get(f"/archive/posts/{public_id}").status_code == 200
    after.state.engine.dispose()
