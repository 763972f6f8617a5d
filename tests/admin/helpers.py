"""Helpers for staff-console tests: an app on the test PostgreSQL, staff of each role,
and a signed-in HTTP client that carries the CSRF token like a browser form would."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from newsletter.config import Settings
from newsletter.db import unit_of_work
from newsletter.staff.models import StaffRole
from newsletter.staff.service import create_staff_user
from newsletter.web.app import create_app
from tests.conftest import make_test_settings

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def staff_settings(tmp_path: Path, pg_url: str, **overrides: object) -> Settings:
    return make_test_settings(tmp_path, database_url=pg_url, **overrides)


def make_staff(factory: sessionmaker[Session], role: StaffRole, email: str | None = None) -> int:
    with unit_of_work(factory) as session:
        user = create_staff_user(
            session,
            email=email or f"{role.value}@coalition.example.org",
            name=f"{role.value.title()} Person",
            password=PASSWORD,
            role=role,
        )
        return user.id


def csrf_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class StaffClient:
    """A synchronous HTTP client over ASGI with the CSRF cookie and token of a browser."""

    def __init__(self, app: FastAPI) -> None:
        self.http = TestClient(app, follow_redirects=False)
        self.token = ""

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        response = self.http.get(path, **kwargs)  # type: ignore[arg-type]
        found = (
            _TOKEN.search(response.text)
            if response.headers.get("content-type", "").startswith("text/html")
            else None
        )
        if found:
            self.token = found.group(1)
        return response

    def post(
        self, path: str, data: dict[str, object] | None = None, **kwargs: object
    ) -> httpx.Response:
        if not self.token:
            self.get("/admin/login")
        body = {"csrf_token": self.token, **(data or {})}
        return self.http.post(path, data=body, **kwargs)  # type: ignore[arg-type]

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        self.get("/admin/login")
        return self.post("/admin/login", {"email": email, "password": password})

    def close(self) -> None:
        self.http.close()


#: Apps made by this test; tests/admin/conftest.py disposes their engines after each test so
#: connection pools do not pile up (PostgreSQL is shared by parallel test runs).
CREATED_APPS: list[FastAPI] = []


def app_for(tmp_path: Path, pg_url: str, **overrides: object) -> FastAPI:
    app = create_app(staff_settings(tmp_path, pg_url, **overrides))
    CREATED_APPS.append(app)
    return app


def browser_sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in through the real form in a Playwright page; waits until the console shows."""
    page.goto(base + "/admin/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/admin/login" not in url)
