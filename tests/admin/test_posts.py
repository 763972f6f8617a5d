"""Post pages: English and French side by side, Markdown preview (sanitised), publish now,
publish at a time, embargo; hostile titles escaped on every page that shows them."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from newsletter.content.models import Post
from newsletter.db import unit_of_work
from newsletter.staff.models import AuditLogEntry, StaffRole
from tests.admin.factories import XSS, make_list
from tests.admin.helpers import StaffClient, app_for, browser_sign_in, make_staff


def test_posts_are_written_in_two_languages_previewed_published_and_escaped(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session]
) -> None:
    with unit_of_work(committed_db) as db:
        make_list(db, "press", "Press releases")
    make_staff(committed_db, StaffRole.EDITOR)
    client = StaffClient(app_for(tmp_path, pg_url, org_timezone="Africa/Harare"))
    client.sign_in("editor@coalition.example.org")
    client.get("/admin/posts/new")
    form = {
        "kind": "press_release",
        "title_en": f"Water report {XSS}",
        "body_en": "Read **this** <script>alert(2)</script>",
        "title_fr": "Rapport sur l'eau",
        "body_fr": "Lisez *ceci*.",
    }
    preview = client.post("/admin/posts/new/edit", form | {"action": "preview"})
    assert preview.status_code == 200
    assert "<strong>this</strong>" in preview.text and "<script>alert(2)" not in preview.text
    saved = client.post(
        "/admin/posts/new/edit",
        form
        | {
            "action": "save",
            "publish": "at",
            "publish_at": "2099-01-01T10:00",
            "embargo": "2099-01-01T12:00",
        },
    )
    assert saved.status_code == 303, saved.text
    confirm = saved.headers["location"]  # a press release: its alert is confirmed first
    assert confirm.endswith("/publish?at=2099-01-01T08:00:00Z")
    with committed_db() as db:
        assert db.scalars(select(Post)).one().published_at is None  # saved, not yet published
    page = client.get(confirm)
    assert "No list receives Press-release alerts" in page.text  # the list is named "press"
    assert client.post(confirm.split("?")[0], {"alert": "none", "at": "2099-01-01T08:00:00Z"})
    with committed_db() as db:
        post = db.scalars(select(Post)).one()
        assert sorted(t.language for t in post.translations) == ["en", "fr"]
        assert post.alert_enabled is False  # published without alert
        assert post.published_at.isoformat() == "2099-01-01T08:00:00+00:00"  # 10:00 Harare
        assert post.embargo_until.isoformat() == "2099-01-01T10:00:00+00:00"
        post_id = post.id
        assert "post.create" in db.scalars(select(AuditLogEntry.action)).all()
    for path in ("/admin/posts", f"/admin/posts/{post_id}/edit", "/admin/campaigns/new"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, path
    assert "&lt;script&gt;alert" in client.get("/admin/posts").text
    missing = client.post(f"/admin/posts/{post_id}/edit", {"action": "save", "kind": "news"})
    assert missing.status_code == 400
    bad_event = client.post(
        f"/admin/posts/{post_id}/edit",
        form | {"action": "save", "kind": "event", "event_start": "next Tuesday"},
    )
    assert bad_event.status_code == 400 and "Give a date and time." in bad_event.text


def test_write_a_post_in_english_and_french_in_a_browser(
    tmp_path: Path, pg_url: str, committed_db: sessionmaker[Session], live_server, browser
) -> None:
    make_staff(committed_db, StaffRole.EDITOR)
    base = live_server(app_for(tmp_path, pg_url))
    page = browser.new_page()
    try:
        browser_sign_in(page, base, "editor@coalition.example.org")
        page.goto(base + "/admin/posts/new")
        page.select_option("select[name=kind]", "statement")
        page.fill("input[name=title_en]", "Statement on the new mining code")
        page.fill("textarea[name=body_en]", "The coalition **welcomes** the vote.")
        page.fill("input[name=title_fr]", "Déclaration sur le nouveau code minier")
        page.fill("textarea[name=body_fr]", "La coalition **salue** le vote.")
        page.click("button[value=preview]")
        expect(page.locator("#preview-fr strong")).to_have_text("salue")
        page.check("input[name=publish][value=now]")
        page.click("button[value=save]")
        expect(page.locator("#alert-no-list")).to_be_visible()  # no list takes statements
        page.click("#publish-confirm button[value=none]")
        expect(page.locator("p.notice")).to_be_visible()
        page.goto(base + "/admin/posts")
        expect(page.locator("main table")).to_contain_text("Statement on the new mining code")
    finally:
        page.close()
    with committed_db() as db:
        post = db.scalars(select(Post)).one()
        assert post.published_at is not None
        assert {t.language: t.title for t in post.translations}["fr"].startswith("Déclaration")
