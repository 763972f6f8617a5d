"""French is complete for the subscriber journey: every message of its pages, emails, errors."""

from __future__ import annotations

from babel.messages.extract import extract_from_file

from newsletter.config import PROJECT_ROOT
from newsletter.i18n import translations

JOURNEY_SOURCES = [
    *sorted((PROJECT_ROOT / "templates/web/public").glob("*.html")),
    *[
        path
        for kind in ("confirm", "welcome", "already")
        for path in sorted((PROJECT_ROOT / "templates/email" / kind).glob("*"))
    ],
    *[
        PROJECT_ROOT / "newsletter" / name
        for name in (
            "subscribers/inputs.py",
            "subscribers/notifications.py",
            "subscribers/service.py",
            "abuse/form_guard.py",
            "web/public.py",
            "web/preferences.py",
            "web/pages.py",
            "web/subscriptions_api.py",
        )
    ],
]


def journey_messages() -> set[str]:
    found: set[str] = set()
    for path in JOURNEY_SOURCES:
        method = "python" if path.suffix == ".py" else "jinja2"
        options = {} if method == "python" else {"extensions": "jinja2.ext.i18n"}
        for _line, message, _comments, _context in extract_from_file(method, path, options=options):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_journey_message_has_a_french_translation():
    messages = journey_messages()
    assert len(messages) > 60
    french = translations("fr")
    missing = sorted(m for m in messages if french.gettext(m) == m)
    assert not missing, missing
