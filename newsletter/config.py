"""Typed settings, read from the environment (and an optional `.env`) and validated once.

Settings fail fast at start-up with a message that names the variable and what is wrong,
never at first use. With nothing set, the embedded defaults run the whole service on one
box: a SQLite file and a filesystem broker under ``./var/``, and mail written to an outbox
folder instead of an SMTP relay.
"""

from __future__ import annotations

import ast
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError as SourceError

from newsletter.resources import package_folder

# The checkout (or site-packages) folder holding the package: for tools and tests that work on
# the source tree. The service itself reads its runtime files from the package
# (newsletter/resources.py), never from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_SECRET = "dev-insecure-secret-key-change-me"  # noqa: S105 - refused in production
PLACEHOLDER_SECRETS = {
    DEVELOPMENT_SECRET,
    "changeme",
    "change-me",
    "secret",
    "please-change-me",
    "replace-me",
    "xxx",
}
MIN_SECRET_LENGTH = 32
# Mailbox providers that send ARF feedback-loop reports (Yahoo/AOL CFL, Microsoft JMRP,
# Validity's hosted loops for Comcast and others, Mail.ru, Yandex, Fastmail, Zoho, 1&1).
DEFAULT_FEEDBACK_LOOP_DOMAINS = (
    "yahoo.com", "yahoo.net", "aol.com", "aol.net", "hotmail.com", "outlook.com",
    "microsoft.com", "senderscore.net", "returnpath.net", "validity.com", "comcast.net",
    "mail.ru", "yandex.ru", "yandex.net", "fastmail.com", "zoho.com", "gmx.net", "web.de",
)  # fmt: skip


class SettingsError(RuntimeError):
    """Raised at start-up when the configuration cannot be used; its text is for the operator."""


@dataclass(frozen=True)
class SmtpTarget:
    """One SMTP relay, parsed from an ``SMTP_URL``.

    Schemes: ``smtp://`` (plain, e.g. a local relay), ``smtp+starttls://`` (upgrade on 587),
    ``smtps://`` (implicit TLS on 465). Credentials go in the user-info part, URL-encoded.
    """

    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    username: str | None = None
    password: str | None = None
    timeout: float = 30.0
    verify_tls: bool = True

    @classmethod
    def from_url(cls, url: str, default_timeout: float = 30.0) -> SmtpTarget:
        parts = urlsplit(url)
        schemes = {"smtp": "none", "smtp+starttls": "starttls", "smtps": "tls"}
        if parts.scheme not in schemes:
            raise ValueError(
                f"unknown scheme {parts.scheme!r}; use smtp://, smtp+starttls:// or smtps://"
            )
        if not parts.hostname:
            raise ValueError("no host name in the SMTP URL")
        security = schemes[parts.scheme]
        default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
        try:
            port = parts.port or default_port
        except ValueError as exc:
            raise ValueError(f"bad port in the SMTP URL: {exc}") from None
        query = parse_qs(parts.query)
        timeout = float(query.get("timeout", [default_timeout])[0])
        verify = query.get("verify", ["true"])[0].lower() not in {"false", "0", "no"}
        return cls(
            host=parts.hostname,
            port=port,
            security=security,  # type: ignore[arg-type]
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
            verify_tls=verify,
        )


def served_address(host: str, port: int) -> str:
    """The http:// address of a server listening on ``host``:``port``, as a browser reaches it.

    A wildcard listen address (``0.0.0.0``, ``::``) is reached at the loopback address here.
    """
    if host in {"", "0.0.0.0", "::"}:  # noqa: S104 - a listen address, not a bind
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def startup_warnings(settings: Settings) -> list[str]:
    """What an operator should fix though the service can start (logged by every process)."""
    warnings = []
    host = (urlsplit(settings.base_url).hostname or "").lower()
    if settings.app_env == "production" and (
        host in {"localhost", "localhost.localdomain"}
        or host.endswith((".localhost", ".local", ".internal"))
        or _is_ip_literal(host)
        or "." not in host
    ):
        warnings.append(
            f"BASE_URL's host {host!r} is not a public name readers can reach: links in mail "
            "would not work outside this machine; set BASE_URL to the site's https:// address"
        )
    return warnings


