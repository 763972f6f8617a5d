"""Subscriber and list pages: search, filters, history, edit, unsubscribe, suppress, erase,
export (audited, formula-safe), lists with per-language texts; hostile names escaped."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import unit_of_work
from newsletter.staff.models import AuditLogEntry, StaffRole
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
)
from newsletter.subscribers.status import is_suppressed
from tests.admin.factories import XSS, make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for, make_staff


def signed_in(tmp_path: Path, pg_url: str, factory: sessionmaker[Session], role: StaffRole):  # type: ignore[no-untyped-def]
    make_staff(factory, role)
    client = StaffClient(app_for(tmp_path, pg_url))
    assert client.sign_in(f"{role.value}@coalition.example.org").status_code == 303
    return client


def seed(factory: sessionmaker[Session]) -> dict[str, int]:
    with unit_of_work(factory) as db:
        press = make_list(db, "press", "Press releases", "Communiqués")
        events = make_list(db, "events", "Events", "Événements")
        a = make_subscriber(
            db, "amina@example.org", name="Amina Diallo", language="fr", lists=[press]
        )
        b = make_subscriber(db, "ben@example.org", name="Ben Okafor", lists=[events])
        c = make_subscriber(
            db,
            "chloe@example.org",
            name=XSS,
            status=SubscriberStatus.PENDING,
            lists=[press, events],
        )
        d = make_subscriber(db, "=cmd@example.org", name='=HYPERLINK("http://x")', lists=[press])
        return {"press": press.id, "events": events.id, "a": a.id, "b": b.id, "c": c.id, "d": d.id}


def test_search_and_filters_find_the_right_people(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    ids = seed(committed_db)
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)

    def emails(**params: object) -> set[str]:
        page = client.get("/admin/subscribers", params=params).text
        return {e for e in ("amina@", "ben@", "chloe@", "=cmd@") if e in page}

    assert emails() == {"amina@", "ben@", "chloe@", "=cmd@"}
    assert emails(q="OKAFOR") == {"ben@"}
    assert emails(q="amina@example") == {"amina@"}
    assert emails(q="%") == set()  # a wildcard typed by staff is literal
    assert emails(status="pending") == {"chloe@"}
    assert emails(list_id=ids["events"]) == {"ben@", "chloe@"}
    assert emails(language="fr") == {"amina@"}


def test_hostile_names_are_escaped_on_every_subscriber_page(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    ids = seed(committed_db)
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.ADMIN)
    for path in (
        "/admin/subscribers",
        f"/admin/subscribers/{ids['c']}",
        "/admin/",
        "/admin/subscribers?q=chloe",
    ):
        page = client.get(path).text
        assert "<script>alert" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;alert" in client.get(f"/admin/subscribers/{ids['c']}").text


def test_subscriber_page_shows_history_and_edits_are_audited(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    ids = seed(committed_db)
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    page = client.get(f"/admin/subscribers/{ids['a']}")
    assert page.status_code == 200 and "Amina Diallo" in page.text and "Press releases" in page.text
    response = client.post(
        f"/admin/subscribers/{ids['a']}",
        {
            "name": "Amina D.",
            "language": "en",
            "timezone": "Africa/Dakar",
            "lists": [str(ids["events"])],
        },
    )
    assert response.status_code == 303
    with committed_db() as db:
        amina = db.get(Subscriber, ids["a"])
        assert (amina.name, amina.language, amina.timezone) == ("Amina D.", "en", "Africa/Dakar")
        statuses = dict(
            db.execute(
                select(Subscription.list_id, Subscription.status).where(
                    Subscription.subscriber_id == ids["a"]
                )
            ).all()
        )
        assert statuses == {
            ids["press"]: SubscriptionStatus.UNSUBSCRIBED,
            ids["events"]: SubscriptionStatus.ACTIVE,
        }
        entry = db.scalars(
            select(AuditLogEntry).where(AuditLogEntry.action == "subscriber.edit")
        ).one()
        assert entry.object_id == str(ids["a"]) and entry.actor_type == "staff"
        assert entry.ip == "testclient" or entry.ip is None or "." in entry.ip


def test_unsubscribe_suppress_and_erase_go_through_the_shared_functions(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    ids = seed(committed_db)
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.ADMIN)
    assert client.post(f"/admin/subscribers/{ids['a']}/unsubscribe").status_code == 303
    assert client.post(f"/admin/subscribers/{ids['b']}/suppress").status_code == 303
    assert client.post(f"/admin/subscribers/{ids['c']}/erase").status_code == 303
    with committed_db() as db:
        a, b, c = (db.get(Subscriber, ids[k]) for k in "abc")
        assert a.status == SubscriberStatus.UNSUBSCRIBED
        assert b.status == SubscriberStatus.REMOVED and is_suppressed(db, "ben@example.org")
        assert c.status == SubscriberStatus.ERASED and "chloe" not in c.email and c.name == ""
        assert is_suppressed(db, "chloe@example.org")
        actions = set(db.scalars(select(AuditLogEntry.action)))
        assert {"subscriber.unsubscribe", "subscriber.suppress", "subscriber.erase"} <= actions
        assert not any("chloe" in str(e.detail) for e in db.scalars(select(AuditLogEntry)))
    assert client.get(f"/admin/subscribers/{ids['c']}").status_code == 404


def test_export_streams_the_filtered_set_formula_safe_and_is_audited(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    ids = seed(committed_db)
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.ADMIN)
    client.get("/admin/subscribers")
    response = client.post("/admin/subscribers/export", {"list_id": str(ids["press"])})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["email"] for r in rows) == [
        "'=cmd@example.org",
        "amina@example.org",
        "chloe@example.org",
    ]
    hostile = next(r for r in rows if r["email"].startswith("'="))
    assert hostile["name"].startswith("'=HYPERLINK")
    assert next(r for r in rows if r["email"] == "chloe@example.org")["lists"] == "events press"
    with committed_db() as db:
        entry = db.scalars(
            select(AuditLogEntry).where(AuditLogEntry.action == "subscribers.export")
        ).one()
        assert entry.detail["rows"] == 3 and entry.detail["list_id"] == ids["press"]


def test_lists_are_created_and_edited_with_a_name_per_language(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    client = signed_in(tmp_path, pg_url, committed_db, StaffRole.EDITOR)
    client.get("/admin/lists/new")
    created = client.post(
        "/admin/lists/new",
        {
            "slug": "reports",
            "is_public": "true",
            "name_en": "Reports",
            "name_fr": "Rapports",
            "description_fr": "Nos rapports d'enquête",
        },
    )
    assert created.status_code == 303
    again = client.post("/admin/lists/new", {"slug": "reports", "name_en": "Other"})
    assert again.status_code == 400 and "already" in again.text
    nameless = client.post("/admin/lists/new", {"slug": "x", "name_fr": "Seulement"})
    assert nameless.status_code == 400
    with committed_db() as db:
        reports = db.scalars(select(MailingList)).one()
        assert reports.name_in("fr") == "Rapports" and reports.name_in("en") == "Reports"
    page = client.get("/admin/lists", headers={"accept-language": "fr"})
    assert "Rapports" in page.text
