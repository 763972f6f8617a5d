"""CSV import: mapping, consent basis, validation report, batched worker run; in a browser
with a real Celery worker; hostile CSV fields escaped in the report."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import unit_of_work
from newsletter.imports.csv_import import ImportRefused, configure, run_import, save_upload
from newsletter.imports.models import ImportJob, ImportStatus
from newsletter.staff.models import AuditLogEntry, StaffRole
from newsletter.subscribers.models import (
    Subscriber,
    SubscriberStatus,
    SubscriberStatusChange,
    Subscription,
    SuppressionReason,
)
from newsletter.subscribers.status import suppress_address
from tests.admin.factories import XSS, make_list, make_subscriber
from tests.admin.helpers import PASSWORD, app_for, browser_sign_in, make_staff, staff_settings


def thousand_rows() -> bytes:
    """1,000 data rows: 990 good, 4 invalid, 3 duplicates, 2 suppressed, 1 existing."""
    lines = ["Courriel;Nom;Langue"]
    for i in range(990):
        lines.append(f"person{i}@example.org;Person {i};{'fr' if i % 3 == 0 else 'en'}")
    lines += ["not-an-address;Bad One;en", f"{XSS};Bad Two;en", ";Empty;en", "a@@b;Bad;en"]
    lines += ["PERSON1@example.org;Dup;en", "person2@example.org;Dup;en", "person3@EXAMPLE.org;D;"]
    lines += ["blocked1@example.org;S;en", "blocked2@example.org;S;en", "known@example.org;K;en"]
    return ("\n".join(lines) + "\n").encode()


def prepare(factory: sessionmaker[Session]) -> tuple[int, int]:
    with unit_of_work(factory) as db:
        press = make_list(db, "press", "Press releases")
        make_subscriber(db, "known@example.org", lists=[])
        for address in ("blocked1@example.org", "blocked2@example.org"):
            suppress_address(db, address, SuppressionReason.HARD_BOUNCE)
        return press.id, make_staff_id(db)


def make_staff_id(db: Session) -> int:
    from newsletter.staff.service import create_staff_user

    return create_staff_user(
        db,
        email="editor@coalition.example.org",
        name="",
        password=PASSWORD,
        role=StaffRole.EDITOR,
    ).id


def test_an_import_without_consent_basis_or_email_column_is_refused(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    list_id, staff_id = prepare(committed_db)
    with unit_of_work(committed_db) as db:
        job = save_upload(db, settings, io.BytesIO(thousand_rows()), "x.csv", staff_id)
        assert job.columns == ["Courriel", "Nom", "Langue"] and job.total_rows == 1000
        common = {"list_ids": [list_id], "default_language": "en", "settings": settings}
        with pytest.raises(ImportRefused, match="consent"):
            configure(db, job, mapping={"email": 0}, consent_basis=" ", **common)
        with pytest.raises(ImportRefused, match="email"):
            configure(db, job, mapping={"email": None}, consent_basis="paper forms 2026", **common)


def test_a_thousand_rows_are_imported_in_batches_with_an_exact_report(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    list_id, staff_id = prepare(committed_db)
    with unit_of_work(committed_db) as db:
        job = save_upload(db, settings, io.BytesIO(thousand_rows()), "people.csv", staff_id)
        configure(
            db,
            job,
            mapping={"email": 0, "name": 1, "language": 2},
            list_ids=[list_id],
            consent_basis="Signed the paper form at the 2026 assembly",
            default_language="en",
            settings=settings,
        )
        job_id = job.id
    started = time.perf_counter()
    run_import(committed_db, settings, job_id)
    elapsed = time.perf_counter() - started
    with committed_db() as db:
        job = db.get(ImportJob, job_id)
        assert job.status == ImportStatus.DONE and job.processed_rows == 1000
        counts = (
            job.imported_count,
            job.invalid_count,
            job.duplicate_count,
            job.suppressed_count,
            job.existing_count,
        )
        assert counts == (990, 4, 3, 2, 1)
        kinds = sorted({kind for _line, kind, _value in job.problems})
        assert kinds == ["duplicate", "invalid", "suppressed"]
        assert db.scalar(select(func.count()).select_from(Subscriber)) == 991
        fr = db.scalar(select(Subscriber).where(Subscriber.email == "person0@example.org"))
        assert (fr.language, fr.status, fr.name) == ("fr", SubscriberStatus.ACTIVE, "Person 0")
        assert "2026 assembly" in (fr.consent_source or "")
        assert db.scalar(select(func.count()).select_from(Subscription)) == 991  # known too
        assert db.scalar(select(func.count()).select_from(SubscriberStatusChange)) == 990
        assert db.scalars(select(AuditLogEntry.action)).all()[-1] == "subscribers.import"
    assert elapsed < 20, f"1,000 rows took {elapsed:.1f}s"


def test_import_and_export_in_a_real_browser_with_a_real_worker(
    tmp_path: Path, committed_db: sessionmaker[Session], celery_worker, live_server, browser
) -> None:
    prepare(committed_db)
    make_staff(committed_db, StaffRole.ADMIN)
    base = live_server(
        app_for(
            tmp_path,
            celery_worker.settings.database_url,
            broker_url=celery_worker.settings.broker_url,
        )
    )
    csv_path = tmp_path / "supporters.csv"
    csv_path.write_bytes(thousand_rows())
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "admin@coalition.example.org")
        page.goto(base + "/admin/imports")
        page.set_input_files("input[name=file]", str(csv_path))
        page.click("main form button[type=submit]")
        page.wait_for_selector("#mapping")
        assert page.locator("select[name=column_email] option:checked").inner_text() == "Courriel"
        page.check("input[name=lists]")
        page.fill("input[name=consent_basis]", "Signed the paper form at the 2026 assembly")
        page.click("#mapping button[type=submit]")
        expect(page.locator("#import-status")).to_have_text("done", timeout=30_000)
        assert page.inner_text("#count-imported") == "990"
        assert page.inner_text("#count-invalid") == "4"
        assert page.inner_text("#count-duplicate") == "3"
        assert page.inner_text("#count-suppressed") == "2"
        assert page.locator("#problems td", has_text='<script>alert("x")</script>').count() == 1
        page.goto(base + "/admin/subscribers?q=person1")
        with page.expect_download() as download_info:
            page.click("#export")
        exported = Path(download_info.value.path()).read_text()
        assert exported.startswith("email,name,language")
        assert exported.count("\n") == 1 + 111  # person1, person10-19, person100-199
    finally:
        page.close()
