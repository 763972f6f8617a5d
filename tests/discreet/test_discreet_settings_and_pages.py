"""Choosing the discreet edition (console, CSV import), the settings that shape it, the
links it keeps, and the pages at the alternative address (``Onion-Location`` when an onion)."""

from __future__ import annotations

import email
import email.policy
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.abuse import form_guard
from newsletter.abuse.ratelimit import MemoryRateLimiter
from newsletter.config import SettingsError, load_settings
from newsletter.db import unit_of_work
from newsletter.imports.csv_import import configure, run_import, save_upload
from newsletter.links import UnsubscribeScope, preferences_url, unsubscribe_url
from newsletter.rendering import editions
from newsletter.rendering.compose import compose_variant
from newsletter.rendering.editions import Edition
from newsletter.rendering.mime import Recipient, personalise
from newsletter.staff.models import AuditLogEntry, StaffRole
from newsletter.subscribers.models import Subscriber
from newsletter.web.app import create_app
from tests.admin.conftest import _dispose_apps  # noqa: F401 - releases the apps' pools
from tests.admin.factories import make_list, make_subscriber
from tests.admin.helpers import StaffClient, app_for, make_staff, staff_settings
from tests.conftest import make_test_settings
from tests.discreet.helpers import (
    ALT,
    NEUTRAL,
    ORG,
    assert_discreet,
    body_text,
    content_types,
    display_name,
)
from tests.sending.test_compose_campaign import make_campaign

ONION_HOST = ALT.removeprefix("http://")


def test_the_neutral_names_are_per_language_and_may_not_name_the_organisation(
    tmp_path: Path,
) -> None:
    settings = make_test_settings(tmp_path, **NEUTRAL)
    assert editions.neutral_from_name(settings, "fr") == "Club du jardin"
    assert editions.neutral_subject(settings, "en") == "This week in the garden"
    from_env = make_test_settings(
        tmp_path, org_name=ORG, discreet_from_name="en:Garden club,fr:Club du jardin"
    )
    assert from_env.discreet_from_name == {"en": "Garden club", "fr": "Club du jardin"}
    assert editions.neutral_subject(from_env, "fr") == "Vos notes"  # the default, translated
    with pytest.raises(SettingsError, match="must not name the organisation"):
        load_settings(
            _env_file=None, app_env="test", org_name=ORG,
            discreet_subject={"en": f"News from the {ORG.lower()}"},
        )  # fmt: skip


def test_only_our_own_links_survive_and_they_move_to_the_alternative_address(
    tmp_path: Path,
) -> None:
    settings = make_test_settings(tmp_path, **NEUTRAL)
    text = (
        "See http://127.0.0.1:8000/archive/posts/abc. Also https://video.example.com/x?y=1 "
        f"and ({ALT}/archive)."
    )
    kept = editions.keep_own_links(settings, text, "en")
    assert kept == (f"See {ALT}/archive/posts/abc. Also [link left out] and ({ALT}/archive).")
    assert editions.keep_own_links(settings, "https://x.example/", "fr") == "[lien omis]"


