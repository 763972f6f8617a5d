"""``/api/docs`` and ``/redoc`` render in real Chromium from the package's own assets.

Each page must show the operations of the service's OpenAPI document, raise no
Content-Security-Policy violation (the ``securitypolicyviolation`` event and the console both
watched) and send no request to a host other than the loopback server.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from newsletter.config import PROJECT_ROOT
from newsletter.web.app import create_app
from tests.conftest import make_test_settings

pytestmark = pytest.mark.slow

WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


class Watched:
    """A page whose requests and console errors are recorded from the first byte."""

    def __init__(self, browser: Any) -> None:
        self.page = browser.new_page()
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page.add_init_script(WATCH_VIOLATIONS)
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "console",
            lambda message: message.type == "error" and self.console_errors.append(message.text),
        )

    def violations(self) -> list[str]:
        return list(self.page.evaluate("window.__violations"))

    def foreign_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in {"data", "blob"}
            and urlsplit(url).hostname not in {"127.0.0.1", "localhost", "::1"}
        ]


@pytest.fixture
def served(tmp_path: Path, sqlite_url: str, live_server: Any) -> str:
    return live_server(create_app(make_test_settings(tmp_path, database_url=sqlite_url)))


def _operations(base: str) -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation the OpenAPI document declares."""
    document = httpx.get(f"{base}/openapi.json", timeout=10).json()
    return [
        (method, path, operation["operationId"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_swagger_ui_shows_every_operation_inside_the_csp(served: str, browser: Any) -> None:
    operations = _operations(served)
    assert len(operations) >= 5
    watched = Watched(browser)
    watched.page.goto(f"{served}/api/docs")
    watched.page.locator(".opblock").first.wait_for(state="visible", timeout=20_000)
    shown = watched.page.locator(".opblock").count()
    assert shown == len(operations)
    method, path, _ = operations[0]
    block = watched.page.locator(f".opblock-{method}", has_text=path).first
    assert block.is_visible()
    block.locator(".opblock-summary").first.click()  # the interactive part runs too
    watched.page.locator(".opblock-body").first.wait_for(state="visible", timeout=10_000)
    violations = watched.violations()
    assert violations == [], "\n".join(violations)
    assert not [text for text in watched.console_errors if "Content Security Policy" in text]
    assert watched.foreign_requests() == []
    watched.page.close()


def test_redoc_shows_every_operation_inside_the_csp(served: str, browser: Any) -> None:
    operations = _operations(served)
    watched = Watched(browser)
    watched.page.goto(f"{served}/redoc")
    sections = watched.page.locator("[data-section-id^='operation/']")
    sections.first.wait_for(state="visible", timeout=20_000)
    ids = {sections.nth(i).get_attribute("data-section-id") for i in range(sections.count())}
    assert {f"operation/{operation_id}" for _, _, operation_id in operations} <= ids
    # ReDoc styled the page (its <style> elements carry the nonce): the menu is laid out.
    menu = watched.page.locator(".menu-content")
    assert menu.is_visible()
    assert menu.evaluate("element => getComputedStyle(element).position") != "static"
    violations = watched.violations()
    assert violations == [], "\n".join(violations)
    assert not [text for text in watched.console_errors if "Content Security Policy" in text]
    assert watched.foreign_requests() == []
    watched.page.close()


def test_each_docs_page_sends_the_app_policy_without_a_remote_source(served: str) -> None:
    for path in ("/api/docs", "/redoc"):
        answer = httpx.get(f"{served}{path}", timeout=10)
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "http" not in policy and "unsafe" not in policy, policy
        assert not re.search(r"<script>(?!</script>)", answer.text), "inline script"


def _vendored() -> list[tuple[str, str]]:
    """(file, sha256) rows of static/vendor/README.md's table."""
    text = (PROJECT_ROOT / "static" / "vendor" / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|", text, flags=re.MULTILINE)


def test_vendored_files_are_the_pinned_releases_with_their_licences() -> None:
    rows = _vendored()
    assert len(rows) >= 6
    vendor = PROJECT_ROOT / "static" / "vendor"
    on_disk = {str(path.relative_to(vendor)) for path in vendor.rglob("*") if path.is_file()}
    assert on_disk - {"README.md"} == {name for name, _ in rows}
    for name, digest in rows:
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
    for folder in {name.split("/")[0] for name, _ in rows}:
        assert (vendor / folder / "LICENSE").is_file(), f"{folder} ships without its licence"
