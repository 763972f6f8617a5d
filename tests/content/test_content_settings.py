"""Content settings: readable in .env form, refused with a clear message when wrong."""

from __future__ import annotations

import pytest

from newsletter.config import SettingsError, load_settings
from tests.conftest import make_test_settings, settings_env


def test_pairs_and_lists_parse_from_env_text(tmp_path) -> None:
    settings = make_test_settings(
        tmp_path,
        alert_lists="press_release:press-releases, statement:press-releases",
        feed_categories="Communiqué:press_release,Rapport:report",
        event_city_line="America/New_York=New York,Europe/London",
        feed_urls="https://coalition.example.org/feed/, /srv/feed.xml",
    )
    assert settings.alert_lists == {
        "press_release": "press-releases",
        "statement": "press-releases",
    }
    assert settings.feed_categories == {"communiqué": "press_release", "rapport": "report"}
    assert settings.feed_urls == ["https://coalition.example.org/feed/", "/srv/feed.xml"]


def test_settings_survive_the_trip_to_a_child_process(tmp_path) -> None:
    settings = make_test_settings(tmp_path, alert_lists="event:events")
    env = {
        k.lower(): v
        for k, v in settings_env(settings).items()
        if k.lower() in type(settings).model_fields
    }
    again = load_settings(_env_file=None, **env)
    assert again.alert_lists == {"event": "events"}
    assert again.feed_categories == settings.feed_categories


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("alert_lists", "press:press-releases", "ALERT_LISTS: unknown post kind"),
        ("alert_lists", "press_release", "not of the form key:value"),
        ("feed_categories", "Communiqué:bulletin", "FEED_CATEGORIES: unknown post kind"),
        ("event_city_line", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("digest_day", "31", "DIGEST_DAY"),
        ("digest_hour", "24", "DIGEST_HOUR"),
        ("feed_language", "de", "FEED_LANGUAGE"),
    ],
)
def test_bad_content_settings_are_refused_at_start(tmp_path, field, value, message) -> None:
    with pytest.raises(SettingsError, match=message):
        make_test_settings(tmp_path, **{field: value})
