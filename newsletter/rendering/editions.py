"""The editions a subscriber may choose: the full one, a discreet one, a low-bandwidth one.

Why a discreet edition: some supporters read their mail where being seen on a human-rights
coalition's list is dangerous (a shared phone, a checked inbox, a border). Their messages
therefore carry a neutral sender name and subject set by the coalition per language
(``DISCREET_FROM_NAME``, ``DISCREET_SUBJECT``), never the organisation's name or a post's
title in the subject, preheader, From or ``List-Id`` display name; they are plain text only
(no HTML part, so nothing remote can load), and every link points at ``ALT_BASE_URL`` (a
mirror or an onion address) when one is configured, any other URL being left out.

Why a low-bandwidth edition: on a slow or metered connection an alert or a digest is a list
of headlines and links, in plain text, a few kilobytes.

Both choices are flags on the subscriber, read at send time, so the very next message
follows a change made in the preference centre. The edition is part of what a composition is
shared by (invariant `once-per-variant`): one render per language, zone and edition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsletter.config import Settings
from newsletter.i18n import gettext

#: Headlines a low-bandwidth message lists at most (then "and N more"): it stays under 10 KB.
LIGHT_MAX_POSTS = 30
_URL = re.compile(r"""https?://[^\s<>"'()\[\]]+""")


@dataclass(frozen=True)
class Edition:
    """What shapes a subscriber's copy beyond its language and zone."""

    discreet: bool = False
    light: bool = False

    @property
    def plain(self) -> bool:
        """Plain text only (no HTML part): both the discreet and the low-bandwidth editions."""
        return self.discreet or self.light

    @classmethod
    def of(cls, discreet: bool | None, low_bandwidth: bool | None) -> Edition:
        return cls(bool(discreet), bool(low_bandwidth))


FULL = Edition()


def link_base(settings: Settings) -> str:
    """Where a discreet reader's links point: ``ALT_BASE_URL`` when set, else ``BASE_URL``."""
    return (settings.alt_base_url or settings.base_url).rstrip("/")


_LINK_SETTINGS: dict[int, tuple[Settings, Settings]] = {}


def link_settings(settings: Settings) -> Settings:
    """``settings`` with ``base_url`` moved to the alternative address (one copy per object).

    Every link builder reads ``settings.base_url``; handing them this copy makes every link of
    a discreet message (posts, events, unsubscribe, preferences, confirmation) the mirror's.
    """
    if not settings.alt_base_url:
        return settings
    found = _LINK_SETTINGS.get(id(settings))
    if found is None or found[0] is not settings:
        found = (settings, settings.model_copy(update={"base_url": link_base(settings)}))
        _LINK_SETTINGS[id(settings)] = found
    return found[1]


def neutral_from_name(settings: Settings, language: str) -> str:
    """The sender name a discreet reader's inbox shows (``DISCREET_FROM_NAME``)."""
    configured = settings.discreet_from_name
    chosen = configured.get(language) or configured.get(settings.default_language)
    return chosen or gettext("Reading notes", language)


def neutral_subject(settings: Settings, language: str) -> str:
    """The subject of every discreet message (``DISCREET_SUBJECT``)."""
    configured = settings.discreet_subject
    chosen = configured.get(language) or configured.get(settings.default_language)
    return chosen or gettext("Your notes", language)


def from_address(settings: Settings, edition: Edition) -> str:
    if edition.discreet and settings.discreet_from_address:
        return settings.discreet_from_address
    return settings.from_address


def keep_own_links(settings: Settings, text: str, language: str) -> str:
    """Links of ours moved to the alternative address; any other URL left out.

    A discreet message may carry no URL outside the configured addresses: a link to a
    partner's site or a video platform would tell whoever watches the network, or the page's
    own trackers, who reads us.
    """
    base, alternative = settings.base_url.rstrip("/"), link_base(settings)
    removed = gettext("[link left out]", language)

    def replace(match: re.Match[str]) -> str:
        url = match.group(0)
        stripped = url.rstrip(".,;:!?")
        tail = url[len(stripped) :]  # the sentence's punctuation, not the link's
        for own in (alternative, base):
            if stripped == own or stripped.startswith((own + "/", own + "?")):
                return alternative + stripped[len(own) :] + tail
        return removed + tail

    return _URL.sub(replace, text)
