"""Typed settings, read from the environment (and an optional `.env`) and validated once.

Settings fail fast at start-up with a message that names the variable and what is wrong,
never at first use. With nothing set, the embedded defaults run the whole service on one
box: a SQLite file and a filesystem broker under ``./var/``, and mail written to an outbox
folder instead of an SMTP relay.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
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


class Settings(BaseSettings):
    """Every setting of the service; the environment variable is the field name in capitals."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    app_env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("var")
    database_url: str = ""
    broker_url: str = ""
    redis_url: str | None = None
    result_backend_url: str | None = None
    smtp_url: str | None = None
    smtp_timeout: float = Field(default=30.0, gt=0, le=600)
    outbox_dir: Path | None = None
    secret_key: str = DEVELOPMENT_SECRET
    # Where the web server listens; an unset BASE_URL follows them outside production, so the
    # links in mail point at the port actually served.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    base_url: str = ""
    org_name: str = "Coalition Newsletter"
    from_name: str = "Coalition Newsletter"
    from_address: str = "newsletter@localhost.localdomain"
    reply_to: str | None = None
    bounce_domain: str = "localhost.localdomain"
    org_timezone: str = "UTC"
    default_language: str = "en"
    languages: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["en", "fr"])
    send_batch_size: int = Field(default=500, ge=1, le=10_000)
    # The templates the package ships (newsletter/resources.py); a folder of your own replaces them.
    templates_dir: Path = Field(default_factory=lambda: package_folder("templates"))
    # Shifts this process's clock (newsletter/clock.py) so tests and demos can run every
    # process of the service at another moment; refused in production.
    clock_offset_seconds: float = 0.0
    # ---- Sending engine ----
    # A chunk ends after this many messages or this many seconds, whichever comes first: large
    # chunks cost fewer database round trips at full speed, the time bound keeps pause, cancel
    # and the unsubscribe re-check prompt when a rate limit slows sending down.
    send_chunk_size: int = Field(default=100, ge=1, le=1_000)
    send_chunk_seconds: float = Field(default=1.0, gt=0, le=60)
    send_retry_base_seconds: float = Field(default=60.0, gt=0)
    send_retry_max_seconds: float = Field(default=3600.0, gt=0)
    send_retry_deadline_seconds: float = Field(default=86_400.0, gt=0)
    send_claim_timeout_seconds: float = Field(default=300.0, gt=0)
    # How long a worker keeps retrying to record a sent chunk while the database is unreachable
    # (capped at half the claim timeout): a PostgreSQL restart then costs no duplicate.
    send_db_retry_seconds: float = Field(default=120.0, ge=0)
    send_auto_pause_error_rate: float = Field(default=0.25, gt=0, le=1)
    send_auto_pause_min_attempts: int = Field(default=100, ge=1)
    # The error rate is taken over about this many recent attempts (exponentially weighted).
    send_auto_pause_window: int = Field(default=500, ge=2, le=1_000_000)
    # -- content: alerts, digest, events, feeds --
    alert_lists: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {"press_release": "press-releases", "event": "events"}
    )
    alert_max_age_hours: int = Field(default=48, ge=1, le=24 * 30)
    # Two-person rule: every alert, and every campaign to more than TWO_PERSON_THRESHOLD
    # readers, waits for a second editor's approval before anything leaves.
    two_person_rule: bool = False
    two_person_threshold: int = Field(default=500, ge=0)
    digest_list: str = "monthly-digest"
    digest_day: int = Field(default=1, ge=1, le=28)
    digest_hour: int = Field(default=9, ge=0, le=23)
    digest_hold_for_approval: bool = False
    # Send the digest at DIGEST_HOUR in each reader's own zone (readers without one: the
    # organisation's), instead of at that hour in ORG_TIMEZONE for everyone.
    digest_local_time: bool = False
    event_city_line: Annotated[list[str], NoDecode] = Field(default_factory=list)
    feed_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    feed_poll_minutes: int = Field(default=15, ge=1, le=24 * 60)
    feed_timeout: float = Field(default=10.0, gt=0, le=120)
    feed_publish: bool = False
    feed_language: str = ""
    feed_categories: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=lambda: {
            "press release": "press_release",
            "statement": "statement",
            "report": "report",
            "event": "event",
            "webinar": "event",
        }
    )
    smtp_fallback_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    smtp_rate_per_second: float = Field(default=0.0, ge=0)
    smtp_rate_per_hour: float = Field(default=0.0, ge=0)
    smtp_domain_rate_per_second: float = Field(default=0.0, ge=0)
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key_path: Path | None = None

    @model_validator(mode="after")
    def _dkim_complete_and_readable(self) -> Settings:
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

    @field_validator("smtp_fallback_urls", mode="before")
    @classmethod
    def _split_fallback_urls(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        for url in value if isinstance(value, list) else []:
            SmtpTarget.from_url(url)
        return value

    # ---- Subscriber journey: sign-up, double opt-in, privacy, anti-abuse ----
    consent_text_version: str = Field(default="2026-11", min_length=1, max_length=50)
    address_hash_key: str = ""  # set once at installation, never changed (addresses.py)
    consent_ip: Literal["drop", "truncate", "full"] = "truncate"
    confirm_link_hours: int = Field(default=72, ge=1, le=24 * 30)
    pending_expiry_days: int = Field(default=7, ge=1, le=365)
    check_mx: bool = False
    dns_timeout: float = Field(default=3.0, gt=0, le=30)
    dns_nameserver: str | None = None
    subscribe_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    blocked_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_ip_per_hour: int = Field(default=20, ge=0)
    rate_limit_address_per_hour: int = Field(default=5, ge=0)
    confirmations_per_address_per_day: int = Field(default=3, ge=0)
    already_subscribed_emails_per_day: int = Field(default=1, ge=0)
    min_fill_seconds: float = Field(default=3.0, ge=0, le=600)
    altcha_enabled: bool = False
    altcha_max_number: int = Field(default=50_000, ge=1000, le=10_000_000)
    # Without JavaScript the proof of work cannot run: the form then asks the person to wait
    # this long and press the button again (abuse/form_guard.py, the no-JavaScript path).
    nojs_wait_seconds: float = Field(default=10.0, ge=1, le=600)
    # ---- The discreet edition (rendering/editions.py) ----
    # A mirror or an onion address serving this same app; discreet mail links only there.
    alt_base_url: str = ""
    # Per language ("en:Reading notes,fr:Notes de lecture"); unset languages get a neutral
    # default. Never the organisation's name: these are all a discreet reader's inbox shows.
    discreet_from_name: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    discreet_subject: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # An address on a domain that names nobody (with its own SPF/DKIM); unset: FROM_ADDRESS.
    discreet_from_address: str | None = None
    # ---- Bounces and complaints (see newsletter/bounces/) ----
    bounce_soft_threshold: float = Field(default=5.0, gt=0, le=1000)
    bounce_soft_weight: float = Field(default=1.0, gt=0, le=1000)
    # A closed or suspended account ("mailbox disabled") counts as soft unless set to true: the
    # message says the account is off, not that the address does not exist.
    bounce_disabled_is_hard: bool = False
    bounce_score_half_life_days: float = Field(default=30.0, gt=0, le=3650)
    complaint_rate_warning: float = Field(default=0.003, ge=0, le=1)
    bounce_rate_warning: float = Field(default=0.05, ge=0, le=1)
    # `newsletter run` (one box) also receives bounces and mailto unsubscribes here; the local
    # MTA hands BOUNCE_DOMAIN's mail to it (README). `newsletter inbound` has its own options.
    inbound_listen_host: str = "127.0.0.1"
    inbound_listen_port: int = Field(default=2525, ge=1, le=65535)
    inbound_max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    inbound_complaint_local_parts: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["fbl", "complaints", "abuse"]
    )
    # Senders whose ARF complaints are believed (a domain covers its subdomains); a complaint
    # from anyone else is quarantined for staff and unsubscribes nobody.
    inbound_feedback_loop_domains: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_FEEDBACK_LOOP_DOMAINS)
    )
    imap_url: str | None = None
    imap_processed_folder: str = "Processed"
    imap_ca_file: Path | None = None
    imap_poll_seconds: float = Field(default=60.0, ge=10, le=86400)
    ses_sns_topic_arns: Annotated[list[str], NoDecode] = Field(default_factory=list)
    postmark_webhook_username: str | None = None
    postmark_webhook_password: str | None = None
    sendgrid_webhook_public_key: str | None = None
    mailgun_webhook_signing_key: str | None = None
    # ---- Staff console ----
    staff_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    staff_session_idle_minutes: int = Field(default=120, ge=5, le=24 * 60)
    login_max_failures: int = Field(default=5, ge=1, le=100)
    login_lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_ip_attempts_per_hour: int = Field(default=60, ge=1, le=100_000)
    audit_ip: Literal["drop", "truncate", "full"] = "truncate"
    import_max_rows: int = Field(default=200_000, ge=1, le=10_000_000)
    # ---- Observability: metrics, logs, error reports, deliverability check ----
    # /metrics of the web process answers only with "Authorization: Bearer <METRICS_TOKEN>";
    # unset, it does not exist (404). Workers serve theirs on WORKER_METRICS_PORT (0: off).
    metrics_token: str | None = None
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)
    worker_metrics_bind: str = "127.0.0.1"
    # How often beat sends the tick (embargoes, due campaigns, sweeps). One minute in service;
    # tests shorten it so a beat process ticks within seconds.
    beat_tick_seconds: float = Field(default=60.0, ge=1, le=3600)
    beat_stale_seconds: float = Field(default=180.0, gt=0, le=86_400)
    log_format: Literal["json", "text"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    sentry_dsn: str | None = None
    sentry_environment: str = ""
    # The host the MX of BOUNCE_DOMAIN must name (where `newsletter inbound` listens); the
    # deliverability check compares the two. Unset: the check only requires an MX.
    inbound_mx_host: str | None = None

    @field_validator("metrics_token", "sentry_dsn", "inbound_mx_host")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("imap_url")
    @classmethod
    def _imap_url_tls(cls, value: str | None) -> str | None:
        if value and not value.startswith(("imaps://", "imap+starttls://")):
            raise ValueError("must be imaps://user:password@host:993/INBOX or imap+starttls://")
        return value or None

    @field_validator(
        "inbound_complaint_local_parts",
        "inbound_feedback_loop_domains",
        "ses_sns_topic_arns",
        mode="before",
    )
    @classmethod
    def _split_local_parts(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

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

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url_parses(cls, value: str | None) -> str | None:
        if value:
            SmtpTarget.from_url(value)
        return value or None

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

    @field_validator("from_address", "reply_to", "discreet_from_address")
    @classmethod
    def _address_has_at(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value and info.field_name in ("reply_to", "discreet_from_address"):
            return None  # an empty REPLY_TO (e.g. from compose) means "unset"
        if value is not None and ("@" not in value or any(c in value for c in "\r\n <>")):
            raise ValueError("must be a plain email address such as news@example.org")
        return value

    @field_validator("subscribe_cors_origins", "blocked_domains", mode="before")
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @field_validator("blocked_domains")
    @classmethod
    def _lower_domains(cls, value: list[str]) -> list[str]:
        return [domain.lower().lstrip("@.") for domain in value]

    @field_validator("languages", mode="before")
    @classmethod
    def _split_languages(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("event_city_line", "feed_urls", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str) and not value.lstrip().startswith("["):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "alert_lists", "feed_categories", "discreet_from_name", "discreet_subject", mode="before"
    )
    @classmethod
    def _split_pairs(cls, value: object) -> object:
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