def test_pages_answer_at_the_onion_address_and_advertise_it_elsewhere(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        person = make_subscriber(db, "guarded@example.org", lists=[make_list(db, "press", "P")])
        public_id = person.public_id
    settings = make_test_settings(tmp_path, database_url=pg_url, **NEUTRAL)
    app = create_app(settings)
    mirror = editions.link_settings(settings)
    pages = [
        "/archive",
        "/subscribe",
        unsubscribe_url(mirror, UnsubscribeScope(public_id)).removeprefix(ALT),
        preferences_url(mirror, public_id).removeprefix(ALT),
    ]
    with TestClient(app, base_url="http://news.example.org") as clear:
        for path in pages:
            answer = clear.get(path)
            assert answer.status_code == 200, path
            assert answer.headers["Onion-Location"] == f"{ALT}{path}"
        assert "Onion-Location" not in clear.get("/admin/login").headers
    with TestClient(app, base_url=ALT) as onion:
        for path in pages:
            answer = onion.get(path)
            assert answer.status_code == 200, path
            assert "Onion-Location" not in answer.headers
        token = preferences_url(mirror, public_id).rpartition("/")[2]
        page = onion.get(f"/preferences/{token}")
        assert 'name="discreet"' in page.text and ONION_HOST in onion.base_url.host
    app.state.engine.dispose()


def test_staff_set_the_discreet_edition_on_the_subscriber_page_and_it_is_audited(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        subscriber_id = make_subscriber(db, "asked-by-phone@example.org", lists=[]).id
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("editor@coalition.example.org")
    page = client.get(f"/admin/subscribers/{subscriber_id}")
    assert 'name="discreet"' in page.text and "full" in page.text
    saved = client.post(
        f"/admin/subscribers/{subscriber_id}",
        {"name": "", "language": "en", "discreet": "yes"},
    )
    assert saved.status_code == 303
    assert "discreet" in client.get(f"/admin/subscribers/{subscriber_id}").text
    with committed_db() as db:
        person = db.get(Subscriber, subscriber_id)
        assert (person.discreet, person.low_bandwidth) == (True, False)
        entry = db.scalars(select(AuditLogEntry).order_by(AuditLogEntry.id.desc())).first()
        assert entry.action == "subscriber.edit" and entry.detail["discreet"] is True


def test_a_csv_column_sets_the_discreet_edition_and_never_clears_it(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    sheet = (
        b"Email;Name;Discreet\n"
        b"new-quiet@example.org;A;oui\n"
        b"new-open@example.org;B;\n"
        b"known-quiet@example.org;C;yes\n"
        b"chose-it@example.org;D;no\n"
    )
    staff_id = make_staff(committed_db, StaffRole.EDITOR)
    with unit_of_work(committed_db) as db:
        press = make_list(db, "press", "Press")
        make_subscriber(db, "known-quiet@example.org", lists=[press])
        chose = make_subscriber(db, "chose-it@example.org", lists=[press])
        chose.discreet = True  # chosen in the preference centre: an import cannot undo it
        job = save_upload(db, settings, io.BytesIO(sheet), "people.csv", staff_id)
        configure(
            db, job, mapping={"email": 0, "name": 1, "discreet": 2}, list_ids=[press.id],
            consent_basis="Signed at the workshop", default_language="en", settings=settings,
        )  # fmt: skip
        job_id = job.id
    run_import(committed_db, settings, job_id)
    with committed_db() as db:
        flags = dict(db.execute(select(Subscriber.email, Subscriber.discreet)).all())
    assert flags == {
        "new-quiet@example.org": True,
        "new-open@example.org": False,
        "known-quiet@example.org": True,
        "chose-it@example.org": True,
    }


def test_the_no_javascript_ticket_must_wait_and_serves_once(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path, altcha_enabled=True, nojs_wait_seconds=5)
    limiter = MemoryRateLimiter()

    def check(fields: dict[str, object], at: float, **kwargs: object) -> form_guard.Check:
        return form_guard.check_submission(
            settings, limiter, ip="192.0.2.1", fields=fields, stamp_required=False, now=at,
            **kwargs,  # type: ignore[arg-type]
        )  # fmt: skip

    start = 1_900_000_000.0
    assert check({}, start).verdict is form_guard.Verdict.REFUSED  # the JSON API: no wait path
    first = check({}, start, without_javascript=True)
    assert first.verdict is form_guard.Verdict.WAIT and first.retry_after == 5
    ticket = {form_guard.NOJS_FIELD: first.ticket}
    early = check(ticket, start + 2, without_javascript=True)
    assert early.verdict is form_guard.Verdict.WAIT and early.ticket == first.ticket
    assert check(ticket, start + 5, without_javascript=True).verdict is form_guard.Verdict.OK
    again = check(ticket, start + 6, without_javascript=True)
    assert again.verdict is form_guard.Verdict.WAIT and again.ticket != first.ticket
    forged = {form_guard.NOJS_FIELD: first.ticket[:-2] + "xx"}
    assert check(forged, start + 9, without_javascript=True).verdict is form_guard.Verdict.WAIT


def test_a_newsletter_in_the_discreet_and_the_low_bandwidth_editions(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path, **NEUTRAL)
    campaign = make_campaign()  # its text links to another site
    recipient = Recipient(delivery_id=9, address="q@example.org", name="Q", public_id="pub-q")
    discreet = personalise(
        settings, compose_variant(settings, campaign, "en", edition=Edition(discreet=True)),
        recipient,
    )  # fmt: skip
    message = email.message_from_bytes(discreet.data, policy=email.policy.default)
    assert_discreet(message, "This week in the garden", "Garden club", "Our news this month")
    assert "We **met** the minister." in body_text(message)
    assert "example.org/note" not in body_text(message)
    light = personalise(
        settings, compose_variant(settings, campaign, "en", edition=Edition(light=True)), recipient
    )
    lean = email.message_from_bytes(light.data, policy=email.policy.default)
    assert content_types(lean) == ["text/plain"]  # the campaign's own text, alone
    assert str(lean["Subject"]) == "Our news this month" and display_name(lean["From"]) == ORG
    assert "https://example.org/note" in body_text(lean)
