"""Posts: translations grouped, publication, embargo and the one visibility rule."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from newsletter.content.models import PostKind
from newsletter.content.service import (
    DownloadInput,
    EventInput,
    PostError,
    TranslationInput,
    create_post,
    public_posts_between,
    publish_post,
    translation_for,
    visible_from,
)

pytestmark = pytest.mark.date_sensitive

LANGS = ["en", "fr"]
NOW = dt.datetime(2026, 10, 15, 12, 0, tzinfo=dt.UTC)


def _release(session: Session, **kwargs: object):
    return create_post(
        session,
        kind=kwargs.pop("kind", PostKind.PRESS_RELEASE),
        translations=kwargs.pop(
            "translations",
            [
                TranslationInput("en", "Reform stalls again", "Summary.", "Body **bold**."),
                TranslationInput("fr", "La réforme piétine encore", "Résumé.", "Corps."),
            ],
        ),
        languages=LANGS,
        **kwargs,
    )


def test_a_post_groups_its_translations_and_renders_each_body(any_db_session: Session) -> None:
    post = _release(
        any_db_session,
        contacts="Jane Doe, coordinator, +00 0000 0000",
        downloads=[DownloadInput("Full report (PDF)", "https://example.org/report.pdf")],
    )
    any_db_session.commit()
    assert {t.language for t in post.translations} == {"en", "fr"}
    english = translation_for(post, "en", "en")
    assert english.body_html == "<p>Body <strong>bold</strong>.</p>"
    assert translation_for(post, "fr", "en").title == "La réforme piétine encore"
    assert post.downloads[0].url == "https://example.org/report.pdf"
    assert post.published_at is None


def test_missing_translation_falls_back_to_default_language(db_session: Session) -> None:
    post = _release(db_session, translations=[TranslationInput("en", "Only English")])
    assert translation_for(post, "fr", "en").language == "en"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"translations": []}, "at least one language"),
        ({"translations": [TranslationInput("de", "x")]}, "Each language"),
        ({"translations": [TranslationInput("en", " ")]}, "title"),
        ({"kind": PostKind.EVENT}, "start time"),
        ({"downloads": [DownloadInput("x", "javascript:alert(1)")]}, "http"),
    ],
)
def test_invalid_posts_are_refused_with_a_clear_message(
    db_session: Session, changes: dict, message: str
) -> None:
    with pytest.raises(PostError, match=message):
        _release(db_session, **changes)


def test_post_errors_are_translated(db_session: Session) -> None:
    from newsletter.i18n import using_language

    with using_language("fr"), pytest.raises(PostError, match="titre"):
        _release(db_session, translations=[TranslationInput("en", "")])


def test_event_start_given_in_its_zone_is_stored_in_utc(db_session: Session) -> None:
    post = _release(
        db_session,
        kind=PostKind.EVENT,
        event=EventInput(
            dt.datetime(2026, 10, 20, 16, 0),
            "Europe/London",
            90,
            None,
            "https://meet.example.org/x",
        ),
    )
    assert post.event_start == dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)
    assert post.event_timezone == "Europe/London"


def test_embargoed_and_draft_posts_are_not_public_until_their_time(db_session: Session) -> None:
    draft = _release(db_session)
    published = publish_post(_release(db_session), now=NOW - dt.timedelta(hours=1))
    embargoed = publish_post(
        _release(db_session),
        embargo_until=NOW + dt.timedelta(hours=2),
        now=NOW - dt.timedelta(hours=1),
    )
    db_session.flush()
    month = (dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert public_posts_between(db_session, *month, NOW) == [published]
    later = NOW + dt.timedelta(hours=3)
    assert public_posts_between(db_session, *month, later) == [embargoed, published]
    assert visible_from(embargoed) == NOW + dt.timedelta(hours=2)
    assert draft.published_at is None


def test_publishing_twice_keeps_the_first_date(db_session: Session) -> None:
    post = publish_post(_release(db_session), now=NOW)
    publish_post(post, now=NOW + dt.timedelta(days=1))
    assert post.published_at == NOW


def test_staff_can_change_downloads_event_and_embargo_later(db_session: Session) -> None:
    from newsletter.content.service import update_post

    post = _release(db_session, downloads=[DownloadInput("Old", "https://example.org/old.pdf")])
    update_post(
        post,
        downloads=[DownloadInput("New", "https://example.org/new.pdf")],
        embargo_until=NOW,
        alert_enabled=False,
        contacts="Press desk",
    )
    db_session.flush()
    assert [d.label for d in post.downloads] == ["New"]
    assert post.embargo_until == NOW and post.alert_enabled is False
    update_post(post, clear_embargo=True)
    assert post.embargo_until is None and post.contacts == "Press desk"
    with pytest.raises(PostError, match="http"):
        update_post(post, event=EventInput(NOW, "UTC", online_url="ftp://example.org/x"))
