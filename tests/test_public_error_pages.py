"""Public 404, 405 and 500 are pages in the reader's language; API paths keep JSON bodies.

Real HTTP through the ASGI app; the 500 is a real fault (a database that was never migrated).
"""

from __future__ import annotations

import asyncio
import html
from pathlib import Path

import httpx
import pytest

from newsletter.i18n import gettext
from newsletter.web.app import create_app
from newsletter.web.error_pages import PAGES
from tests.conftest import make_test_settings

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _request(app, method: str, path: str, **headers: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path, headers=headers)

    return asyncio.run(go())


def _expected(status: int, language: str) -> tuple[str, str]:
    title, message = PAGES[status]
    return gettext(title, language), gettext(message, language)


def _assert_page(answer: httpx.Response, status: int, language: str) -> None:
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert f'<html lang="{language}">' in answer.text
    title, message = _expected(status, language)
    text = html.unescape(answer.text)
    assert f'<h1 id="error-title">{title}</h1>' in text
    assert f'<p id="error-message">{message}</p>' in text
    assert 'href="/static/css/site.css"' in answer.text  # the site's layout
    assert "default-src 'self'" in answer.headers["content-security-policy"]


@pytest.fixture
def app(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    return create_app(make_test_settings(tmp_path, database_url=sqlite_url))


def test_every_public_error_page_is_translated() -> None:
    for status in PAGES:
        for english, french in zip(_expected(status, "en"), _expected(status, "fr"), strict=True):
            assert french != english, f"no French for {english!r}"


def test_unknown_public_url_is_a_page_in_the_readers_language(app) -> None:  # type: ignore[no-untyped-def]
    _assert_page(_request(app, "GET", "/no-such-page", accept=BROWSER), 404, "en")
    french = _request(app, "GET", "/no-such-page", accept=BROWSER, **{"accept-language": "fr"})
    _assert_page(french, 404, "fr")
    _assert_page(_request(app, "GET", "/campagnes/2026?lang=fr"), 404, "fr")


def test_wrong_method_on_a_public_page_is_a_translated_405_page(app) -> None:  # type: ignore[no-untyped-def]
    answer = _request(app, "DELETE", "/subscribe", accept=BROWSER, **{"accept-language": "fr"})
    _assert_page(answer, 405, "fr")
    assert "GET" in answer.headers["allow"]
    _assert_page(_request(app, "PUT", "/?lang=en", accept=BROWSER), 405, "en")


def test_api_paths_and_json_clients_keep_json_errors(app) -> None:  # type: ignore[no-untyped-def]
    missing = _request(app, "GET", "/api/v1/no-such-thing", accept=BROWSER)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    wrong = _request(app, "DELETE", "/api/v1/subscriptions", accept=BROWSER)
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": "Method Not Allowed"}
    script = _request(app, "GET", "/no-such-page", accept="application/json")
    assert script.status_code == 404 and script.json() == {"detail": "Not Found"}


def test_a_fault_is_a_translated_500_page_for_browsers_and_json_for_the_api(
    tmp_path: Path,
) -> None:
    never_migrated = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    app = create_app(make_test_settings(tmp_path, database_url=never_migrated))
    _assert_page(_request(app, "GET", "/archive", accept=BROWSER), 500, "en")
    french = _request(app, "GET", "/archive?lang=fr", accept=BROWSER)
    _assert_page(french, 500, "fr")
    assert "Traceback" not in french.text and "sqlite" not in french.text.lower()
    token = "Bearer nl_" + "x" * 40  # well-formed: the API looks it up in the broken database
    api = _request(app, "GET", "/api/v1/lists", accept=BROWSER, authorization=token)
    assert api.status_code == 500, api.text
    assert api.json() == {"detail": "Internal Server Error"}