def _is_ip_literal(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def split_comma_list(value: object) -> object:
    """``a, b,c`` -> ``["a", "b", "c"]``; a JSON list (``["a", "b"]``) and a list pass through.

    An environment variable is one string, so every list setting is written comma-separated;
    blank items are dropped, so a trailing comma or an empty value gives no empty entry.
    """
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError("is not a valid [...] list") from None
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def split_pairs(value: object) -> object:
    """``press_release:press-releases,event:events`` -> a dict (a dict literal also works)."""
    if not isinstance(value, str):
        return value
    if value.lstrip().startswith("{"):
        try:
            return ast.literal_eval(value)  # JSON objects are Python literals too
        except (ValueError, SyntaxError):
            raise ValueError("is not a valid {...} mapping") from None
    pairs = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        key, colon, target = part.rpartition(":")
        if not colon or not key.strip() or not target.strip():
            raise ValueError(f"{part!r} is not of the form key:value")
        pairs[key.strip().lower()] = target.strip()
    return pairs


# A list setting: comma-separated in the environment (``NoDecode``: not parsed as JSON first).
CommaList = Annotated[list[str], NoDecode, BeforeValidator(split_comma_list)]
# A mapping setting: ``key:value`` pairs, comma-separated.
PairMap = Annotated[dict[str, str], NoDecode, BeforeValidator(split_pairs)]


class Section(BaseModel):
    """One domain's settings; :class:`Settings` is all the sections at once (flat fields).

    The first line of a section's docstring is its title in the settings reference
    (``python -m newsletter.config_reference``), which is generated from the fields'
    descriptions into docs/operators.md and .env.example.
    """


class CoreSettings(Section):
    """Environment, storage, queues and where the service listens.

    What every process needs before anything else: which environment it is, where its state
    lives and how its processes reach each other.
    """

    app_env: Literal["development", "production", "test"] = Field(
        default="development",
        description="`development`, `production` or `test`. `production` refuses to start "
        "unless `BASE_URL` is https:// and `SECRET_KEY` is a long random value (at least 32 "
        "characters, not a placeholder).",
    )
    secret_key: str = Field(
        default=DEVELOPMENT_SECRET,
        description="Signs the tokens in every link of every email (confirm, unsubscribe, "
        "preferences). Long and random in production, e.g. "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`; changing it "
        "invalidates every link already sent.",
        json_schema_extra={"default_text": "a development placeholder"},
    )
    base_url: str = Field(
        default="",
        description="The public address readers use, in every link of every email (https:// "
        "in production, where it is required). Unset outside production, it follows `HOST` "
        "and `PORT`. Production warns at start-up when its host is not a public name.",
        examples=["https://news.example.org"],
        json_schema_extra={"default_text": "http://HOST:PORT outside production"},
    )
    host: str = Field(
        default="127.0.0.1",
        description="Where `newsletter web` and `newsletter run` (and `scripts/run`) listen; "
        "`--host` overrides it.",
    )
    port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        description="The port they listen on; `--port` overrides it.",
    )
    data_dir: Path = Field(
        default=Path("var"),
        description="Where embedded state lives: the SQLite file, the filesystem broker's "
        "folders, the outbox, the beat schedule and the metrics files.",
    )
    database_url: str = Field(
        default="",
        description="`postgresql+psycopg://user:password@host:5432/dbname` in production, or "
        "`sqlite:///path/to/file.sqlite3`.",
        examples=["postgresql+psycopg://newsletter:newsletter@localhost:5432/newsletter"],
        json_schema_extra={"default_text": "a SQLite file in DATA_DIR"},
    )
    broker_url: str = Field(
        default="",
        description="The Celery broker: `redis://host:6379/0` in production (or rediss://, "
        "amqp://).",
        examples=["redis://localhost:6379/0"],
        json_schema_extra={"default_text": "filesystem:// (files in DATA_DIR/broker)"},
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis used by the service itself apart from Celery (another database "
        "number than the broker's): rate limits and the relays' shared send quota.",
        examples=["redis://localhost:6379/1"],
    )
    result_backend_url: str | None = Field(
        default=None,
        description="Celery result backend (redis:// or rediss://); unset, results are not stored.",
        examples=["redis://localhost:6379/2"],
    )
    clock_offset_seconds: float = Field(
        default=0.0,
        description="Tests and demos only (refused in production): shifts the clock of every "
        "process that reads it (web, worker, beat) by this many seconds, e.g. to see a digest "
        "fall due.",
    )

    @field_validator("database_url")
    @classmethod
    def _database_url_known(cls, value: str) -> str:
        if value and not value.startswith(("postgresql", "sqlite")):
            raise ValueError(
                "must start with postgresql:// (or postgresql+psycopg://) or sqlite:///"
            )
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_url_known(cls, value: str) -> str:
        allowed = ("redis://", "rediss://", "amqp://", "filesystem://", "sqla+", "memory://")
        if value and not value.startswith(allowed):
            raise ValueError("must be a redis://, amqp:// or filesystem:// URL")
        return value

    @field_validator("redis_url", "result_backend_url")
    @classmethod
    def _redis_url_known(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// or rediss:// URL")
        return value or None


class IdentitySettings(Section):
    """Organisation, languages and time.

    Who the mail is from, which languages readers get and the time zone schedules are shown in.
    """

    org_name: str = Field(
        default="Coalition Newsletter", description="Shown on pages and in emails."
    )
    from_name: str = Field(
        default="Coalition Newsletter", description="Display name in the From: header."
    )
    from_address: str = Field(
        default="newsletter@localhost.localdomain",
        description="Address in the From: header; one your relay may send as.",
        examples=["newsletter@example.org"],
    )
    reply_to: str | None = Field(
        default=None,
        description="Optional Reply-To: address (an empty value means unset).",
        examples=["secretariat@example.org"],
    )
    bounce_domain: str = Field(
        default="localhost.localdomain",
        description="Domain of the envelope sender: bounces and `List-Unsubscribe` mailto "
        "messages come back to addresses at it.",
        examples=["example.org"],
    )
    org_timezone: str = Field(
        default="UTC",
        description="IANA time zone of schedules and event times, e.g. `Africa/Harare`, "
        "`Europe/Brussels`.",
    )
    default_language: str = Field(
        default="en",
        description="The fallback language; must be one of `LANGUAGES`.",
    )
    languages: CommaList = Field(
        default_factory=lambda: ["en", "fr"],
        description="Languages offered to readers, comma-separated.",
    )
    templates_dir: Path = Field(
        default_factory=lambda: package_folder("templates"),
        description="Folder of email and page templates; a folder of your own replaces the "
        "shipped ones.",
        json_schema_extra={"default_text": "the templates shipped in the package"},
    )

    @field_validator("org_timezone")
    @classmethod
    def _timezone_exists(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Africa/Harare"
            ) from None
        return value


class MailSettings(Section):
    """Mail transport: relays, fail-over, rate limits, DKIM.

    How a message leaves: the relays in order, the quota they share across workers, and the
    signature every kind of mail carries.
    """

    smtp_url: str | None = Field(
        default=None,
        description="The first SMTP relay: `smtp://host:25` (plain), "
        "`smtp+starttls://user:password@host:587` or `smtps://user:password@host:465` "
        "(URL-encode special characters); optional `?timeout=30&verify=false` (verify=false "
        "skips the certificate check). Unset: messages are written to `OUTBOX_DIR`.",
        examples=["smtp+starttls://user:password@smtp.example.org:587"],
        json_schema_extra={"default_text": "unset: mail goes to OUTBOX_DIR"},
    )
    smtp_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds any SMTP operation may take before the message is deferred.",
    )
    smtp_fallback_urls: CommaList = Field(
        default_factory=list,
        description="More relays, tried in order after `SMTP_URL` when it cannot be reached "
        "(connection, TLS or AUTH failure), separated by commas or spaces; same forms as "
        "`SMTP_URL`.",
        examples=["smtp+starttls://user:password@backup.example.net:587"],
    )
    outbox_dir: Path | None = Field(
        default=None,
        description="Folder messages are written to (one `.eml` each) when `SMTP_URL` is unset.",
        json_schema_extra={"default_text": "DATA_DIR/outbox"},
    )
    smtp_rate_per_second: float = Field(
        default=0.0,
        ge=0,
        description="Messages per second per relay, shared by all workers through "
        "`REDIS_URL` (without it each worker process applies the limit on its own); 0: no "
        "limit. A relay URL may carry its own `?rate_per_second=`.",
    )
    smtp_rate_per_hour: float = Field(
        default=0.0,
        ge=0,
        description="Messages per hour per relay, shared the same way; 0: no limit "
        "(`?rate_per_hour=` on a relay URL).",
    )
    smtp_domain_rate_per_second: float = Field(
        default=0.0,
        ge=0,
        description="Messages per second per relay to one recipient domain; 0: no limit "
        "(`?domain_rate_per_second=` on a relay URL).",
    )
    dkim_domain: str | None = Field(
        default=None,
        description="DKIM signing of every kind of mail (the three `DKIM_*` together, or "
        "none): the `d=` domain.",
        examples=["example.org"],
    )
    dkim_selector: str | None = Field(
        default=None,
        description="The selector; the public key is published at "
        "`<selector>._domainkey.<domain>`.",
        examples=["news2026"],
    )
    dkim_private_key_path: Path | None = Field(
        default=None,
        description="The private key file: PEM RSA or ed25519, or a base64 ed25519 seed.",
        examples=["/etc/newsletter/dkim.pem"],
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parses(cls, value: str | None) -> str | None:
        if value:
            SmtpTarget.from_url(value)
        return value or None

    @field_validator("smtp_fallback_urls", mode="before")
    @classmethod
    def _spaces_separate_too(cls, value: object) -> object:
        return value.replace(" ", ",") if isinstance(value, str) else value

    @field_validator("smtp_fallback_urls")
    @classmethod
    def _fallback_urls_parse(cls, value: list[str]) -> list[str]:
        for url in value:
            SmtpTarget.from_url(url)
        return value

    @model_validator(mode="after")
    def _dkim_complete_and_readable(self) -> Self:
        dkim = (self.dkim_domain, self.dkim_selector, self.dkim_private_key_path)
        if any(dkim) and not all(dkim):
            raise ValueError(
                "DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_PATH go together: set all three"
            )
        if self.dkim_private_key_path is not None:
            from newsletter.delivery.dkim_signing import DkimKeyError, load_key

            try:
                load_key(self.dkim_private_key_path)
            except DkimKeyError as exc:
                raise ValueError(str(exc)) from None
        return self


class SendingSettings(Section):
    """The sending engine: batches, chunks, retries, claims, auto-pause.

    A chunk ends after `SEND_CHUNK_SIZE` messages or `SEND_CHUNK_SECONDS`, whichever comes
    first: large chunks cost fewer database round trips at full speed, the time bound keeps
    pause, cancel and the unsubscribe re-check prompt when a rate limit slows sending down.
    """

    send_batch_size: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Deliveries per send task (one SMTP connection each).",
    )
    send_chunk_size: int = Field(
        default=100,
        ge=1,
        le=1_000,
        description="Messages per chunk: outcomes are recorded, pause/cancel and unsubscribes "
        "checked once per chunk; a worker killed mid-batch re-sends at most one chunk.",
    )
    send_chunk_seconds: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="A chunk also ends after this many seconds (when a rate limit slows sending).",
    )
    send_retry_base_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A temporary failure (4xx, connection error) is retried after this long, "
        "then twice as long, and so on.",
    )
    send_retry_max_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="The longest wait between two retries.",
    )
    send_retry_deadline_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="After this long since the campaign started a deferred delivery bounces: "
        "a soft bounce the bounce policy counts, or a staff warning when the last reply came "
        "from our own relay.",
    )
    send_claim_timeout_seconds: float = Field(
        default=300.0,
        gt=0,
        description="Claims older than this (a worker that died) are taken back by beat's "
        "tick and sent.",
    )
    send_auto_pause_error_rate: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="A campaign pauses itself when more than this share of its recent "
        "attempts failed or were deferred.",
    )
    send_auto_pause_min_attempts: int = Field(
        default=100,
        ge=1,
        description="It does so only once the campaign made at least this many attempts since "
        "it started or was resumed.",
    )
    send_auto_pause_window: int = Field(
        default=500,
        ge=2,
        le=1_000_000,
        description="The error rate is taken over about this many recent attempts "
        "(exponentially weighted, shared by all workers).",
    )


