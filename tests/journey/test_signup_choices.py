"""Sign-up: no topic chosen for the reader, what each list sends shown, the reader's time zone
detected by the browser, editable, and validated as an IANA zone by the form, the JSON API and
the CSV import alike."""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from newsletter.config import Settings
from newsletter.db import unit_of_work
from newsletter.imports import csv_import
from newsletter.imports.models import ImportJob
from newsletter.subscribers.models import MailingList, Subscriber
from tests.journey.conftest import Service
from tests.journey.test_subscribe_http import api, subscribe_on_page


def _describe_lists(service: Service) -> None:
    with service.db.begin() as session:
        for item in session.scalars(select(MailingList)):
            for text in item.translations:
                text.description = {
                    ("press-releases", "en"): "Our press releases, the day they are issued.",
                    ("press-releases", "fr"): "Nos communiqués, le jour de leur parution.",
                }.get((item.slug, text.language), "")


def test_no_topic_is_ticked_for_the_reader_and_descriptions_are_shown(service: Service) -> None:
    _describe_lists(service)
    with service.client() as client:
        english = client.get("/subscribe").text
        french = client.get("/subscribe?lang=fr").text
    boxes = re.findall(r'<input type="checkbox" name="lists"[^>]*>', english)
    assert len(boxes) == 2 and not any("checked" in box for box in boxes)
    assert "Our press releases, the day they are issued." in english
    assert "Nos communiqués, le jour de leur parution." in french
    snippet = service.client().get("/subscribe/embed.html").text
    assert "checked" not in snippet


def test_the_form_and_the_api_store_a_valid_zone_and_refuse_another(service: Service) -> None:
    accepted = subscribe_on_page(service, "ama@example.org", timezone="America/Bogota")
    assert accepted.status_code == 200
    refused = subscribe_on_page(service, "kofi@example.org", timezone="Mars/Olympus",
                                language="fr")  # fmt: skip
    assert refused.status_code == 422
    assert "Fuseau horaire inconnu" in refused.text
    assert (
        api(
            service, {"email": "yaw@example.org", "lists": ["events"], "timezone": "Asia/Kathmandu"}
        ).status_code
        == 202
    )
    bad = api(service, {"email": "esi@example.org", "lists": ["events"], "timezone": "America"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "timezone"
    with service.db() as session:
        zones = dict(session.execute(select(Subscriber.email, Subscriber.timezone)).all())
    assert zones == {"ama@example.org": "America/Bogota", "yaw@example.org": "Asia/Kathmandu"}


def test_csv_import_takes_the_zone_column_and_reports_an_unknown_zone(
    service: Service, tmp_path
) -> None:
    settings: Settings = service.settings
    rows = "email,name,tz\nabena@example.org,Abena,Africa/Accra\nkojo@example.org,Kojo,Accra\n"
    with unit_of_work(service.db) as db:
        job = csv_import.save_upload(db, settings, io.BytesIO(rows.encode()), "people.csv", None)
        job_id = job.id
    with unit_of_work(service.db) as db:
        job = db.get(ImportJob, job_id)
        assert job is not None
        list_id = db.scalars(select(MailingList.id)).first()
        csv_import.configure(
            db, job, mapping={"email": 0, "name": 1, "timezone": 2}, list_ids=[list_id],
            default_language="en", consent_basis="signed at the assembly", settings=settings,
        )  # fmt: skip
    csv_import.run_import(service.db, settings, job_id)
    with service.db() as session:
        zones = dict(session.execute(select(Subscriber.email, Subscriber.timezone)).all())
        job = session.get(ImportJob, job_id)
        assert job is not None
        problems = job.problems
    assert zones == {"abena@example.org": "Africa/Accra", "kojo@example.org": None}
    assert [kind for _line, kind, _value in problems] == ["timezone"]


def test_the_browser_fills_in_the_readers_zone_and_the_reader_may_change_it(
    browser, service: Service
) -> None:
    context = browser.new_context(timezone_id="Africa/Nairobi", locale="en-GB")
    page = context.new_page()
    try:
        page.goto(service.url + "/subscribe")
        assert page.input_value("#timezone") == "Africa/Nairobi"
        options = page.eval_on_selector_all(
            "#timezones option", "os => os.map(o => o.value + ' ' + o.textContent)"
        )
        assert "America/New_York New York (America)" in options  # searchable by city
        page.fill("#email", "sita@example.org")
        page.check("input[name=lists][value=events]")
        page.fill("#timezone", "Europe/Paris")  # edited: the reader travels
        page.click("#subscribe-form button[type=submit]")
        page.wait_for_selector("text=Check your inbox", timeout=5000)
    finally:
        context.close()
    with service.db() as session:
        assert session.scalar(select(Subscriber.timezone)) == "Europe/Paris"
