"""Translations through gettext catalogs: lookup, negotiation, templates per language."""

from pathlib import Path

import pytest

from newsletter.config import PROJECT_ROOT
from newsletter.i18n import available_languages, gettext, negotiate_language, using_language
from newsletter.rendering.environment import system_environment


def test_french_catalog_translates_and_english_is_the_source() -> None:
    assert gettext("Skip to content", "fr") == "Aller au contenu"
    assert gettext("Skip to content", "en") == "Skip to content"
    assert {"en", "fr"} <= set(available_languages())


def test_an_unknown_language_falls_back_to_the_source_text() -> None:
    assert gettext("Skip to content", "xx") == "Skip to content"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE,de;q=0.9,en;q=0.5,fr;q=0.7", "fr"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
        ("fr;q=0, en;q=0.1", "en"),
        ("fr;q=bogus", "en"),
    ],
)
def test_accept_language_negotiation(header: str | None, expected: str) -> None:
    assert negotiate_language(header, ["en", "fr"], "en") == expected


def test_one_cached_environment_renders_each_language() -> None:
    template = system_environment(Path(PROJECT_ROOT / "templates")).from_string(
        '{{ _("Skip to content") }}'
    )
    with using_language("fr"):
        assert template.render() == "Aller au contenu"
    with using_language("en"):
        assert template.render() == "Skip to content"


def test_a_message_variable_named_language_is_formatted_not_taken_for_the_catalogue() -> None:
    from newsletter.i18n import gettext, ngettext

    assert gettext("Written in %(language)s", language="Français") == "Written in Français"
    assert gettext("Written in %(language)s", "fr", language="English") == "Written in English"
    assert ngettext("%(num)d post in %(language)s", "%(num)d posts in %(language)s", 2,
                    language="Kiswahili") == "2 posts in Kiswahili"  # fmt: skip


def test_the_french_catalogue_defines_each_message_once() -> None:
    """Merged branches append to one catalogue; a repeated msgid would silently shadow one."""
    import re
    from collections import Counter

    from newsletter.config import PROJECT_ROOT

    catalogue = PROJECT_ROOT / "newsletter" / "locale" / "fr" / "LC_MESSAGES" / "messages.po"
    entries = re.findall(
        r'^(?:msgctxt "((?:[^"\\]|\\.)*)"\n)?msgid "((?:[^"\\]|\\.)*)"\n((?:"(?:[^"\\]|\\.)*"\n)*)',
        catalogue.read_text(encoding="utf-8"),
        flags=re.M,
    )
    counted = Counter((context, first + rest) for context, first, rest in entries)
    repeated = [key for key, count in counted.items() if count > 1]
    assert not repeated