class ContentSettings(Section):
    """Publishing: alerts, the monthly digest, events, website feeds."""

    alert_lists: PairMap = Field(
        default_factory=lambda: {"press_release": "press-releases", "event": "events"},
        description="Post kinds that mail an instant alert, and the list (slug) each goes "
        "to: `kind:list-slug`, comma-separated. Kinds: press_release, statement, report, "
        "event, news.",
    )
    alert_max_age_hours: int = Field(
        default=48,
        ge=1,
        le=24 * 30,
        description="A post that went public longer ago than this (backdated, an old feed "
        "item) never alerts.",
    )
    two_person_rule: bool = Field(
        default=False,
        description="Two-person rule: every alert, and every campaign to more than "
        "TWO_PERSON_THRESHOLD readers, waits for a second editor before anything leaves.",
    )
    two_person_threshold: int = Field(
        default=500,
        ge=0,
        description="Recipients above which a campaign needs a second editor under the "
        "two-person rule.",
    )
    digest_list: str = Field(
        default="monthly-digest", description="The list (slug) the monthly digest goes to."
    )
    digest_day: int = Field(
        default=1, ge=1, le=28, description="Day of the month the digest is built (1-28)."
    )
    digest_hour: int = Field(
        default=9,
        ge=0,
        le=23,
        description="Hour it is built (0-23), in `ORG_TIMEZONE`.",
    )
    digest_hold_for_approval: bool = Field(
        default=False,
        description="`true`: the digest waits as a draft campaign until staff approve it on "
        "the console's Digests page.",
    )
    digest_local_time: bool = Field(
        default=False,
        description="`true`: each reader gets the digest at `DIGEST_HOUR` in their own time "
        "zone (readers without one: in `ORG_TIMEZONE`): one campaign whose deliveries open "
        "zone by zone.",
    )
    event_city_line: CommaList = Field(
        default_factory=list,
        description="The city-by-city line under an event's time (\"16:00 London | 11:00 New "
        'York"): IANA zones, optionally `=Label`, in order. Empty: no line (each reader '
        "still sees the time in their own zone).",
        examples=["America/New_York=New York,Europe/London=London,Africa/Harare=Harare"],
    )
    feed_urls: CommaList = Field(
        default_factory=list,
        description="RSS/Atom feeds of the website turned into posts (comma-separated "
        "http(s) URLs or file paths).",
        examples=["https://www.coalition.org/feed/"],
    )
    feed_poll_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="Minutes between polls of a feed (a failing feed backs off: 2, 4, 8 ... "
        "minutes, at most 6 h).",
    )
    feed_timeout: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Seconds a fetch may take in total before it counts as a failure.",
    )
    feed_publish: bool = Field(
        default=False,
        description="`true`: new feed items are published at once (and press releases "
        "alert); `false`: drafts.",
    )
    feed_language: str = Field(
        default="",
        description="Language of feed items when the feed names none of `LANGUAGES`.",
        json_schema_extra={"default_text": "DEFAULT_LANGUAGE"},
    )
    feed_categories: PairMap = Field(
        default_factory=lambda: {
            "press release": "press_release",
            "statement": "statement",
            "report": "report",
            "event": "event",
            "webinar": "event",
        },
        description="Feed category -> post kind (`category:kind`, case-insensitive); items "
        "without a match become news.",
    )

    @field_validator("alert_lists", "feed_categories")
    @classmethod
    def _post_kinds_known(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        from newsletter.content.models import PostKind

        kinds = {kind.value for kind in PostKind}
        checked = value.keys() if info.field_name == "alert_lists" else value.values()
        unknown = sorted(set(checked) - kinds)
        if unknown:
            raise ValueError(f"unknown post kind(s) {unknown}; use {sorted(kinds)}")
        return value

    @field_validator("event_city_line")
    @classmethod
    def _city_zones_exist(cls, value: list[str]) -> list[str]:
        """Each entry is ``Zone/Name`` or ``Zone/Name=Label`` (e.g. ``Africa/Harare=Harare``)."""
        for entry in value:
            zone = entry.partition("=")[0].strip()
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {zone!r} in EVENT_CITY_LINE") from None
        return value


class SubscriberSettings(Section):
    """The supporter journey: sign-up, double opt-in, privacy, anti-abuse."""

    consent_text_version: str = Field(
        default="2026-11",
        min_length=1,
        max_length=50,
        description="Version label of the sign-up consent text, stored in each consent "
        "record; change it whenever the wording changes.",
    )
    address_hash_key: str = Field(
        default="",
        description="Key of the address fingerprints on the suppression list (an erased "
        "person survives only as one). Set it ONCE, at installation, to a long random value, "
        "and never change it: a new key forgets every suppression. Empty: plain SHA-256, "
        "which anyone with a copy of the database can test a list of addresses against.",
    )
    consent_ip: Literal["drop", "truncate", "full"] = Field(
        default="truncate",
        description="What the consent record keeps of the sign-up IP: `drop`, `truncate` "
        "(/24, /48) or `full`.",
    )
    confirm_link_hours: int = Field(
        default=72, ge=1, le=24 * 30, description="Hours a confirmation link stays valid."
    )
    pending_expiry_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="Days before an unconfirmed sign-up is deleted.",
    )
    check_mx: bool = Field(
        default=False,
        description="Refuse addresses whose domain has no mail server (accepted when DNS "
        "does not answer within `DNS_TIMEOUT`).",
    )
    dns_timeout: float = Field(
        default=3.0,
        gt=0,
        le=30,
        description="Seconds a DNS look-up may take (sign-up check, deliverability check).",
    )
    dns_nameserver: str | None = Field(
        default=None,
        description="`host[:port]` of the DNS server to ask instead of the system's.",
        examples=["127.0.0.1:53"],
        json_schema_extra={"default_text": "the system's resolvers"},
    )
    subscribe_cors_origins: CommaList = Field(
        default_factory=list,
        description="Websites allowed to post the embedded form / JSON API from a browser "
        "(CORS), comma-separated.",
        examples=["https://www.coalition.org"],
    )
    blocked_domains: CommaList = Field(
        default_factory=list,
        description="Email domains refused at sign-up, comma-separated (subdomains too).",
        examples=["mailinator.com,example.com"],
    )
    rate_limit_ip_per_hour: int = Field(
        default=20,
        ge=0,
        description="Sign-up attempts per client IP per hour (0: no limit); counted in Redis "
        "when `REDIS_URL` is set, else in the web process's memory.",
    )
    rate_limit_address_per_hour: int = Field(
        default=5, ge=0, description="Sign-up attempts per address per hour (0: no limit)."
    )
    confirmations_per_address_per_day: int = Field(
        default=3, ge=0, description="Confirmation emails one address can be sent per day."
    )
    already_subscribed_emails_per_day: int = Field(
        default=1,
        ge=0,
        description='"You are already subscribed" emails one address can be sent per day.',
    )
    min_fill_seconds: float = Field(
        default=3.0,
        ge=0,
        le=600,
        description="Faster form submissions are treated as bots (answered as usual, stored "
        "nowhere).",
    )
    altcha_enabled: bool = Field(
        default=False,
        description="Self-hosted proof of work (ALTCHA) on the forms and the JSON API.",
    )
    altcha_max_number: int = Field(
        default=50_000,
        ge=1000,
        le=10_000_000,
        description="How much work (higher: slower for bots and people; 50000 takes well "
        "under a second in a browser).",
    )
    nojs_wait_seconds: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="Without JavaScript (Tor Browser's safer mode) the forms ask for this wait "
        "instead of the proof of work.",
    )

    @field_validator("subscribe_cors_origins")
    @classmethod
    def _origins_without_slash(cls, value: list[str]) -> list[str]:
        return [origin.rstrip("/") for origin in value]

    @field_validator("blocked_domains")
    @classmethod
    def _lower_domains(cls, value: list[str]) -> list[str]:
        return [domain.rstrip("/").lower().lstrip("@.") for domain in value]


