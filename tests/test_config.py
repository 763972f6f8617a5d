"""Settings: embedded defaults, and clear refusals of values the service cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.config import (
    DEVELOPMENT_SECRET,
    Settings,
    SettingsError,
    SmtpTarget,
    load_settings,
    split_comma_list,
)

STRONG_SECRET = "k3y-" + "x" * 40


def settings(tmp_path: Path, **values: object):
    return load_settings(_env_file=None, data_dir=tmp_path, **values)


def test_nothing_set_gives_embedded_sqlite_filesystem_broker_and_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("DATABASE_URL", "BROKER_URL", "SMTP_URL", "OUTBOX_DIR"):
        monkeypatch.delenv(name, raising=False)
    loaded = settings(tmp_path)
    assert loaded.database_url == f"sqlite:///{tmp_path / 'newsletter.sqlite3'}"
    assert loaded.broker_url == "filesystem://"
    assert loaded.mail_transport == "outbox"
    assert loaded.outbox_dir == tmp_path / "outbox"


def test_environment_variables_are_read_and_languages_split(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://news@db.internal/news")
    monkeypatch.setenv("LANGUAGES", "en, fr, pt")
    monkeypatch.setenv("ORG_TIMEZONE", "Africa/Harare")
    loaded = settings(tmp_path)
    assert loaded.database_url == "postgresql+psycopg://news@db.internal/news"
    assert loaded.languages == ["en", "fr", "pt"]
    assert loaded.org_timezone == "Africa/Harare"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database_url", "mysql://db/news", "DATABASE_URL: must start with postgresql://"),
        ("broker_url", "kafka://broker", "BROKER_URL: must be a redis://"),
        ("smtp_url", "http://relay.example.org", "SMTP_URL: unknown scheme 'http'"),
        ("smtp_url", "smtp://:25", "SMTP_URL: no host name"),
        ("base_url", "news.example.org", "BASE_URL: must be an absolute http:// or https:// URL"),
        ("org_timezone", "Mars/Olympus", "ORG_TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ("from_address", "not-an-address", "FROM_ADDRESS: must be a plain email address"),
        ("redis_url", "memcached://x", "REDIS_URL: must be a redis://"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(tmp_path, **{field: value})
    assert message in str(caught.value)


def test_default_language_must_be_one_of_the_languages(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="DEFAULT_LANGUAGE 'de' is not one of"):
        settings(tmp_path, default_language="de", languages=["en", "fr"])


@pytest.mark.parametrize("secret", [DEVELOPMENT_SECRET, "changeme", "secret"])
def test_production_refuses_placeholder_secret(tmp_path: Path, secret: str) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is missing or a placeholder"):
        settings(
            tmp_path, app_env="production", secret_key=secret, base_url="https://n.example.org"
        )


def test_production_refuses_short_secret_and_plain_http(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="at least 32 characters"):
        settings(
            tmp_path, app_env="production", secret_key="short-but-real", base_url="https://n.org"
        )
    with pytest.raises(SettingsError, match="BASE_URL must use https://"):
        settings(tmp_path, app_env="production", secret_key=STRONG_SECRET, base_url="http://n.org")


def test_production_accepts_a_real_configuration(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        app_env="production",
        secret_key=STRONG_SECRET,
        base_url="https://news.example.org/",
        database_url="postgresql+psycopg://news@127.0.0.1/news",
        broker_url="redis://127.0.0.1:6379/0",
        smtp_url="smtp+starttls://user%40org:p%2Fss@relay.example.org?timeout=12",
    )
    assert loaded.base_url == "https://news.example.org"
    assert loaded.mail_transport == "smtp"
    target = loaded.smtp_target
    assert target == SmtpTarget(
        host="relay.example.org",
        port=587,
        security="starttls",
        username="user@org",
        password="p/ss",
        timeout=12.0,
    )


def test_smtp_url_schemes_pick_security_and_default_port() -> None:
    assert SmtpTarget.from_url("smtp://127.0.0.1").port == 25
    implicit = SmtpTarget.from_url("smtps://relay.example.org?verify=false")
    assert (implicit.security, implicit.port, implicit.verify_tls) == ("tls", 465, False)
    assert SmtpTarget.from_url("smtp://127.0.0.1:2525").security == "none"


def test_an_empty_reply_to_means_unset(tmp_path: Path) -> None:
    assert settings(tmp_path, reply_to="").reply_to is None


def test_an_empty_sender_address_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="FROM_ADDRESS"):
        settings(tmp_path, from_address="")


def test_unset_base_url_follows_the_served_host_and_port(tmp_path: Path) -> None:
    assert settings(tmp_path, port=8731).base_url == "http://127.0.0.1:8731"
    wildcard = "0.0.0.0"  # noqa: S104 - a listen address under test
    assert settings(tmp_path, host=wildcard, port=9000).base_url == "http://127.0.0.1:9000"
    assert settings(tmp_path, host="::1", port=9000).base_url == "http://[::1]:9000"
    explicit = settings(tmp_path, port=8731, base_url="https://news.example.org")
    assert explicit.base_url == "https://news.example.org"


def test_production_requires_base_url_and_warns_when_readers_cannot_reach_its_host(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from newsletter.config import startup_warnings
    from newsletter.web.app import create_app

    with pytest.raises(SettingsError, match="BASE_URL is required in production"):
        settings(tmp_path, app_env="production", secret_key=STRONG_SECRET)
    public = settings(
        tmp_path, app_env="production", secret_key=STRONG_SECRET,
        base_url="https://news.example.org",
    )  # fmt: skip
    assert startup_warnings(public) == []
    local = settings(
        tmp_path, app_env="production", secret_key=STRONG_SECRET, base_url="https://localhost:8443"
    )
    with caplog.at_level("WARNING", logger="newsletter.web.app"):
        create_app(local)
    assert any("not a public name" in record.getMessage() for record in caplog.records)


def test_clock_offset_moves_the_service_clock_and_is_refused_in_production(
    tmp_path: Path,
) -> None:
    import datetime as dt

    from newsletter import clock
    from newsletter.db import utcnow

    with pytest.raises(SettingsError, match="CLOCK_OFFSET_SECONDS"):
        settings(
            tmp_path, app_env="production", secret_key=STRONG_SECRET,
            base_url="https://news.example.org", clock_offset_seconds=60,
        )  # fmt: skip
    try:
        clock.configure(settings(tmp_path, clock_offset_seconds=-40 * 86400))
        moved = utcnow()
        assert dt.timedelta(days=39) < dt.datetime.now(dt.UTC) - moved < dt.timedelta(days=41)
    finally:
        clock.set_offset(0)


COMMA_LISTS = [
    name
    for name, field in Settings.model_fields.items()
    if any(getattr(item, "func", None) is split_comma_list for item in field.metadata)
]


def test_every_list_setting_is_a_comma_list() -> None:
    lists = {name for name, field in Settings.model_fields.items() if field.annotation == list[str]}
    assert len(lists) >= 8
    assert set(COMMA_LISTS) == lists


@pytest.mark.parametrize("name", COMMA_LISTS)
def test_a_comma_list_splits_strips_and_drops_blanks_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    values = {
        "languages": ("en, fr ,, pt,", ["en", "fr", "pt"]),
        "event_city_line": (
            "Europe/London=London, Africa/Harare",
            ["Europe/London=London", "Africa/Harare"],
        ),
        "smtp_fallback_urls": (
            "smtp://a.example:25 smtp://b.example,",
            ["smtp://a.example:25", "smtp://b.example"],
        ),
        "subscribe_cors_origins": (
            "https://a.example/, https://b.example",
            ["https://a.example", "https://b.example"],
        ),
        "blocked_domains": ("@Spam.Example, .junk.example", ["spam.example", "junk.example"]),
    }
    raw, expected = values.get(name, ("one, two,,three ,", ["one", "two", "three"]))
    monkeypatch.setenv(name.upper(), raw)
    assert getattr(settings(tmp_path), name) == expected
    monkeypatch.setenv(name.upper(), "")
    if name != "languages":  # an empty LANGUAGES leaves DEFAULT_LANGUAGE without a language
        assert getattr(settings(tmp_path), name) == []


def test_a_comma_list_also_takes_a_json_list_and_refuses_a_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGUAGES", '["en", "de"]')
    assert settings(tmp_path).languages == ["en", "de"]
    monkeypatch.setenv("LANGUAGES", '["en", ')
    with pytest.raises(SettingsError, match="LANGUAGES: is not a valid"):
        settings(tmp_path)


def test_split_comma_list_passes_lists_through() -> None:
    assert split_comma_list(["a", "b"]) == ["a", "b"]
    assert split_comma_list(" a ,b ") == ["a", "b"]
