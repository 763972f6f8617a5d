"""403 and 404 in the console are translated pages on the console layout; the API keeps
answering JSON (its OpenAPI schemas), whatever the client accepts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from newsletter.staff.models import StaffRole
from tests.admin.helpers import StaffClient, app_for, make_staff
from tests.admin.test_api import token_for

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_console_403_and_404_are_translated_pages_and_the_api_stays_json(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    make_staff(committed_db, StaffRole.VIEWER)
    token = token_for(committed_db, StaffRole.EDITOR, ["campaigns:read"])
    client = StaffClient(app_for(tmp_path, pg_url))
    client.sign_in("viewer@coalition.example.org")

    def get(path: str, language: str = "en", accept: str = BROWSER):  # type: ignore[no-untyped-def]
        headers = {"Accept": accept, "Accept-Language": language}
        return client.get(path, headers=headers)

    refused = get("/admin/staff")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert '<html lang="en">' in refused.text and 'href="/admin/account"' in refused.text
    assert '<p id="error-message" role="alert">Your role does not allow this.</p>' in refused.text
    french = get("/admin/staff", "fr")
    assert '<h1 id="error-title">Non autorisé</h1>' in french.text
    assert "Votre rôle ne le permet pas." in french.text
    assert "Tableau de bord" in french.text  # the layout's navigation, in French too

    for path in ("/admin/campaigns/987654", "/admin/no-such-page"):
        missing = get(path, "fr")
        assert missing.status_code == 404, path
        assert '<h1 id="error-title">Page introuvable</h1>' in missing.text, path
        assert "Cette page n&#39;existe pas, ou plus." in missing.text
    assert "Page not found" in get("/admin/campaigns/987654").text

    script = get("/admin/campaigns/987654", accept="application/json")
    assert script.json() == {"detail": "Not Found"}
    api = {"Authorization": f"Bearer {token}", "Accept": BROWSER, "Accept-Language": "fr"}
    for path, status in (("/api/v1/campaigns/987654", 404), ("/api/v1/posts", 403)):
        answer = client.http.get(path, headers=api)
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/json"
        assert set(answer.json()) == {"detail"}