class DiscreetSettings(Section):
    """The discreet edition, for readers at risk."""

    alt_base_url: str = Field(
        default="",
        description="A mirror or onion address serving this same app: discreet mail links "
        "only there, and public pages at `BASE_URL` carry `Onion-Location` when it is an onion.",
    )
    discreet_from_name: PairMap = Field(
        default_factory=dict,
        description="Sender name of the discreet edition per language (`en:…,fr:…`); never "
        "the organisation's name (refused at start-up).",
        examples=["en:Reading notes,fr:Notes de lecture"],
        json_schema_extra={"default_text": "Reading notes, translated"},
    )
    discreet_subject: PairMap = Field(
        default_factory=dict,
        description="Subject of the discreet edition per language, under the same rule.",
        examples=["en:Your notes,fr:Vos notes"],
        json_schema_extra={"default_text": "Your notes, translated"},
    )
    discreet_from_address: str | None = Field(
        default=None,
        description="Sender address of the discreet edition, on a domain that names nobody "
        "(with its own SPF/DKIM).",
        json_schema_extra={"default_text": "FROM_ADDRESS"},
    )


class BounceSettings(Section):
    """Bounces and complaints: policy, the inbound receiver, the mailbox, provider webhooks."""

    bounce_soft_threshold: float = Field(
        default=5.0,
        gt=0,
        le=1000,
        description="An address is suppressed when its soft-bounce score reaches this.",
    )
    bounce_soft_weight: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="What one soft bounce adds to the score (one a day counts at most).",
    )
    bounce_score_half_life_days: float = Field(
        default=30.0, gt=0, le=3650, description="The score halves every this many days."
    )
    bounce_disabled_is_hard: bool = Field(
        default=False,
        description="A disabled or suspended mailbox is suppressed at once (`true`) or counts "
        "as a soft bounce (`false`: the account is off, the address exists).",
    )
    complaint_rate_warning: float = Field(
        default=0.003,
        ge=0,
        le=1,
        description="A campaign above this complaint rate raises a staff warning (0.003 = "
        "0.3%, the ceiling Gmail and Yahoo enforce).",
    )
    bounce_rate_warning: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A campaign above this bounce rate raises a staff warning.",
    )
    inbound_listen_host: str = Field(
        default="127.0.0.1",
        description="`newsletter run` (one box) also receives bounces and mailto unsubscribes "
        "on this address; the local MTA hands `BOUNCE_DOMAIN`'s mail to it (`newsletter "
        "inbound` has its own options).",
    )
    inbound_listen_port: int = Field(
        default=2525, ge=1, le=65535, description="The port of that receiver."
    )
    inbound_max_message_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        le=100 * 1024 * 1024,
        description="Largest message the inbound receiver accepts (552 above); a line may be "
        "that long too.",
    )
    inbound_complaint_local_parts: CommaList = Field(
        default_factory=lambda: ["fbl", "complaints", "abuse"],
        description="Local parts at `BOUNCE_DOMAIN` that receive ARF complaint reports "
        "(`postmaster@` is always accepted).",
    )
    inbound_feedback_loop_domains: CommaList = Field(
        default_factory=lambda: list(DEFAULT_FEEDBACK_LOOP_DOMAINS),
        description="Senders whose ARF complaints are believed (a domain covers its "
        "subdomains); a complaint from anyone else is quarantined for staff and unsubscribes "
        "nobody.",
        examples=["yahoo.com,aol.com,hotmail.com,outlook.com,senderscore.net"],
        json_schema_extra={"default_text": "Yahoo, AOL, Microsoft, Validity, Mail.ru, Yandex, …"},
    )
    imap_url: str | None = Field(
        default=None,
        description="Bounce mailbox to poll, TLS only: `imaps://user:password@host:993/INBOX` "
        "or `imap+starttls://…:143/Bounces` (URL-encode special characters).",
        examples=["imaps://bounces%40example.org:password@imap.example.org:993/INBOX"],
    )
    imap_processed_folder: str = Field(
        default="Processed",
        description="Processed messages are flagged `$NewsletterProcessed` and moved here "
        "(empty: flagged only).",
    )
    imap_ca_file: Path | None = Field(
        default=None,
        description="CA file for a mailbox server with a private certificate.",
        examples=["/etc/ssl/certs/internal-ca.pem"],
        json_schema_extra={"default_text": "the system's CAs"},
    )
    imap_poll_seconds: float = Field(
        default=60.0, ge=10, le=86400, description="How often beat polls the mailbox."
    )
    ses_sns_topic_arns: CommaList = Field(
        default_factory=list,
        description="Amazon SES through SNS: the topics allowed to post to `/webhooks/ses` "
        "(comma-separated); unset, that webhook is off.",
        examples=["arn:aws:sns:eu-west-1:123456789012:newsletter-ses-events"],
    )
    postmark_webhook_username: str | None = Field(
        default=None,
        description="Postmark: the HTTP Basic user in the webhook URL "
        "(`https://user:password@<site>/webhooks/postmark`); unset, off.",
        examples=["postmark"],
    )
    postmark_webhook_password: str | None = Field(
        default=None, description="Postmark: the HTTP Basic password."
    )
    sendgrid_webhook_public_key: str | None = Field(
        default=None,
        description="SendGrid's signed Event Webhook: its verification key (base64 or PEM); "
        "unset, off.",
    )
    mailgun_webhook_signing_key: str | None = Field(
        default=None, description="Mailgun: the domain's HTTP webhook signing key; unset, off."
    )

    @field_validator("imap_url")
    @classmethod
    def _imap_url_tls(cls, value: str | None) -> str | None:
        if value and not value.startswith(("imaps://", "imap+starttls://")):
            raise ValueError("must be imaps://user:password@host:993/INBOX or imap+starttls://")
        return value or None


