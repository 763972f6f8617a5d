"""The bounce pages over real HTTP and in Chromium: suppressions (search, reason, lift with an
audited reason), staff warnings (open, resolve), the review queue (read, attribute, discard,
reprocess) of a quarantined DSN in a realistic format; roles, audit, French."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.bounces.inbox import store_inbound
from newsletter.bounces.models import (
    BounceEvent,
    BounceKind,
    InboundMessage,
    InboundStatus,
    StaffWarning,
    StaffWarningKind,
)
from newsletter.bounces.processing import process_inbound
from newsletter.bounces.warnings import raise_warning
from newsletter.config import Settings
from newsletter.db import unit_of_work
from newsletter.staff.models import AuditLogEntry, StaffRole
from newsletter.subscribers.models import Subscriber, SubscriberStatus, SuppressionReason
from newsletter.subscribers.status import is_suppressed, suppress_address
from tests.admin.factories import make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for, browser_sign_in, make_staff, staff_settings

DSN = Path(__file__).parent / "messages" / "relay_forwarded_user_unknown.eml"


def signed_in(tmp_path: Path, pg_url: str, factory: sessionmaker[Session], role: StaffRole):  # type: ignore[no-untyped-def]
    make_staff(factory, role)
    client = StaffClient(app_for(tmp_path, pg_url))
    assert client.sign_in(f"{role.value}@coalition.example.org").status_code == 303
    return client


def quarantined_dsn(factory: sessionmaker[Session], settings: Settings, recipient: str) -> int:
    """Store the forwarded DSN as the receiver would and process it: nobody can attribute it
    (no VERP token, a Message-ID we never sent), so it waits for review."""
    raw = DSN.read_text(encoding="utf-8").replace("%RCPT%", recipient)
    data = raw.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    with unit_of_work(factory) as db:
        inbound = store_inbound(
            db,
            source="inbound",
            source_ref=f"dsn-{recipient}",
            raw=data,
            envelope_from="",
            envelope_to=["postmaster@coalition.example.org"],
        )
        assert inbound is not None
        db.flush()
        status = process_inbound(db, settings, inbound, trust_addresses=False)
        assert status == InboundStatus.QUARANTINED, inbound.status_reason
        return inbound.id


def seed_suppressions(factory: sessionmaker[Session]) -> dict[str, int]:
    with unit_of_work(factory) as db:
        press = make_list(db, "press", "Press releases", "Communiqués")
        back = make_subscriber(db, "returning@example.org", lists=[press])
        back.status = SubscriberStatus.BOUNCED
        make_subscriber(db, "complainer@example.org", status=SubscriberStatus.COMPLAINED)
        suppress_address(db, "returning@example.org", SuppressionReason.HARD_BOUNCE, "inbound")
        suppress_address(db, "complainer@example.org", SuppressionReason.COMPLAINT, "fbl")
        suppress_address(db, "gone@example.org", SuppressionReason.ERASED, "erasure")
        db.flush()
        return {"back": back.id}


def _suppression_id(factory: sessionmaker[Session], address: str) -> int:
    from newsletter.subscribers.addresses import address_hash
    from newsletter.subscribers.models import Suppression

    with unit_of_work(factory) as db:
        found = db.scalar(
            select(Suppression.id).where(Suppression.address_hash == address_hash(address))
        )
        assert found is not None
        return found


def test_suppressions_search_show_reasons_and_lift_with_an_audited_reason(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    ids = seed_suppressions(committed_db)
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.ADMIN)
    page = client.get("/admin/suppressions")
    assert page.status_code == 200
    assert "returning@example.org" in page.text and "complainer@example.org" in page.text
    assert "hard bounce" in page.text and "spam complaint" in page.text
    assert "(address not kept)" in page.text  # the erased person's hash, no address

    found = client.get("/admin/suppressions", params={"q": "RETURN"}).text
    assert "returning@example.org" in found and "complainer@example.org" not in found
    exact = client.get("/admin/suppressions", params={"q": "gone@example.org"}).text
    assert "(address not kept)" in exact and "returning@example.org" not in exact
    assert (
        "No suppressed address matches."
        in client.get("/admin/suppressions", params={"q": "nobody-here"}).text
    )

    suppression = _suppression_id(committed_db, "returning@example.org")
    refused = client.post(f"/admin/suppressions/{suppression}/lift", {"reason": " "})
    assert refused.status_code == 400 and "Please give a reason" in refused.text
    erased = _suppression_id(committed_db, "gone@example.org")
    assert (
        client.post(f"/admin/suppressions/{erased}/lift", {"reason": "asked again"}).status_code
        == 400
    )

    lifted = client.post(
        f"/admin/suppressions/{suppression}/lift",
        {"reason": "mailbox restored, confirmed by phone"},
    )
    assert lifted.status_code == 303
    assert "The suppression is lifted." in client.get(lifted.headers["location"]).text
    with unit_of_work(committed_db) as db:
        assert not is_suppressed(db, "returning@example.org")
        assert is_suppressed(db, "gone@example.org")
        subscriber = db.get(Subscriber, ids["back"])
        assert subscriber is not None and subscriber.status == SubscriberStatus.ACTIVE
        entry = db.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "suppression.lift"))
        assert entry is not None and entry.actor_type == "staff" and entry.actor_id is not None
        assert entry.detail["reason"] == "mailbox restored, confirmed by phone"
        assert "returning@example.org" not in str(entry.detail)


def test_roles_editors_see_suppressions_only_admins_lift_viewers_see_warnings_only(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    seed_suppressions(committed_db)
    suppression = _suppression_id(committed_db, "returning@example.org")
    editor = signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    page = editor.get("/admin/suppressions").text
    assert "returning@example.org" in page and "Lift the suppression" not in page
    assert (
        editor.post(
            f"/admin/suppressions/{suppression}/lift", {"reason": "trying anyway"}
        ).status_code
        == 403
    )
    viewer = signed_in(tmp_path, pg_url, committed_db, StaffRole.VIEWER)
    assert viewer.get("/admin/suppressions").status_code == 403
    assert viewer.get("/admin/review").status_code == 403
    assert viewer.get("/admin/warnings").status_code == 200
    with unit_of_work(committed_db) as db:
        assert is_suppressed(db, "returning@example.org")


def test_staff_warnings_are_listed_resolved_once_and_audited(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        warning = raise_warning(
            db, StaffWarningKind.SENDER_PROBLEM, message="550 5.7.1 rejected by DMARC policy"
        )
        raise_warning(db, StaffWarningKind.SENDER_PROBLEM, message="550 5.7.1 again")
        warning_id = warning.id
    viewer = signed_in(tmp_path, pg_url, committed_db, StaffRole.VIEWER)
    seen = viewer.get("/admin/warnings").text
    assert "our sending was refused" in seen and "550 5.7.1 again" in seen
    assert "Mark as resolved" not in seen
    assert viewer.post(f"/admin/warnings/{warning_id}/resolve").status_code == 403
    dashboard = viewer.get("/admin/").text
    assert 'id="staff-warnings-notice"' in dashboard and 'href="/admin/warnings"' in dashboard

    editor = signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    done = editor.post(f"/admin/warnings/{warning_id}/resolve")
    assert done.headers["location"] == "/admin/warnings?notice=resolved"
    again = editor.post(f"/admin/warnings/{warning_id}/resolve")
    assert again.headers["location"] == "/admin/warnings?notice=already-resolved"
    assert "No open warning." in editor.get("/admin/warnings").text
    assert 'id="staff-warnings-notice"' not in editor.get("/admin/").text
    with unit_of_work(committed_db) as db:
        resolved = db.get(StaffWarning, warning_id)
        assert resolved is not None and resolved.resolved_at is not None
        entries = db.scalars(
            select(AuditLogEntry).where(AuditLogEntry.action == "warning.resolve")
        ).all()
        assert [e.object_id for e in entries] == [str(warning_id)]


def test_a_quarantined_dsn_is_read_and_attributed_and_the_subscriber_is_suppressed(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    with unit_of_work(committed_db) as db:
        subscriber_id = make_subscriber(db, "river.keeper@example.net").id
    inbound_id = quarantined_dsn(committed_db, settings, "river.keeper@example.net")
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    assert 'id="review-notice"' in client.get("/admin/").text
    queue = client.get("/admin/review").text
    assert f'href="/admin/review/{inbound_id}"' in queue and "not attributable" in queue

    page = client.get(f"/admin/review/{inbound_id}").text
    assert "Delivery Status Notification (Failure)" in page
    assert "550 5.1.1" in page and "river.keeper@example.net" in page
    assert "user_unknown" in page  # what the classifier read in the report

    wrong = client.post(f"/admin/review/{inbound_id}/attribute", {"address": "nobody@example.net"})
    assert wrong.status_code == 400 and "No subscriber has this address." in wrong.text
    done = client.post(
        f"/admin/review/{inbound_id}/attribute", {"address": "River.Keeper@example.net"}
    )
    assert done.headers["location"] == "/admin/review?notice=attributed"
    assert "Nothing waits for review." in client.get("/admin/review").text
    with unit_of_work(committed_db) as db:
        subscriber = db.get(Subscriber, subscriber_id)
        assert subscriber is not None and subscriber.status == SubscriberStatus.BOUNCED
        assert is_suppressed(db, "river.keeper@example.net")
        event = db.scalar(select(BounceEvent).where(BounceEvent.subscriber_id == subscriber_id))
        assert event is not None and event.kind == BounceKind.HARD
        inbound = db.get(InboundMessage, inbound_id)
        assert inbound is not None and inbound.status == InboundStatus.PROCESSED
        entry = db.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "inbound.attribute"))
        assert entry is not None and entry.detail["subscriber_id"] == subscriber_id
        assert "river.keeper" not in str(entry.detail)
    # Once decided, the message cannot be attributed a second time.
    assert (
        client.post(
            f"/admin/review/{inbound_id}/attribute", {"address": "river.keeper@example.net"}
        ).status_code
        == 400
    )


def test_discard_and_reprocess_take_messages_out_of_the_queue_or_keep_them(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    first = quarantined_dsn(committed_db, settings, "first@example.net")
    second = quarantined_dsn(committed_db, settings, "second@example.net")
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    again = client.post(f"/admin/review/{second}/reprocess")
    assert again.headers["location"] == "/admin/review?notice=still-quarantined"
    assert "still needs review" in client.get(again.headers["location"]).text
    gone = client.post(f"/admin/review/{first}/discard")
    assert gone.headers["location"] == "/admin/review?notice=discarded-message"
    queue = client.get("/admin/review").text
    assert f"/admin/review/{first}" not in queue and f"/admin/review/{second}" in queue
    with unit_of_work(committed_db) as db:
        discarded = db.get(InboundMessage, first)
        assert discarded is not None and discarded.status == InboundStatus.IGNORED
        assert db.scalars(select(BounceEvent)).all() == []  # nothing recorded by either
        actions = sorted(
            db.scalars(
                select(AuditLogEntry.action).where(AuditLogEntry.action.like("inbound.%"))
            ).all()
        )
        assert actions == ["inbound.discard", "inbound.reprocess"]


def test_the_pages_are_french_for_a_french_browser(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    seed_suppressions(committed_db)
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.ADMIN)
    headers = {"Accept-Language": "fr"}
    page = client.get("/admin/suppressions", headers=headers).text
    assert "Adresses bloquées" in page and "rejet définitif" in page
    assert "Débloquer l’adresse" in page and "hard bounce" not in page
    assert "Alertes pour l’équipe" in client.get("/admin/warnings", headers=headers).text
    assert "Rien n’attend d’examen." in client.get("/admin/review", headers=headers).text


def test_lift_a_suppression_and_review_a_quarantined_bounce_in_a_browser(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], live_server, browser
) -> None:  # type: ignore[no-untyped-def]
    settings = staff_settings(tmp_path, pg_url)
    with unit_of_work(committed_db) as db:
        make_subscriber(db, "lake.watch@example.net")
    inbound_id = quarantined_dsn(committed_db, settings, "lake.watch@example.net")
    make_staff(committed_db, StaffRole.ADMIN)
    base = live_server(app_for(tmp_path, pg_url))
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "admin@coalition.example.org")
        page.click("#review-notice a")
        page.click(f"#inbound-{inbound_id} a")
        assert "550 5.1.1" in page.inner_text("#message-text")
        assert page.input_value("#attribute input[name=address]") == "lake.watch@example.net"
        page.click("#attribute button[type=submit]")
        page.wait_for_url(lambda url: "notice=attributed" in url)
        assert "Nothing waits for review." in page.inner_text("main")

        page.click("nav a[href='/admin/suppressions']")
        page.fill("input[name=q]", "lake.watch")
        page.click("form[role=search] button")
        row = page.locator("tr", has_text="lake.watch@example.net")
        assert "hard bounce" in row.inner_text()
        row.locator("input[name=reason]").fill("the supporter wrote from the new mailbox")
        row.locator("button.danger").click()
        page.wait_for_url(lambda url: "notice=lifted" in url)
        assert "The suppression is lifted." in page.inner_text("main")
        assert "lake.watch@example.net" not in page.inner_text("main")
    finally:
        page.close()
    with unit_of_work(committed_db) as db:
        assert not is_suppressed(db, "lake.watch@example.net")
        actions = set(db.scalars(select(AuditLogEntry.action)).all())
        assert {"inbound.attribute", "suppression.lift"} <= actions
