"""What goes where, no mass mail by surprise, and the two-person rule, through the console's
real HTTP routes on PostgreSQL: routes stored on the list and edited on its page, the first
run's default lists, a missed alert shown on the post and the dashboard, the confirmation
steps with their counts, a double send that sends once, a second editor's approval."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.campaigns import approval, service
from newsletter.campaigns.models import Campaign, CampaignKind, CampaignStatus, Delivery
from newsletter.content.routing import Route, lists_for, routes_of
from newsletter.db import unit_of_work
from newsletter.staff.models import AuditLogEntry, StaffRole
from newsletter.subscribers.models import MailingList
from tests.admin.factories import make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for, make_staff, staff_settings
from tests.admin.test_campaigns import compose

PRESS = {
    "kind": "press_release",
    "title_en": "Mining code vote",
    "body_en": "The vote is **today**.",
    "title_fr": "Vote du code minier",
    "body_fr": "Le vote a lieu **aujourd’hui**.",
}


def _readers(factory: sessionmaker[Session], slug: str, count: int) -> int:
    with unit_of_work(factory) as db:
        press = make_list(db, slug, "Press", "Presse")
        for i in range(count):
            make_subscriber(
                db, f"{slug}{i}@example.org", language="fr" if i % 3 == 0 else "en", lists=[press]
            )
        return press.id


def test_a_list_named_press_gets_alerts_once_staff_route_them_there(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    list_id = _readers(committed_db, "press", 4)  # fr: 0 and 3; en: 1 and 2
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    client.get("/admin/posts/new")
    saved = client.post("/admin/posts/new/edit", PRESS | {"action": "save", "publish": "now"})
    confirm = saved.headers["location"]
    assert "No list receives Press-release alerts" in client.get(confirm).text
    client.post(confirm, {"alert": "alert"})  # no list: nothing can be sent; still published
    post_id = int(confirm.split("/")[3])
    page = client.get(f"/admin/posts/{post_id}/edit")
    assert 'id="alert-unrouted"' in page.text
    assert "unrouted-alert" in client.get("/admin/").text

    listing = client.get("/admin/lists")
    assert "campaigns only" in listing.text
    client.get(f"/admin/lists/{list_id}")
    edited = client.post(
        f"/admin/lists/{list_id}",
        {
            "slug": "press",
            "is_public": "true",
            "name_en": "Press",
            "name_fr": "Presse",
            "route_press_release_alerts": "true",
        },
    )
    assert edited.status_code == 303
    assert "Press-release alerts" in client.get("/admin/lists").text
    settings = staff_settings(tmp_path, pg_url)
    with committed_db() as db:
        (press,) = lists_for(settings, db, Route.PRESS_RELEASE_ALERTS)
        assert press.id == list_id and routes_of(settings, press) == {Route.PRESS_RELEASE_ALERTS}
        entry = db.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "list.update")).one()
        assert entry.detail["routes"] == ["press_release_alerts"]
    assert "unrouted-alert" not in client.get("/admin/").text  # the tick will alert it now

    # the post form tells who a press release alerts: per list and language
    form = client.get("/admin/posts/new").text
    assert "4 readers" in form and "<td>fr</td><td>2</td>" in form


def test_a_fresh_install_makes_its_bilingual_default_lists_once(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    assert "no-lists-notice" in client.get("/admin/").text
    assert "first-run" in client.get("/admin/lists").text
    assert client.post("/admin/lists/defaults").status_code == 303
    client.post("/admin/lists/defaults")  # a second click makes nothing more
    settings = staff_settings(tmp_path, pg_url)
    with committed_db() as db:
        lists = db.scalars(select(MailingList).order_by(MailingList.slug)).all()
        assert len(lists) == 4
        names = {m.slug: {t.language: t.name for t in m.translations} for m in lists}
        assert names["events"] == {"en": "Events", "fr": "Événements"}
        for route in Route:
            assert len(lists_for(settings, db, route)) == 1
    assert "no-lists-notice" not in client.get("/admin/").text


def test_send_now_confirms_the_count_and_a_double_send_sends_once(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    list_id = _readers(committed_db, "members", 6)
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    campaign_id = compose(client, list_id)
    asked = client.get(f"/admin/campaigns/{campaign_id}/send")
    assert "6 readers" in asked.text and "confirm-form" in asked.text
    unconfirmed = client.post(f"/admin/campaigns/{campaign_id}/send")  # no confirmation
    assert unconfirmed.status_code == 200 and "confirm-form" in unconfirmed.text
    with committed_db() as db:
        assert db.get(Campaign, campaign_id).status == CampaignStatus.DRAFT
    first = client.post(f"/admin/campaigns/{campaign_id}/send", {"confirm": "yes"})
    second = client.post(f"/admin/campaigns/{campaign_id}/send", {"confirm": "yes"})
    assert first.headers["location"] == second.headers["location"]
    live = client.get(f"/admin/campaigns/{campaign_id}")
    assert 'id="campaign-status">sending' in live.text and 'id="p-total">6' in live.text
    assert "Editor Person" in live.text and 'id="started-at"' in live.text
    assert 'http-equiv="refresh"' in live.text
    with committed_db() as db:
        assert (
            len(db.scalars(select(Delivery).where(Delivery.campaign_id == campaign_id)).all()) == 6
        )
        starts = db.scalars(
            select(AuditLogEntry).where(AuditLogEntry.action == "campaign.start")
        ).all()
        assert len(starts) == 1


def test_two_person_rule_holds_alerts_and_big_campaigns_for_a_second_editor(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    list_id = _readers(committed_db, "press-releases", 3)
    first_id = make_staff(committed_db, StaffRole.EDITOR, "first@coalition.example.org")
    make_staff(committed_db, StaffRole.EDITOR, "second@coalition.example.org")
    rule = {"two_person_rule": True, "two_person_threshold": 2}
    app = app_for(tmp_path, pg_url, **rule)
    first, second = StaffClient(app), StaffClient(app)
    first.sign_in("first@coalition.example.org")
    second.sign_in("second@coalition.example.org")

    # an alert: held whoever publishes it
    first.get("/admin/posts/new")
    confirm = first.post("/admin/posts/new/edit", PRESS | {"action": "save", "publish": "now"})
    first.post(confirm.headers["location"], {"alert": "alert"})
    with committed_db() as db:
        alert = db.scalars(select(Campaign).where(Campaign.kind == CampaignKind.ALERT)).one()
        assert approval.is_awaiting(alert) and alert.approval_requested_by_id == first_id
        alert_id = alert.id
    assert "awaiting-approval" in second.get("/admin/").text
    own = first.post(f"/admin/campaigns/{alert_id}/approve", {"confirm": "yes"})
    assert "A second editor must approve" in own.text
    with committed_db() as db:
        assert db.get(Campaign, alert_id).status == CampaignStatus.DRAFT
    asked = second.post(f"/admin/campaigns/{alert_id}/approve")
    assert "confirm-total" in asked.text and "3 readers" in asked.text
    done = second.post(f"/admin/campaigns/{alert_id}/approve", {"confirm": "yes"})
    assert done.headers["location"].endswith("notice=started")

    # a newsletter above the threshold: "send now" asks for approval, sends nothing
    campaign_id = compose(first, list_id)
    held = first.post(f"/admin/campaigns/{campaign_id}/send", {"confirm": "yes"})
    assert held.headers["location"].endswith("notice=held")
    settings = staff_settings(tmp_path, pg_url, **rule)
    with unit_of_work(committed_db) as db:  # the engine itself refuses it too (any door)
        assert service.start_campaign(db, campaign_id, settings=settings).ranges == []
        campaign = db.get(Campaign, campaign_id)
        assert approval.is_awaiting(campaign) and campaign.total_count == 0
        assert db.get(Campaign, alert_id).approved_by_id is not None
        actions = db.scalars(select(AuditLogEntry.action)).all()
        assert actions.count("campaign.approval_request") == 2
        assert actions.count("campaign.approve") == 1
