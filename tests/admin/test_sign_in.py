"""Sign-in: argon2 (and old scrypt hashes), sessions, lock-out, second factor, reset."""

from __future__ import annotations

import time
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.db import unit_of_work
from newsletter.staff import totp
from newsletter.staff.models import AuditLogEntry, StaffRole, StaffSession, StaffUser
from newsletter.staff.passwords import _scrypt_hash
from newsletter.staff.reset import reset_token
from newsletter.staff.sessions import COOKIE_NAME
from tests.admin.helpers import PASSWORD, StaffClient, app_for, make_staff, staff_settings

pytestmark = pytest.mark.date_sensitive

EDITOR = "editor@coalition.example.org"


def test_sign_in_sets_a_strict_httponly_session_and_sign_out_ends_it(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    assert client.get("/admin/").status_code == 303
    response = client.sign_in(EDITOR)
    assert response.status_code == 303 and response.headers["location"] == "/admin/"
    cookie = response.headers["set-cookie"].lower()
    assert COOKIE_NAME in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "secure" not in cookie  # http base URL in tests; https adds Secure (next test)
    assert client.get("/admin/").status_code == 200
    with committed_db() as db:
        raw = client.http.cookies[COOKIE_NAME]
        stored = db.scalars(select(StaffSession.token_hash)).all()
        assert len(stored) == 1 and raw not in stored  # only the hash is kept
        actions = db.scalars(select(AuditLogEntry.action)).all()
        assert "staff.sign_in" in actions
    assert client.post("/admin/logout").status_code == 303
    client.http.cookies.set(COOKIE_NAME, raw)  # replaying the old cookie does not work
    assert client.get("/admin/").status_code == 303


def test_session_cookie_is_secure_on_https(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.VIEWER)
    client = StaffClient(app_for(tmp_path, pg_url, base_url="https://news.example.org"))
    client.http.base_url = "https://testserver"
    response = client.sign_in("viewer@coalition.example.org")
    assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_passwords_lock_the_account_and_unknown_addresses_look_the_same(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url, login_max_failures=3))
    for _ in range(3):
        response = client.sign_in(EDITOR, "wrong password here")
        assert response.status_code == 401
    locked = client.sign_in(EDITOR)  # the right password no longer helps
    assert locked.status_code == 401 and "locked" in locked.text
    for _ in range(3):
        client.sign_in("nobody@coalition.example.org", "wrong password here")
    unknown = client.sign_in("nobody@coalition.example.org", "wrong password here")
    assert "locked" in unknown.text
    with committed_db() as db:
        user = db.scalars(select(StaffUser)).one()
        assert user.locked_until is not None
        assert "staff.locked_out" in db.scalars(select(AuditLogEntry.action)).all()


