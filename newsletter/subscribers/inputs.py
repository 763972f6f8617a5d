"""Cleaning what a person (or a website, or a bot) typed, before anything is stored.

Every free-text field is length-limited and stripped of control characters here, in one
place, so a name can never carry a line break into an email header (invariant
`sandbox-and-safe-headers`) or a terminal escape into a log. Addresses go through email-validator;
the optional deliverability (MX) check is bounded by ``DNS_TIMEOUT`` and, when DNS itself is
unavailable, the address is accepted rather than refusing a real supporter.

Errors are raised as :class:`InvalidInput` with a field name and a message already
translated into the language of the request.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
import zoneinfo
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, EmailUndeliverableError, validate_email

from newsletter.config import Settings
from newsletter.i18n import gettext as _

log = logging.getLogger(__name__)

MAX_EMAIL = 254
MAX_NAME = 200
MAX_SOURCE = 100
MAX_VERSION = 50
MAX_LISTS = 50
MAX_SLUG = 64
MAX_TIMEZONE = 64
MAX_REASON = 200


class InvalidInput(ValueError):
    """What was sent cannot be used; ``field`` names the input, ``str()`` is for the person."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


def clean_text(value: object, field_name: str, max_length: int) -> str:
    """Drop control and format characters, collapse whitespace, refuse an over-long value.

    Over-long input is refused, not truncated: silently cutting a name is a surprise, and an
    absurdly long field is usually a bot.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(field_name, _("This field must be text."))
    if len(value) > max_length * 4:  # before any work on a huge value
        raise InvalidInput(field_name, _too_long(max_length))
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if ch.isspace() or unicodedata.category(ch)[0] != "C"
    )
    cleaned = " ".join(kept.split())
    if len(cleaned) > max_length:
        raise InvalidInput(field_name, _too_long(max_length))
    return cleaned


def _too_long(max_length: int) -> str:
    return _("This field is too long (at most %(max)d characters).", max=max_length)


def clean_address(raw: object, settings: Settings) -> str:
    """The normalised address, or :class:`InvalidInput` saying what is wrong with it."""
    text = clean_text(raw, "email", MAX_EMAIL)
    if not text:
        raise InvalidInput("email", _("Please enter your email address."))
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInput(
            "email", _("This does not look like an email address. Please check it.")
        ) from None
    local, _at, domain = result.normalized.rpartition("@")
    address = f"{local}@{domain.lower()}"
    if is_blocked_domain(domain.lower(), settings.blocked_domains):
        raise InvalidInput("email", _("Addresses at this domain cannot be used here."))
    if settings.check_mx and not _deliverable(address, settings.dns_timeout, _resolver(settings)):
        raise InvalidInput(
            "email", _("This email domain does not receive mail. Please check the address.")
        )
    return address


def _resolver(settings: Settings) -> object | None:
    """A resolver on ``DNS_NAMESERVER`` (``host[:port]``) when set, else the system's."""
    if not settings.dns_nameserver:
        return None
    import dns.resolver

    host, _colon, port = settings.dns_nameserver.rpartition(":")
    if not host or not port.isdigit():
        host, port = settings.dns_nameserver, "53"
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = int(port)
    resolver.lifetime = settings.dns_timeout
    return resolver


def is_blocked_domain(domain: str, blocked: list[str]) -> bool:
    """A rule ``example.org`` blocks that domain and every subdomain of it."""
    return any(domain == rule or domain.endswith("." + rule) for rule in blocked)


def _deliverable(address: str, timeout: float, resolver: object | None = None) -> bool:
    """MX (or A) check; True when DNS cannot answer in time (never refuse on our outage).

    email-validator already treats a time-out and "no name server answered" as unknown (it
    returns); any other resolver failure it reports as an "error while checking", which is
    our outage too, not the person's mistake.
    """
    options: dict[str, object] = {"dns_resolver": resolver} if resolver else {"timeout": timeout}
    try:
        info = validate_email(address, check_deliverability=True, **options)  # type: ignore[arg-type]
    except EmailUndeliverableError as exc:
        if "error while checking" in str(exc):
            log.warning("deliverability check: DNS error, address accepted")
            return True
        return False
    except EmailNotValidError:
        return False
    if getattr(info, "mx", None) is None and getattr(info, "mx_fallback_type", None) is None:
        log.info("deliverability check: DNS unavailable, address accepted")
    return True


