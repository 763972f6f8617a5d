"""Sign-in, second factor, sign-out and password reset pages (the only public staff pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from newsletter.config import Settings
from newsletter.db import after_commit, utcnow
from newsletter.staff import audit, totp
from newsletter.staff.auth import SignIn, check_password, find_staff
from newsletter.staff.models import StaffUser
from newsletter.staff.reset import PasswordRefused, set_password, user_for_token
from newsletter.staff.sessions import COOKIE_NAME, close_session, find_session, open_session
from newsletter.web.admin.deps import client_ip, request_actor
from newsletter.web.admin.rendering import (
    page_language,
    password_refused,
    redirect,
    render,
    translated,
)
from newsletter.web.admin.tasks import enqueue
from newsletter.web.app import session_dependency
from newsletter.web.csrf import require_csrf

router = APIRouter()
CSRF = [Depends(require_csrf)]
#: The sign-in routes anonymous visitors may reach; the route-walk test reads this set.
PUBLIC_PATHS = frozenset(
    {
        "/admin/login",
        "/admin/login/code",
        "/admin/logout",
        "/admin/password-reset",
        "/admin/password-reset/{token}",
    }
)


def _safe_next(
    target: str | None,
) -> str:
    """Only local admin paths: an open redirect would make our sign-in page a phishing aid."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return "/admin/"


def _open(
    request: Request,
    db: Session,
    user: StaffUser,
    target: str,
    *,
    second_factor_pending: bool = False,
    detail: dict[str, object] | None = None,
) -> Response:
    """Replace the browser's session by a new one (never keep an old id: no fixation) and
    send it on; a complete sign-in (not one still owing its code) is audited. The session
    keeps the client IP as ``AUDIT_IP`` allows, like the audit log."""
    settings: Settings = request.app.state.settings
    close_session(db, request.cookies.get(COOKIE_NAME))
    raw = open_session(
        db,
        user,
        settings,
        ip=request_actor(request).ip,
        user_agent=request.headers.get("user-agent", ""),
        second_factor_pending=second_factor_pending,
    )
    if not second_factor_pending:
        actor = request_actor(request, "staff", user.id)
        audit.record(
            db, actor, "staff.sign_in", object_type="staff_user", object_id=user.id, detail=detail
        )
    db.commit()
    response = redirect(target)
    response.set_cookie(
        COOKIE_NAME,
        raw,
        max_age=settings.staff_session_hours * 3600,
        httponly=True,
        secure=settings.base_url.startswith("https://"),
        samesite="strict",
        path="/",
    )
    return response


def _sign_in_page(
    request: Request, template: str, next: str, error: str = "", status: int = 200
) -> HTMLResponse:
    """The password or the code form, carrying a safe ``next`` and a translated error."""
    context = {"next": _safe_next(next), "error": translated(request, error) if error else ""}
    return render(request, template, context, status)


def _limiter(request: Request):  # type: ignore[no-untyped-def]
    from newsletter.web.admin.tasks import rate_limiter

    return rate_limiter(request.app)


@router.get("/admin/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    next: str = "/admin/",
) -> HTMLResponse:
    return _sign_in_page(request, "login.html", next)


@router.post("/admin/login", dependencies=CSRF)
def login(
    request: Request,
    db: Annotated[Session, Depends(session_dependency)],
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/admin/",
) -> Response:
    settings: Settings = request.app.state.settings
    actor = request_actor(request)
    result = check_password(
        db,
        settings,
        _limiter(request),
        email=email[:320],
        password=password[:1000],
        actor=actor,
        ip=client_ip(request),
    )
    if result.outcome != SignIn.OK or result.user is None:
        db.commit()  # the failure count and a lock-out must persist
        message = {
            SignIn.BAD_CREDENTIALS: "The address or the password is wrong.",
            SignIn.LOCKED: "Too many failed attempts: this sign-in is locked for a while. "
            "Try again later or reset your password.",
            SignIn.THROTTLED: "Too many attempts from your network. Please wait and try again.",
        }[result.outcome]
        status = 429 if result.outcome == SignIn.THROTTLED else 401
        return _sign_in_page(request, "login.html", next, message, status)
    if result.needs_second_factor:
        target = f"/admin/login/code?next={_safe_next(next)}"
        return _open(request, db, result.user, target, second_factor_pending=True)
    return _open(request, db, result.user, _safe_next(next))


