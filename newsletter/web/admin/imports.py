"""CSV import pages: upload, map the columns, then watch the worker's progress and report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from newsletter.config import Settings
from newsletter.db import after_commit
from newsletter.imports.csv_import import FIELDS, ImportRefused, configure, save_upload
from newsletter.imports.models import ImportJob, ImportStatus
from newsletter.staff import audit
from newsletter.subscribers.models import MailingList
from newsletter.web.admin.deps import Staff, editor
from newsletter.web.admin.rendering import redirect, render, translated
from newsletter.web.admin.tasks import enqueue
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]
GUESSES = {
    "email": ("email", "e-mail", "mail", "courriel", "adresse", "address"),
    "name": ("name", "nom", "full name", "fullname"),
    "language": ("language", "lang", "langue", "locale"),
    "discreet": ("discreet", "discrete", "discret", "discrète", "discreet edition"),
    "timezone": ("timezone", "time zone", "tz", "fuseau", "fuseau horaire"),
}


def _index(request: Request, staff: Staff, error: str = "", status: int = 200) -> Response:
    jobs = staff.db.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(20)).all()
    return render(request, "imports.html", {"jobs": jobs, "error": error}, status)


@router.get("/admin/imports", response_class=HTMLResponse)
def import_index(request: Request, staff: Annotated[Staff, Depends(editor)]) -> Response:
    return _index(request, staff)


@router.post("/admin/imports", dependencies=CSRF)
def import_upload(
    request: Request,
    staff: Annotated[Staff, Depends(editor)],
    file: Annotated[UploadFile, File()],
) -> Response:
    settings: Settings = request.app.state.settings
    try:
        job = save_upload(staff.db, settings, file.file, file.filename or "", staff.user.id)
    except ImportRefused as exc:
        staff.db.rollback()
        return _index(request, staff, translated(request, str(exc)), 400)
    audit.record(
        staff.db,
        staff.actor,
        "import.upload",
        object_type="import_job",
        object_id=job.id,
        detail={"rows": job.total_rows},
    )
    staff.db.commit()
    return redirect(f"/admin/imports/{job.id}")


def _job(staff: Staff, job_id: int) -> ImportJob:
    job = staff.db.get(ImportJob, job_id)
    if job is None:
        raise HTTPException(404)
    return job


def _guess(columns: list[str]) -> dict[str, int | None]:
    lowered = [c.strip().lower() for c in columns]
    return {
        field: next((i for i, c in enumerate(lowered) if c in names), None)
        for field, names in GUESSES.items()
    }


def _job_page(
    request: Request, staff: Staff, job: ImportJob, error: str = "", status: int = 200
) -> Response:
    settings: Settings = request.app.state.settings
    lists = staff.db.scalars(select(MailingList).order_by(MailingList.slug)).all()
    return render(
        request,
        "import_job.html",
        {
            "job": job,
            "lists": lists,
            "fields": FIELDS,
            "guess": _guess(job.columns),
            "languages": settings.languages,
            "error": error,
            "running": job.status in (ImportStatus.QUEUED, ImportStatus.RUNNING),
            "percent": int(100 * job.processed_rows / job.total_rows) if job.total_rows else 100,
        },
        status,
    )


@router.get("/admin/imports/{job_id}", response_class=HTMLResponse)
def import_job(request: Request, job_id: int, staff: Annotated[Staff, Depends(editor)]) -> Response:
    return _job_page(request, staff, _job(staff, job_id))


@router.post("/admin/imports/{job_id}/start", dependencies=CSRF)
async def import_start(
    request: Request, job_id: int, staff: Annotated[Staff, Depends(editor)]
) -> Response:
    settings: Settings = request.app.state.settings
    job = _job(staff, job_id)
    form = await request.form()

    def column(name: str) -> int | None:
        value = str(form.get(f"column_{name}", ""))
        return int(value) if value.isdigit() else None

    try:
        configure(
            staff.db,
            job,
            mapping={f: column(f) for f in FIELDS},
            list_ids=[int(v) for v in form.getlist("lists") if isinstance(v, str) and v.isdigit()],
            consent_basis=str(form.get("consent_basis", ""))[:500],
            default_language=str(form.get("default_language", "")),
            settings=settings,
        )
    except ImportRefused as exc:
        staff.db.rollback()
        return _job_page(request, staff, _job(staff, job_id), translated(request, str(exc)), 400)
    audit.record(
        staff.db,
        staff.actor,
        "import.start",
        object_type="import_job",
        object_id=job.id,
        detail={"lists": job.list_ids},
    )
    app = request.app
    after_commit(staff.db, lambda: enqueue(app, "newsletter.import_subscribers", job_id))
    staff.db.commit()
    return redirect(f"/admin/imports/{job_id}")
