"""``newsletter post ...`` and ``newsletter digest ...``: real processes, embedded defaults."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from newsletter.cli import cli
from newsletter.config import Settings, get_settings
from newsletter.content.models import Post
from newsletter.db import make_engine, make_session_factory, utcnow

pytestmark = pytest.mark.date_sensitive


@pytest.fixture
def newsletter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``newsletter ARGS`` in this process on the embedded defaults under ``tmp_path``."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)

    yield run
    get_settings.cache_clear()


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


def test_post_create_translate_publish(tmp_path: Path, newsletter) -> None:
    assert newsletter("db", "upgrade").exit_code == 0
    # An embargo a year ahead, 09:00 at UTC+01:00 (08:00 UTC), whatever day the suite runs.
    day = (utcnow() + dt.timedelta(days=365)).date()
    embargo = dt.datetime(day.year, day.month, day.day, 8, 0, tzinfo=dt.UTC)
    body = tmp_path / "body.md"
    body.write_text("The coalition **calls on** the plenary.\n\n<script>x()</script>", "utf-8")
    created = newsletter(
        "post", "create", "--kind", "statement", "--title", "Plenary statement",
        "--summary", "Short.", "--body-file", str(body), "--contacts", "Press office",
        "--download", "Full text (PDF)=https://example.org/s.pdf",
        "--embargo-until", f"{day.isoformat()}T09:00+01:00",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    public_id = created.stdout.strip()
    translated = newsletter(
        "post", "translate", public_id, "--language", "fr",
        "--title", "Déclaration à la plénière", "--body", "La coalition **appelle**.",
    )  # fmt: skip
    assert translated.exit_code == 0, translated.output
    published = newsletter("post", "publish", public_id)
    assert published.exit_code == 0, published.output
    assert f"public from {day.isoformat()} 08:00 UTC" in published.output
    (post,) = _posts(tmp_path)
    assert {t.language: t.title for t in post.translations} == {
        "en": "Plenary statement",
        "fr": "Déclaration à la plénière",
    }
    english = next(t for t in post.translations if t.language == "en")
    assert "<strong>calls on</strong>" in english.body_html and "script" not in english.body_html
    assert post.embargo_until == embargo
    assert post.downloads[0].label == "Full text (PDF)"
    refused = newsletter("post", "create", "--kind", "event", "--title", "Webinar")
    assert refused.exit_code != 0
    assert "An event needs a start time" in refused.output
    october = newsletter("post", "create", "--kind", "report", "--title", "Field report",
                         "--summary", "What we found.")  # fmt: skip
    report_id = october.stdout.strip()
    assert newsletter("post", "publish", report_id, "--at", "2026-10-05T10:00").exit_code == 0
    preview = newsletter("digest", "preview", "--month", "2026-10", "--language", "fr")
    assert preview.exit_code == 0, preview.output
    assert "Subject: Coalition Newsletter\u00a0: le mois en bref, octobre 2026" in preview.output
    assert "RAPPORTS" in preview.output and "Field report" in preview.output
    empty = newsletter("digest", "preview", "--month", "2026-09")
    assert "nothing was published in 2026-09" in empty.output
    missing = newsletter("post", "publish", "nope")
    assert missing.exit_code != 0 and "no post nope" in missing.output
