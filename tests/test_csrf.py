"""CSRF double-submit cookie: issued on pages, required on form POSTs, refused otherwise."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from newsletter.i18n import using_language
from newsletter.web.csrf import COOKIE_NAME, FORM_FIELD, install_csrf, require_csrf
from tests.conftest import make_test_settings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_app(tmp_path: Path) -> FastAPI:
    app = FastAPI()
    app.state.settings = make_test_settings(tmp_path)
    install_csrf(app, app.state.settings)

    @app.get("/form", response_class=HTMLResponse)
    def form(request: Request) -> str:
        return f'<form><input name="{FORM_FIELD}" value="{request.state.csrf_token}"></form>'

    @app.post("/form", dependencies=[Depends(require_csrf)])
    def submit() -> PlainTextResponse:
        return PlainTextResponse("done")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.mark.anyio
async def test_a_form_post_with_the_page_token_is_accepted(tmp_path: Path) -> None:
    async with client(make_app(tmp_path)) as http:
        page = await http.get("/form")
        assert COOKIE_NAME in page.cookies
        assert "httponly" in page.headers["set-cookie"].lower()
        token = page.text.split('value="')[1].split('"')[0]
        response = await http.post("/form", data={FORM_FIELD: token})
        assert response.status_code == 200


@pytest.mark.anyio
async def test_a_post_without_token_or_cookie_or_with_a_wrong_token_is_refused(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path)
    async with client(app) as http:
        assert (await http.post("/form", data={"x": "1"})).status_code == 403
        page = await http.get("/form")
        token = page.text.split('value="')[1].split('"')[0]
        wrong = token[:-1] + ("1" if token.endswith("0") else "0")
        assert (await http.post("/form", data={FORM_FIELD: wrong})).status_code == 403
    async with client(app) as cookieless:
        assert (await cookieless.post("/form", data={FORM_FIELD: token})).status_code == 403


def test_the_refusal_is_translated() -> None:
    from newsletter.i18n import gettext

    with using_language("fr"):
        assert gettext(
            "This form has expired or was sent from another site. "
            "Please reload the page and try again."
        ).startswith("Ce formulaire")