class StaffSettings(Section):
    """The staff console: sessions, sign-in protection, audit, imports."""

    staff_session_hours: int = Field(
        default=12,
        ge=1,
        le=24 * 30,
        description="A staff session ends after this long (sign-out and a password change end "
        "it at once).",
    )
    staff_session_idle_minutes: int = Field(
        default=120,
        ge=5,
        le=24 * 60,
        description="A staff session also ends after this long without a request.",
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=100, description="Wrong passwords before an account is locked."
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, le=24 * 60, description="How long a locked account stays locked."
    )
    login_ip_attempts_per_hour: int = Field(
        default=60,
        ge=1,
        le=100_000,
        description="Sign-in attempts one client IP may make per hour.",
    )
    audit_ip: Literal["drop", "truncate", "full"] = Field(
        default="truncate",
        description="The client IP kept in the audit log and staff sessions: `drop`, "
        "`truncate` (/24, /48) or `full`.",
    )
    import_max_rows: int = Field(
        default=200_000, ge=1, le=10_000_000, description="Largest CSV import accepted, in rows."
    )


class ObservabilitySettings(Section):
    """Operations: metrics, beat, logs, error reports, the deliverability check."""

    metrics_token: str | None = Field(
        default=None,
        description="`/metrics` of the web process answers only with `Authorization: Bearer "
        "<METRICS_TOKEN>`; unset, it does not exist (404). Long and random, for your "
        "Prometheus only.",
    )
    worker_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Each Celery worker serves its metrics on this port (0: off). It has no "
        "password: never publish it outside the private network.",
    )
    worker_metrics_bind: str = Field(
        default="127.0.0.1", description="The address the worker metrics are bound to."
    )
    beat_tick_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="How often beat sends its tick (embargo release, due campaigns, sweeps).",
    )
    beat_stale_seconds: float = Field(
        default=180.0,
        gt=0,
        le=86_400,
        description="Beat's last tick older than this is reported as stale (dashboard, metrics).",
    )
    beat_lease_seconds: float = Field(
        default=60.0,
        ge=2,
        le=600,
        description="Only the holder of the beat lease ticks (workers/beat_scheduler.py); a "
        "standby beat takes over at most this long (plus a quarter of it) after the leader died.",
    )
    summary_refresh_seconds: float = Field(
        default=300.0,
        ge=10,
        le=86_400,
        description="How often the dashboard's and lists page's figures are recomputed "
        "(staff/summaries.py); the pages say how old they are.",
    )
    delivery_retention_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Delivery rows older than this many days are folded into per-campaign "
        "totals (campaigns/retention.py); unset keeps every row.",
    )
    log_format: Literal["json", "text"] = Field(
        default="json",
        description="`json` lines with ids (campaign, delivery, batch, task), never addresses "
        "or names; `text` for a terminal.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="The lowest level logged."
    )
    sentry_dsn: str | None = Field(
        default=None,
        description="Error reports to Sentry or a compatible server (needs "
        "`pip install 'newsletter[sentry]'`), scrubbed of addresses, names, cookies and "
        "tokens; off unless set. Read docs/operators.md before turning it on.",
    )
    sentry_environment: str = Field(
        default="", description="The environment name error reports carry."
    )
    inbound_mx_host: str | None = Field(
        default=None,
        description="The host the MX of `BOUNCE_DOMAIN` must name (where `newsletter inbound` "
        "listens); the deliverability check compares them. Unset: it only requires an MX.",
        examples=["mx.example.org"],
    )

    @field_validator("metrics_token", "sentry_dsn", "inbound_mx_host")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


