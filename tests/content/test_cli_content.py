"""``newsletter post ...`` and ``newsletter digest ...``: real processes, embedded defaults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from newsletter.content.models import Post
from newsletter.db import make_engine, make_session_factory
from tests.test_cli import newsletter


def _posts(tmp_path: Path) -> list[Post]:
    engine = make_engine(f"sqlite:///{tmp_path / 'newsletter.sqlite3'}")
    try:
        with make_session_factory(engine)() as session:
            posts = list(session.scalars(select(Post)))
            for post in posts:
                _ = post.translations, post.downloads
            return posts
    finally:
        engine.dispose()


def test_post_create_translate_publish(tmp_path: Path) -> None:
    assert newsletter(tmp_path, "db", "upgrade").returncode == 0
    body = tmp_path / "body.md"
    body.write_text("The coalition **calls on** the plenary.\n\n<script>x()</script>", "utf-8")
    created = newsletter(
        tmp_path, "post", "create", "--kind", "statement", "--title", "Plenary statement",
        "--summary", "Short.", "--body-file", str(body), "--contacts", "Press office",
        "--download", "Full text (PDF)=https://example.org/s.pdf",
        "--embargo-until", "2030-11-02T09:00+01:00",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    public_id = created.stdout.strip()
    translated = newsletter(
        tmp_path, "post", "translate", public_id, "--language", "fr",
        "--title", "Déclaration à la plénière", "--body", "La coalition **appelle**.",
    )  # fmt: skip
    assert translated.returncode == 0, translated.stderr
    published = newsletter(tmp_path, "post", "publish", public_id)
    assert published.returncode == 0, published.stderr
    assert "public from 2030-11-02 08:00 UTC" in published.stdout
    (post,) = _posts(tmp_path)
    assert {t.language: t.title for t in post.translations} == {
        "en": "Plenary statement",
        "fr": "Déclaration à la plénière",
    }
    english = next(t for t in post.translations if t.language == "en")
    assert "<strong>calls on</strong>" in english.body_html and "script" not in english.body_html
    assert post.embargo_until == dt.datetime(2030, 11, 2, 8, 0, tzinfo=dt.UTC)
    assert post.downloads[0].label == "Full text (PDF)"


def test_post_errors_are_clear(tmp_path: Path) -> None:
    assert newsletter(tmp_path, "db", "upgrade").returncode == 0
    result = newsletter(tmp_path, "post", "create", "--kind", "event", "--title", "Webinar")
    assert result.returncode != 0
    assert "An event needs a start time" in result.stderr
    missing = newsletter(tmp_path, "post", "publish", "nope")
    assert missing.returncode != 0 and "no post nope" in missing.stderr