def test_sign_in_attempts_are_throttled_per_client(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], redis_client
) -> None:
    from tests.conftest import REDIS_FIXTURE_DB, REDIS_HOST_URL

    app = app_for(
        tmp_path,
        pg_url,
        login_ip_attempts_per_hour=4,
        redis_url=f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}",
    )
    client = StaffClient(app)
    codes = [client.sign_in(f"a{i}@coalition.example.org", "x" * 12).status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    assert any(key.startswith(b"nl:rl:login-ip") for key in redis_client.keys("*"))


def test_old_scrypt_hashes_still_sign_in_and_are_replaced_by_argon2(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    with unit_of_work(committed_db) as db:
        db.scalars(select(StaffUser)).one().password_hash = _scrypt_hash(PASSWORD)
    client = StaffClient(app_for(tmp_path, pg_url))
    assert client.sign_in(EDITOR).status_code == 303
    with committed_db() as db:
        assert db.scalars(select(StaffUser)).one().password_hash.startswith("$argon2id$")


def test_second_factor_is_required_when_enabled_and_each_code_works_once(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    make_staff(committed_db, StaffRole.ADMIN)
    secret = totp.new_secret()
    with unit_of_work(committed_db) as db:
        user = db.scalars(select(StaffUser)).one()
        earlier = pyotp.TOTP(secret).at(time.time() - 30)  # enrolled half a minute ago
        assert totp.enable(user, settings.secret_key, secret, earlier)
    client = StaffClient(app_for(tmp_path, pg_url))
    response = client.sign_in("admin@coalition.example.org")
    assert response.headers["location"].startswith("/admin/login/code")
    assert client.get("/admin/").status_code == 303  # half signed-in is not signed in
    client.get("/admin/login/code")
    assert client.post("/admin/login/code", {"code": "000000"}).status_code == 401
    code = pyotp.TOTP(secret).now()
    assert client.post("/admin/login/code", {"code": code}).status_code == 303
    assert client.get("/admin/").status_code == 200
    other = StaffClient(app_for(tmp_path, pg_url))
    other.sign_in("admin@coalition.example.org")
    other.get("/admin/login/code")
    assert other.post("/admin/login/code", {"code": code}).status_code == 401  # replay


def test_password_reset_link_works_once_and_ends_sessions(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    settings = staff_settings(tmp_path, pg_url)
    make_staff(committed_db, StaffRole.EDITOR)
    signed_in = StaffClient(app_for(tmp_path, pg_url))
    signed_in.sign_in(EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url))
    client.get("/admin/password-reset")
    known = client.post("/admin/password-reset", {"email": EDITOR})
    unknown = client.post("/admin/password-reset", {"email": "nobody@coalition.example.org"})
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"]
    with committed_db() as db:
        token = reset_token(settings, db.scalars(select(StaffUser)).one())
    assert client.get(f"/admin/password-reset/{token}").status_code == 200
    new = "a brand new passphrase"
    done = client.post(f"/admin/password-reset/{token}", {"password": new, "confirm": new})
    assert done.status_code == 303
    assert client.get(f"/admin/password-reset/{token}").status_code == 400  # used
    assert signed_in.get("/admin/").status_code == 303  # other sessions ended
    assert client.sign_in(EDITOR, new).status_code == 303


def test_the_reset_email_reaches_the_smtp_server_with_a_working_link(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], smtp_server
) -> None:
    from newsletter.staff.reset import send_reset_email, user_for_token

    settings = staff_settings(tmp_path, pg_url, smtp_url=smtp_server.url)
    user_id = make_staff(committed_db, StaffRole.EDITOR)
    with unit_of_work(committed_db) as db:
        assert send_reset_email(db, settings, user_id, "fr")
    (message,) = smtp_server.wait_for(1)
    assert message.rcpt_tos == (EDITOR,)
    text = message.message.get_body(("plain",)).get_content()
    assert "réinitialiser" in text.lower()
    token = text.split("/admin/password-reset/")[1].split()[0]
    with committed_db() as db:
        assert user_for_token(db, settings, token) is not None


def test_sign_in_and_out_in_a_real_browser(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], live_server, browser
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    base_url = live_server(app_for(tmp_path, pg_url))
    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        page.goto(base_url + "/admin/account")
        assert "/admin/login" in page.url
        page.fill("input[name=email]", EDITOR)
        page.fill("input[name=password]", "not the password")
        page.click("button[type=submit]")
        assert page.locator("p.error").is_visible()
        page.fill("input[name=email]", EDITOR)
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(base_url + "/admin/account")
        qr = page.locator("#totp-qr svg")  # enrolment QR: drawn, sized, and within the CSP
        assert qr.is_visible() and qr.bounding_box()["width"] >= 100  # type: ignore[index]
        assert not [m for m in console if "Content Security Policy" in m], console
        page.click("header button:has-text('Sign out')")
        page.wait_for_url("**/admin/login**")
        page.goto(base_url + "/admin/")
        assert "/admin/login" in page.url
    finally:
        page.close()