SECTIONS: tuple[type[Section], ...] = (
    CoreSettings,
    IdentitySettings,
    MailSettings,
    SendingSettings,
    ContentSettings,
    SubscriberSettings,
    DiscreetSettings,
    BounceSettings,
    StaffSettings,
    ObservabilitySettings,
)


class Settings(  # the sections, in the order the settings reference shows them
    ObservabilitySettings,
    StaffSettings,
    BounceSettings,
    DiscreetSettings,
    SubscriberSettings,
    ContentSettings,
    SendingSettings,
    MailSettings,
    IdentitySettings,
    CoreSettings,
    BaseSettings,
):
    """Every setting of the service; the environment variable is the field name in capitals.

    The fields are declared by domain (the ``Section`` classes above) and read flat
    (``settings.smtp_url``): one object every process validates once at start-up. What spans
    sections (embedded defaults, production's refusals) is checked here.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    @field_validator("base_url", "alt_base_url")
    @classmethod
    def _base_url_absolute(cls, value: str) -> str:
        if not value:
            return value  # filled from HOST and PORT below
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError(
                "must be an absolute http:// or https:// URL, e.g. https://news.example.org"
            )
        return value.rstrip("/")

    @field_validator("from_address", "reply_to", "discreet_from_address")
    @classmethod
    def _address_has_at(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value and info.field_name in ("reply_to", "discreet_from_address"):
            return None  # an empty REPLY_TO (e.g. from compose) means "unset"
        if value is not None and ("@" not in value or any(c in value for c in "\r\n <>")):
            raise ValueError("must be a plain email address such as news@example.org")
        return value

    @model_validator(mode="after")
    def _fill_embedded_defaults_and_check_secrets(self) -> Settings:
        data_dir = self.data_dir if self.data_dir.is_absolute() else Path.cwd() / self.data_dir
        self.data_dir = data_dir
        if not self.database_url:
            self.database_url = f"sqlite:///{data_dir / 'newsletter.sqlite3'}"
        if not self.broker_url:
            self.broker_url = "filesystem://"
        if self.outbox_dir is None:
            self.outbox_dir = data_dir / "outbox"
        if not self.base_url:
            if self.app_env == "production":
                raise ValueError(
                    "BASE_URL is required in production: the https:// address readers use"
                )
            self.base_url = served_address(self.host, self.port)
        if self.default_language not in self.languages:
            raise ValueError(
                f"DEFAULT_LANGUAGE {self.default_language!r} is not one of "
                f"LANGUAGES {self.languages}"
            )
        if self.feed_language and self.feed_language not in self.languages:
            raise ValueError(f"FEED_LANGUAGE {self.feed_language!r} is not one of LANGUAGES")
        for name in ("discreet_from_name", "discreet_subject"):
            for text in getattr(self, name).values():
                if self.org_name.strip() and self.org_name.strip().lower() in text.lower():
                    raise ValueError(f"{name.upper()} must not name the organisation")
        if self.app_env == "production":
            if self.secret_key.strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(
                    "SECRET_KEY is missing or a placeholder; in production set it to a long random "
                    "value, e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
                )
            if len(self.secret_key) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters in production"
                )
            if not self.base_url.startswith("https://"):
                raise ValueError("BASE_URL must use https:// in production (links carry tokens)")
            if self.clock_offset_seconds:
                raise ValueError("CLOCK_OFFSET_SECONDS is for tests and demos, not production")
        return self

    @property
    def mail_transport(self) -> Literal["smtp", "outbox"]:
        """SMTP when a relay is configured, else the local outbox folder."""
        return "smtp" if self.smtp_url else "outbox"

    @property
    def smtp_target(self) -> SmtpTarget | None:
        return SmtpTarget.from_url(self.smtp_url, self.smtp_timeout) if self.smtp_url else None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings; pydantic's report becomes one operator-readable error."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except SourceError as exc:
        raise SettingsError(f"invalid configuration: {exc}") from None
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]).upper() or "settings"
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"  {where}: {message}")
        raise SettingsError("invalid configuration:\n" + "\n".join(lines)) from None


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, validated on first call (every entry point calls it first)."""
    return load_settings()