def clean_language(value: object, settings: Settings, fallback: str) -> str:
    text = clean_text(value, "language", 16).lower()
    return text if text in settings.languages else fallback


#: Every IANA zone name this machine's tz database knows ("Europe/Paris", "UTC").
IANA_ZONES = frozenset(zoneinfo.available_timezones())
_REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe",
            "Indian", "Pacific")  # fmt: skip


def clean_timezone(value: object) -> str | None:
    """An IANA zone name, or None when empty; the same rule for the sign-up form, the JSON
    API, the preference centre, the console and CSV import. Only names from the tz database
    are accepted (``ZoneInfo`` alone would also open a file path such as "America")."""
    text = clean_text(value, "timezone", MAX_TIMEZONE)
    if not text:
        return None
    if text not in IANA_ZONES:
        raise InvalidInput(
            "timezone",
            _("Unknown time zone. Choose one from the list, such as Europe/Paris."),
        )
    return text


@functools.cache
def zone_choices() -> tuple[tuple[str, str], ...]:
    """The zones offered in a time-zone field, each with a label a reader can search by
    city ("New York (America)"): the regional zones and UTC, sorted by name."""
    chosen = [z for z in IANA_ZONES if z.split("/", 1)[0] in _REGIONS and "/" in z]
    labelled = [
        (zone, f"{zone.rsplit('/', 1)[1].replace('_', ' ')} ({zone.split('/', 1)[0]})")
        for zone in sorted(chosen)
    ]
    return (*labelled, ("UTC", "UTC"))


def clean_list_slugs(values: object) -> list[str]:
    """A bounded list of list slugs (unknown or private slugs are dropped by the service)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list | tuple) or len(values) > MAX_LISTS:
        raise InvalidInput("lists", _("Please choose your topics from the list."))
    slugs = [clean_text(value, "lists", MAX_SLUG) for value in values]
    return list(dict.fromkeys(slug for slug in slugs if slug))


@dataclass(frozen=True)
class SignUp:
    """A cleaned sign-up: what the service stores, whatever form or API it came from."""

    email: str
    name: str
    language: str
    list_slugs: list[str] = field(default_factory=list)
    consent_text_version: str = ""
    source: str = "hosted"
    ip: str | None = None
    discreet: bool = False  # the discreet edition, asked for on the form (rendering/editions)
    low_bandwidth: bool = False
    timezone: str | None = None  # detected by the reader's browser, editable; IANA name


def clean_sign_up(
    data: dict[str, object],
    settings: Settings,
    *,
    source: str,
    ip: str | None,
    fallback_language: str,
) -> SignUp:
    """Validate every field of a sign-up, raising :class:`InvalidInput` on the first problem."""
    return SignUp(
        email=clean_address(data.get("email"), settings),
        name=clean_text(data.get("name"), "name", MAX_NAME),
        language=clean_language(data.get("language"), settings, fallback_language),
        list_slugs=clean_list_slugs(data.get("lists")),
        consent_text_version=clean_text(data.get("consent_text_version"), "consent", MAX_VERSION)
        or settings.consent_text_version,
        source=clean_text(source, "source", MAX_SOURCE) or "hosted",
        ip=ip,
        discreet=clean_flag(data.get("discreet")),
        low_bandwidth=clean_flag(data.get("low_bandwidth")),
        timezone=clean_timezone(data.get("timezone")),
    )


_TRUE = frozenset({"1", "true", "yes", "on", "y", "x", "oui", "vrai"})


def clean_flag(value: object) -> bool:
    """A checkbox, a JSON boolean or a spreadsheet cell ("yes", "1", "x", "oui") as a bool."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str | int) and str(value).strip().lower() in _TRUE
