"""What the discreet-edition tests share: the coalition's settings and checks on a message."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import parseaddr

ORG = "Kivu Mining Rights Coalition"
ALT = "http://kivunotes7qzmirrorx2v.onion"
NEUTRAL = {
    "org_name": ORG,
    "from_name": ORG,
    "reply_to": "desk@kivu-rights.example.org",
    "alt_base_url": ALT,
    "discreet_from_name": {"en": "Garden club", "fr": "Club du jardin"},
    "discreet_subject": {"en": "This week in the garden", "fr": "Cette semaine au jardin"},
    "discreet_from_address": "letters@garden-notes.example.net",
}
URL = re.compile(r"""https?://[^\s<>"')\]]+""")


def content_types(message: EmailMessage) -> list[str]:
    return [part.get_content_type() for part in message.walk()]


def body_text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def display_name(value: object) -> str:
    return parseaddr(str(value))[0]


def list_id_name(message: EmailMessage) -> str:
    return str(message["List-Id"]).rpartition("<")[0].strip().strip('"')


def urls(message: EmailMessage) -> list[str]:
    """Every http(s) URL of the text and of the List-Unsubscribe header."""
    return URL.findall(body_text(message)) + URL.findall(str(message["List-Unsubscribe"] or ""))


def assert_discreet(
    message: EmailMessage,
    subject: str,
    sender: str,
    *titles: str,
    list_mail: bool = True,
    alt: str = ALT,
) -> None:
    """The acceptance's discreet message: plain text only, neutral headers, our links only.

    ``list_mail``: a list's message (it has a List-Id); a confirmation has none.
    """
    assert content_types(message) == ["text/plain"], content_types(message)
    assert str(message["Subject"]) == subject
    assert display_name(message["From"]) == sender
    assert (list_id_name(message) if list_mail else message["List-Id"]) == (
        sender if list_mail else None
    )
    assert message["Reply-To"] is None
    for name, value in message.items():
        assert ORG.lower() not in str(value).lower(), name
    for header in ("Subject", "From", "List-Id"):
        assert "coalition" not in str(message[header]).lower(), header
        for title in titles:
            assert title not in str(message[header]), header
    found = urls(message)
    assert found, "a discreet message still links to the archive and the preference page"
    assert all(url.startswith(alt + "/") for url in found), found
