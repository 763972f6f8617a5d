"""Staff pages about people: one's own account (password, second factor), colleagues
(admins), and the audit log (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import func, select

from newsletter.config import Settings
from newsletter.staff import audit, totp
from newsletter.staff.models import AuditLogEntry, StaffRole, StaffUser
from newsletter.staff.passwords import verify_password
from newsletter.staff.reset import PasswordRefused, set_password
from newsletter.staff.service import StaffError, create_staff_user, update_staff_user
from newsletter.subscribers.addresses import InvalidAddress
from newsletter.web.admin.deps import Staff, admin, viewer
from newsletter.web.admin.rendering import password_refused, redirect, render, translated
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]
AUDIT_PAGE = 100


def _account_page(
    request: Request,
    staff: Staff,
    error: str = "",
    status: int = 200,
) -> Response:
    settings: Settings = request.app.state.settings
    secret = totp.new_secret()
    otpauth = totp.provisioning_uri(secret, staff.user.email, settings.org_name)
    context = {
        "user": staff.user,
        "has_totp": totp.has_second_factor(staff.user),
        "new_secret": secret,
        "otpauth": otpauth,
        "qr_svg": Markup(totp.qr_svg(otpauth)),  # noqa: S704 - SVG drawn by segno, no text
        "error": error,
    }
    return render(request, "account.html", context, status)


def _own_change(staff: Staff, action: str, target: str) -> Response:
    """Audit a change to one's own account, commit it, and show where it leads."""
    audit.record(staff.db, staff.actor, action, object_type="staff_user", object_id=staff.user.id)
    staff.db.commit()
    return redirect(target)


@router.get("/admin/account", response_class=HTMLResponse)
def account(
    request: Request,
    staff: Annotated[Staff, Depends(viewer)],
) -> Response:
    return _account_page(request, staff)


@router.post("/admin/account/password", dependencies=CSRF)
def change_password(
    request: Request,
    staff: Annotated[Staff, Depends(viewer)],
    current: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    if not verify_password(current[:1000], staff.user.password_hash):
        return _account_page(
            request, staff, translated(request, "The current password is wrong."), 400
        )
    try:
        set_password(staff.db, staff.user, password[:1000])
    except PasswordRefused as exc:
        return _account_page(request, staff, password_refused(request, exc), 400)
    return _own_change(staff, "staff.password_change", "/admin/login?notice=password-changed")


@router.post("/admin/account/totp", dependencies=CSRF)
def enable_totp(
    request: Request,
    staff: Annotated[Staff, Depends(viewer)],
    secret: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
) -> Response:
    settings: Settings = request.app.state.settings
    if not totp.enable(staff.user, settings.secret_key, secret[:64], code[:20]):
        message = translated(
            request, "That code is not right. Enter the current code from your app."
        )
        return _account_page(request, staff, message, 400)
    return _own_change(staff, "staff.totp_enabled", "/admin/account?notice=totp-on")


@router.post("/admin/account/totp/disable", dependencies=CSRF)
def disable_totp(
    request: Request,
    staff: Annotated[Staff, Depends(viewer)],
    current: Annotated[str, Form()] = "",
) -> Response:
    if not verify_password(current[:1000], staff.user.password_hash):
        return _account_page(
            request, staff, translated(request, "The current password is wrong."), 400
        )
    totp.disable(staff.user)
    return _own_change(staff, "staff.totp_disabled", "/admin/account?notice=totp-off")


def _staff_page(
    request: Request,
    staff: Staff,
    error: str = "",
    status: int = 200,
) -> Response:
    users = staff.db.scalars(select(StaffUser).order_by(StaffUser.id)).all()
    return render(
        request, "staff.html", {"users": users, "roles": list(StaffRole), "error": error}, status
    )


@router.get("/admin/staff", response_class=HTMLResponse)
def staff_list(
    request: Request,
    staff: Annotated[Staff, Depends(admin)],
) -> Response:
    return _staff_page(request, staff)


@router.post("/admin/staff", dependencies=CSRF)
def staff_create(
    request: Request,
    staff: Annotated[Staff, Depends(admin)],
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    role: Annotated[StaffRole, Form()] = StaffRole.EDITOR,
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        create_staff_user(
            staff.db,
            email=email[:320],
            name=name,
            password=password[:1000],
            role=role,
            actor=staff.actor,
        )
    except StaffError as exc:
        staff.db.rollback()
        return _staff_page(request, staff, translated(request, str(exc)), 400)
    except InvalidAddress:
        staff.db.rollback()
        return _staff_page(
            request, staff, translated(request, "This is not a valid email address."), 400
        )
    staff.db.commit()
    return redirect("/admin/staff?notice=created")


@router.post("/admin/staff/{user_id}", dependencies=CSRF)
def staff_update(
    request: Request,
    user_id: int,
    role: Annotated[StaffRole, Form()],
    staff: Annotated[Staff, Depends(admin)],
    is_active: Annotated[bool, Form()] = False,
    unlock: Annotated[bool, Form()] = False,
) -> Response:
    user = staff.db.get(StaffUser, user_id)
    if user is None:
        return _staff_page(request, staff, translated(request, "Not found."), 404)
    if user.id == staff.user.id and (role != StaffRole.ADMIN or not is_active):
        message = translated(request, "You cannot remove your own admin access.")
        return _staff_page(request, staff, message, 400)
    update_staff_user(staff.db, user, staff.actor, role=role, is_active=is_active, unlock=unlock)
    staff.db.commit()
    return redirect("/admin/staff?notice=saved")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    staff: Annotated[Staff, Depends(admin)],
    page: int = 1,
) -> Response:
    page = max(1, min(page, 100_000))
    entries = staff.db.scalars(
        select(AuditLogEntry)
        .order_by(AuditLogEntry.id.desc())
        .offset((page - 1) * AUDIT_PAGE)
        .limit(AUDIT_PAGE)
    ).all()
    total = staff.db.scalar(select(func.count(AuditLogEntry.id))) or 0
    names = dict(staff.db.execute(select(StaffUser.id, StaffUser.email)).all())
    return render(
        request,
        "audit.html",
        {
            "entries": entries,
            "names": names,
            "page": page,
            "has_next": page * AUDIT_PAGE < total,
        },
    )
