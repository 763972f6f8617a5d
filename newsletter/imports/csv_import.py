"""CSV import of subscribers: upload, column mapping, then a worker imports in batches.

Safe for 100,000 rows: the file is read as a stream, rows are validated and inserted
``BATCH`` at a time (one query for existing addresses, one for suppressions, one bulk
insert each for subscribers, subscriptions and history lines), progress is committed after
every batch, and memory holds one batch plus the set of address hashes already seen (to
report duplicates inside the file). The report keeps exact counts and the first
``MAX_PROBLEMS`` problem rows.

Consent: an import must state its basis (e.g. "signed the paper form at the 2026 assembly");
it is kept on every imported subscriber as the consent source. Suppressed addresses are
never imported, whatever the file says.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import utcnow
from newsletter.imports.models import ImportJob, ImportStatus
from newsletter.staff import audit
from newsletter.subscribers.addresses import InvalidAddress, address_hash, normalise_address
from newsletter.subscribers.inputs import IANA_ZONES, clean_flag
from newsletter.subscribers.models import (
    MailingList,
    Subscriber,
    SubscriberStatus,
    SubscriberStatusChange,
    Subscription,
    Suppression,
)

log = logging.getLogger(__name__)
BATCH = 1000
MAX_PROBLEMS = 500
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
FIELDS = ("email", "name", "language", "discreet", "timezone")


class ImportRefused(ValueError):
    """The upload or the mapping cannot be used; the text says why, for the staff member."""


def save_upload(
    db: Session, settings: Settings, source: BinaryIO, filename: str, staff_id: int | None
) -> ImportJob:
    """Store the file under DATA_DIR/imports, read its header, count its rows."""
    folder = settings.data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    job = ImportJob(file_path="", filename=filename[:200], created_by_id=staff_id)
    db.add(job)
    db.flush()
    path = folder / f"{job.id}.csv"
    size = 0
    with path.open("wb") as out:
        while chunk := source.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                path.unlink()
                raise ImportRefused("The file is larger than 64 MB.")
            out.write(chunk)
    job.file_path = str(path)
    header, delimiter, rows = _inspect(path)
    if rows > settings.import_max_rows:
        path.unlink()
        raise ImportRefused(f"The file has more than {settings.import_max_rows} rows.")
    job.columns, job.delimiter, job.total_rows = header, delimiter, rows
    return job


def _open(path: Path) -> io.TextIOWrapper:
    return io.TextIOWrapper(path.open("rb"), encoding="utf-8-sig", newline="")


def _inspect(path: Path) -> tuple[list[str], str, int]:
    try:
        with _open(path) as text:
            first = text.readline()
            if not first.strip():
                raise ImportRefused("The file is empty.")
            delimiter = max(",;\t", key=first.count)
            header = next(csv.reader([first], delimiter=delimiter))
            rows = sum(1 for _ in csv.reader(text, delimiter=delimiter))
    except UnicodeDecodeError:
        raise ImportRefused(
            "The file is not UTF-8 text. Save it as CSV UTF-8 and try again."
        ) from None
    except csv.Error as exc:
        raise ImportRefused(f"The file is not valid CSV: {exc}") from None
    return [h.strip()[:100] for h in header][:100], delimiter, rows


def configure(
    db: Session,
    job: ImportJob,
    *,
    mapping: dict[str, int | None],
    list_ids: list[int],
    consent_basis: str,
    default_language: str,
    settings: Settings,
) -> None:
    """Record the staff's choices; refuses an import without an email column or consent."""
    if job.status != ImportStatus.UPLOADED:
        raise ImportRefused("This import has already been started.")
    if mapping.get("email") is None:
        raise ImportRefused("Choose the column that holds the email address.")
    if any(v is not None and not 0 <= v < len(job.columns) for v in mapping.values()):
        raise ImportRefused("Choose columns from the file.")
    basis = " ".join(consent_basis.split())
    if len(basis) < 5:
        raise ImportRefused("State the consent basis: how these people agreed to receive mail.")
    if default_language not in settings.languages:
        raise ImportRefused("Choose one of the offered languages.")
    known = set(db.scalars(select(MailingList.id).where(MailingList.id.in_(list_ids))))
    if not known:
        raise ImportRefused("Choose at least one list.")
    job.mapping = {k: v for k, v in mapping.items() if k in FIELDS}
    job.list_ids = sorted(known)
    job.consent_basis = basis[:200]
    job.default_language = default_language
    job.status = ImportStatus.QUEUED


@dataclass
class _Batch:
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


def run_import(factory: sessionmaker[Session], settings: Settings, job_id: int) -> None:
    """The worker's job: import every row, committing progress after each batch."""
    with factory() as db:
        job = db.get(ImportJob, job_id)
        if job is None or job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return
        job.status, job.started_at = ImportStatus.RUNNING, utcnow()
        db.commit()
        seen: set[str] = set()
        skip = job.processed_rows  # a redelivered task resumes after the last batch
        try:
            with _open(Path(job.file_path)) as text:
                reader = csv.reader(text, delimiter=job.delimiter)
                next(reader, None)
                batch: list[tuple[int, list[str]]] = []
                for number, row in enumerate(reader, start=2):
                    if number - 2 < skip:
                        _remember(row, job, seen)
                        continue
                    batch.append((number, row))
                    if len(batch) >= BATCH:
                        _import_batch(db, settings, job, batch, seen)
                        batch = []
                if batch:
                    _import_batch(db, settings, job, batch, seen)
        except (UnicodeDecodeError, csv.Error) as exc:
            db.rollback()
            job.status, job.error = ImportStatus.FAILED, f"Unreadable file: {type(exc).__name__}"
        else:
            job.status = ImportStatus.DONE
        job.finished_at = utcnow()
        audit.record(
            db,
            audit.Actor("staff", job.created_by_id),
            "subscribers.import",
            object_type="import_job",
            object_id=job.id,
            detail={
                k: getattr(job, k)
                for k in (
                    "imported_count",
                    "existing_count",
                    "invalid_count",
                    "duplicate_count",
                    "suppressed_count",
                )
            }
            | {"lists": job.list_ids},
        )
        db.commit()
        log.info("import %s finished: %s", job.id, job.status)


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def _remember(row: list[str], job: ImportJob, seen: set[str]) -> None:
    with contextlib.suppress(InvalidAddress):
        seen.add(address_hash(normalise_address(_cell(row, job.mapping.get("email")))))


