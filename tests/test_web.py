"""The web skeleton over real HTTP (ASGI): health checks, base layout, security headers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from newsletter.web.app import create_app
from tests.conftest import make_test_settings


async def get(app, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_healthz_is_ok_on_embedded_defaults(tmp_path: Path, sqlite_url: str) -> None:
    app = create_app(make_test_settings(tmp_path, database_url=sqlite_url))
    response = await get(app, "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.anyio
async def test_healthz_is_ok_on_postgresql_and_redis(tmp_path: Path, pg_url: str) -> None:
    settings = make_test_settings(
        tmp_path, database_url=pg_url, broker_url="redis://127.0.0.1:6379/14"
    )
    response = await get(create_app(settings), "/healthz")
    assert response.status_code == 200


@pytest.mark.anyio
async def test_healthz_reports_an_unreachable_database_and_broker(tmp_path: Path) -> None:
    settings = make_test_settings(
        tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2",
        broker_url="redis://127.0.0.1:1/0",
    )
    response = await get(create_app(settings), "/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "unreachable",
        "broker": "unreachable",
    }


@pytest.mark.anyio
async def test_pages_use_the_base_layout_and_carry_security_headers(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = make_test_settings(tmp_path, database_url=sqlite_url, org_name="Diamond <Watch>")
    response = await get(create_app(settings), "/")
    assert response.status_code == 200
    assert '<main id="main">' in response.text
    assert "Diamond &lt;Watch&gt;" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_home_page_renders_in_headless_chromium(
    tmp_path: Path, sqlite_url: str, live_server, browser
) -> None:
    base_url = live_server(create_app(make_test_settings(tmp_path, database_url=sqlite_url)))
    page = browser.new_page()
    try:
        response = page.goto(base_url + "/")
        assert response is not None and response.status == 200
        assert page.locator("html").get_attribute("lang") == "en"
        assert response.headers["x-frame-options"] == "DENY"
    finally:
        page.close()
