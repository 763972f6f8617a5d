"""The settings reference (docs/operators.md, .env.example) is what the fields say, by domain.

The fields' descriptions in newsletter/config.py are the only text; the two files are generated
from them (``python -m newsletter.config_reference --write``). These tests fail when someone
edits a file by hand, adds a setting without a description, or leaves one out of the sections.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter import config_reference
from newsletter.config import SECTIONS, MailSettings, Settings, load_settings


def test_the_docs_and_env_example_are_what_the_fields_generate() -> None:
    stale = config_reference.drifted()
    assert not stale, (
        f"{[str(p) for p in stale]} differ from newsletter/config.py: "
        "run `python -m newsletter.config_reference --write`"
    )
    assert config_reference.main(["--check"]) == 0


def test_a_changed_description_is_noticed_in_both_files(monkeypatch: pytest.MonkeyPatch) -> None:
    field = MailSettings.model_fields["smtp_url"]
    monkeypatch.setattr(field, "description", "A relay, described differently.")
    assert set(config_reference.drifted()) == {
        config_reference.OPERATORS_MD,
        config_reference.ENV_EXAMPLE,
    }
    assert "A relay, described differently." in config_reference.markdown_reference()
    assert config_reference.main(["--check"]) == 1


def test_a_setting_without_a_description_cannot_be_documented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(MailSettings.model_fields["smtp_timeout"], "description", None)
    with pytest.raises(ValueError, match="SMTP_TIMEOUT has no description"):
        config_reference.env_example()


def test_every_setting_belongs_to_exactly_one_domain_section() -> None:
    declared = [name for section in SECTIONS for name, _ in config_reference._fields(section)]
    assert len(declared) == len(set(declared))
    assert set(declared) == set(Settings.model_fields)
    reference = config_reference.markdown_reference()
    for name in Settings.model_fields:
        assert reference.count(f"| `{name.upper()}` |") == 1, name


def test_the_generated_env_example_is_a_valid_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    example = tmp_path / "env"
    example.write_text(config_reference.env_example(), "utf-8")
    monkeypatch.chdir(tmp_path)
    settings = load_settings(_env_file=example)
    assert settings.from_address == "newsletter@example.org"
    assert settings.languages == ["en", "fr"]
    assert settings.alert_lists == {"press_release": "press-releases", "event": "events"}


def test_values_are_written_as_the_environment_reads_them() -> None:
    assert config_reference.env_value(["en", "fr"]) == "en,fr"
    assert config_reference.env_value({"event": "events"}) == "event:events"
    assert config_reference.env_value(30.0) == "30"
    assert config_reference.env_value(0.25) == "0.25"
    assert config_reference.env_value(False) == "false"
    assert config_reference.env_value(None) == ""