def _problem(job: ImportJob, number: int, kind: str, value: str) -> None:
    if len(job.problems) < MAX_PROBLEMS:
        job.problems = [*job.problems, [number, kind, value[:120]]]


def _import_batch(
    db: Session,
    settings: Settings,
    job: ImportJob,
    batch: list[tuple[int, list[str]]],
    seen: set[str],
) -> None:
    candidates: dict[str, tuple[int, str, str, str, bool, str | None]] = {}
    for number, row in batch:
        raw = _cell(row, job.mapping.get("email"))
        try:
            address = normalise_address(raw)
        except InvalidAddress:
            job.invalid_count += 1
            _problem(job, number, "invalid", raw)
            continue
        digest = address_hash(address)
        if digest in seen:
            job.duplicate_count += 1
            _problem(job, number, "duplicate", address)
            continue
        seen.add(digest)
        language = _cell(row, job.mapping.get("language")).lower()[:8]
        if language not in settings.languages:
            language = job.default_language
        name = " ".join(_cell(row, job.mapping.get("name")).split())[:200]
        discreet = clean_flag(_cell(row, job.mapping.get("discreet")))
        zone: str | None = _cell(row, job.mapping.get("timezone"))[:64] or None
        if zone is not None and zone not in IANA_ZONES:
            _problem(job, number, "timezone", zone)  # imported all the same, without a zone
            zone = None
        candidates[digest] = (number, address, name, language, discreet, zone)
    suppressed = set(
        db.scalars(select(Suppression.address_hash).where(Suppression.address_hash.in_(candidates)))
    )
    for digest in suppressed:
        number, address, *_rest = candidates.pop(digest)
        job.suppressed_count += 1
        _problem(job, number, "suppressed", address)
    existing = dict(
        db.execute(
            select(Subscriber.email_hash, Subscriber.id).where(
                Subscriber.email_hash.in_(candidates)
            )
        ).all()
    )
    _subscribe_existing(db, job, existing)
    _mark_discreet(db, [existing[d] for d, c in candidates.items() if d in existing and c[4]])
    new = {d: c for d, c in candidates.items() if d not in existing}
    try:
        with db.begin_nested():
            _insert_new(db, job, new)
    except IntegrityError:  # someone subscribed meanwhile: count them as existing instead
        job.existing_count += len(new)
    job.imported_count += len(new)
    job.processed_rows += len(batch)
    db.commit()


def _subscribe_existing(db: Session, job: ImportJob, existing: dict[str, int]) -> None:
    """Known, active people get the chosen lists; others keep their own decision."""
    job.existing_count += len(existing)
    active = list(
        db.scalars(
            select(Subscriber.id).where(
                Subscriber.id.in_(existing.values()), Subscriber.status == SubscriberStatus.ACTIVE
            )
        )
    )
    if not active:
        return
    have = {
        (row.subscriber_id, row.list_id)
        for row in db.execute(
            select(Subscription.subscriber_id, Subscription.list_id).where(
                Subscription.subscriber_id.in_(active)
            )
        )
    }
    rows = [
        {"subscriber_id": s, "list_id": lst}
        for s in active
        for lst in job.list_ids
        if (s, lst) not in have
    ]
    if rows:
        db.execute(insert(Subscription), rows)


def _mark_discreet(db: Session, subscriber_ids: list[int]) -> None:
    """A "yes" in the discreet column turns the edition on for people already known; an
    empty cell never turns it off (the person may have chosen it themselves)."""
    if subscriber_ids:
        db.execute(
            update(Subscriber).where(Subscriber.id.in_(subscriber_ids)).values(discreet=True)
        )


def _insert_new(
    db: Session, job: ImportJob, new: dict[str, tuple[int, str, str, str, bool, str | None]]
) -> None:
    if not new:
        return
    now = utcnow()
    source = f"import {job.id}: {job.consent_basis}"[:100]
    reason = f"imported (import {job.id})"
    ids = (
        db.execute(
            insert(Subscriber).returning(Subscriber.id),
            [
                {
                    "email": address,
                    "email_hash": digest,
                    "name": name,
                    "language": language,
                    "status": SubscriberStatus.ACTIVE,
                    "status_reason": reason,
                    "status_changed_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "consent_at": now,
                    "consent_source": source,
                    "consent_text_version": f"import-{job.id}",
                    "discreet": discreet,
                    "low_bandwidth": False,
                    "timezone": zone,
                }
                for digest, (_num, address, name, language, discreet, zone) in new.items()
            ],
        )
        .scalars()
        .all()
    )
    db.execute(
        insert(Subscription),
        [
            {"subscriber_id": i, "list_id": lst, "created_at": now, "updated_at": now}
            for i in ids
            for lst in job.list_ids
        ],
    )
    actor = f"staff:{job.created_by_id}"
    db.execute(
        insert(SubscriberStatusChange),
        [
            {
                "subscriber_id": i,
                "at": now,
                "from_status": None,
                "to_status": "active",
                "reason": reason,
                "actor": actor,
            }
            for i in ids
        ],
    )