@router.get("/admin/login/code", response_class=HTMLResponse)
def code_form(
    request: Request,
    next: str = "/admin/",
) -> HTMLResponse:
    return _sign_in_page(request, "login_code.html", next)


@router.post("/admin/login/code", dependencies=CSRF)
def code(
    request: Request,
    db: Annotated[Session, Depends(session_dependency)],
    code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/admin/",
) -> Response:
    settings: Settings = request.app.state.settings
    raw = request.cookies.get(COOKIE_NAME)
    pending = find_session(db, raw, settings)
    if pending is None or not pending.second_factor_pending:
        db.commit()
        return redirect("/admin/login")
    user = pending.staff_user
    limiter = _limiter(request)
    if not limiter.hit(f"totp-tries:{pending.id}", 5, 900).allowed:
        close_session(db, raw)
        db.commit()
        return redirect("/admin/login")
    if not totp.verify_user_code(user, settings.secret_key, code[:20]):
        db.commit()
        error = "That code is not right. Enter the current code from your app."
        return _sign_in_page(request, "login_code.html", next, error, 401)
    user.last_login_at = utcnow()
    return _open(request, db, user, _safe_next(next), detail={"second_factor": True})


@router.post("/admin/logout", dependencies=CSRF)
def logout(
    request: Request,
    db: Annotated[Session, Depends(session_dependency)],
) -> Response:
    close_session(db, request.cookies.get(COOKIE_NAME))
    db.commit()
    response = redirect("/admin/login?notice=signed-out")
    response.delete_cookie(COOKIE_NAME, path="/")
    return response


@router.get("/admin/password-reset", response_class=HTMLResponse)
def reset_request_form(
    request: Request,
) -> HTMLResponse:
    return render(request, "reset_request.html", {"error": ""})


@router.post("/admin/password-reset", dependencies=CSRF)
def reset_request(
    request: Request,
    db: Annotated[Session, Depends(session_dependency)],
    email: Annotated[str, Form()] = "",
) -> Response:
    limiter = _limiter(request)
    allowed = limiter.hit(f"reset-ip:{client_ip(request)}", 10, 3600).allowed
    user = find_staff(db, email[:320]) if allowed else None
    if (
        user is not None
        and user.is_active
        and limiter.hit(f"reset-user:{user.id}", 3, 3600).allowed
    ):
        audit.record(
            db,
            request_actor(request),
            "staff.password_reset_requested",
            object_type="staff_user",
            object_id=user.id,
        )
        user_id, language = user.id, page_language(request)
        after_commit(
            db, lambda: enqueue(request.app, "newsletter.staff_password_reset", user_id, language)
        )
    db.commit()
    return redirect("/admin/login?notice=reset-sent")


@router.get("/admin/password-reset/{token}", response_class=HTMLResponse)
def reset_form(
    request: Request,
    token: str,
    db: Annotated[Session, Depends(session_dependency)],
) -> Response:
    valid = user_for_token(db, request.app.state.settings, token) is not None
    return render(
        request, "reset_password.html", {"valid": valid, "error": ""}, status=200 if valid else 400
    )


@router.post("/admin/password-reset/{token}", dependencies=CSRF)
def reset_password(
    request: Request,
    token: str,
    db: Annotated[Session, Depends(session_dependency)],
    password: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
) -> Response:
    user = user_for_token(db, request.app.state.settings, token)
    if user is None:
        return render(request, "reset_password.html", {"valid": False, "error": ""}, 400)
    error = ""
    if password != confirm:
        error = translated(request, "The two passwords differ.")
    else:
        try:
            set_password(db, user, password[:1000])
        except PasswordRefused as exc:
            error = password_refused(request, exc)
    if error:
        return render(request, "reset_password.html", {"valid": True, "error": error}, 400)
    audit.record(
        db,
        request_actor(request, "staff", user.id),
        "staff.password_reset",
        object_type="staff_user",
        object_id=user.id,
    )
    db.commit()
    return redirect("/admin/login?notice=password-changed")
