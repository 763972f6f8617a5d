"""Several SMTP relays in order, with fail-over, each behind its own rate limits.

``SMTP_URL`` is the first relay, ``SMTP_FALLBACK_URLS`` the next ones. A message goes to the
first relay that is not down; a relay is "down" when connecting, TLS or AUTH failed (nothing
was sent, so trying the next one cannot duplicate). Any other reply, including a timeout after
DATA, is the message's outcome: failing over then could deliver it twice. A down relay is tried
again after its back-off (``SmtpMailer.reconnect_backoff``).

Limits per relay: ``SMTP_RATE_PER_SECOND``, ``SMTP_RATE_PER_HOUR`` and
``SMTP_DOMAIN_RATE_PER_SECOND``, or per URL with ``?rate_per_second=…&rate_per_hour=…
&domain_rate_per_second=…`` when relays have different quotas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from newsletter.config import Settings, SmtpTarget
from newsletter.delivery.mailers import Mailer, OutboxMailer, SmtpMailer, check_envelope
from newsletter.delivery.outcomes import SendResult
from newsletter.delivery.throttle import Limits, Throttle, make_throttle
from newsletter.observability import metrics


def relay_limits(url: str, settings: Settings) -> Limits:
    """The URL's own limits, else the global settings."""
    query = parse_qs(urlsplit(url).query)

    def value(name: str, default: float) -> float:
        return float(query[name][0]) if name in query else default

    return Limits(
        per_second=value("rate_per_second", settings.smtp_rate_per_second),
        per_hour=value("rate_per_hour", settings.smtp_rate_per_hour),
        per_domain_per_second=value("domain_rate_per_second", settings.smtp_domain_rate_per_second),
    )


@dataclass
class Relay:
    name: str  # host:port, the rate-limit buckets' key
    mailer: SmtpMailer
    limits: Limits
    label: str = "relay0"  # for metrics and logs: the relay's place in the list, not its host


class FailoverMailer(Mailer):
    """The campaign mailer: relays in order, rate-limited; one open connection per relay."""

    def __init__(self, relays: Sequence[Relay], throttle: Throttle) -> None:
        if not relays:
            raise ValueError("at least one relay is needed")
        self.relays = list(relays)
        self.throttle = throttle
        self.last_relay: str | None = None
        self.last_relay_label: str | None = None

    def open(self) -> None:
        self.relays[0].mailer.open()

    def close(self) -> None:
        for relay in self.relays:
            relay.mailer.close()

    def send(self, mail_from: str, recipients: Sequence[str], message: bytes) -> SendResult:
        check_envelope(mail_from, recipients)
        domain = recipients[0].rpartition("@")[2].lower()
        result: SendResult | None = None
        for relay in self.relays:
            if relay.mailer.is_down:
                continue
            waited = self.throttle.waited
            self.throttle.acquire(relay.name, relay.limits, domain)
            if self.throttle.waited > waited:
                metrics.THROTTLE_WAITS.labels(relay=relay.label).inc()
                metrics.THROTTLE_SECONDS.labels(relay=relay.label).inc(
                    self.throttle.waited - waited
                )
            result = relay.mailer.send(mail_from, recipients, message)
            if not relay.mailer.is_down:
                self.last_relay, self.last_relay_label = relay.name, relay.label
                return result
        if result is None:  # every relay is backing off: the first one's reason stands
            result = self.relays[0].mailer.send(mail_from, recipients, message)
        self.last_relay_label = self.relays[0].label
        return result


def make_campaign_mailer(settings: Settings, throttle: Throttle | None = None) -> Mailer:
    """The mailer campaigns use: every configured relay in order, else the outbox folder."""
    urls = [url for url in (settings.smtp_url, *settings.smtp_fallback_urls) if url]
    if not urls:
        assert settings.outbox_dir is not None
        return OutboxMailer(settings.outbox_dir)
    throttle = throttle or make_throttle(settings.redis_url)
    relays = []
    for index, url in enumerate(urls):
        target = SmtpTarget.from_url(url, settings.smtp_timeout)
        name, label = f"{target.host}:{target.port}", f"relay{index}"
        mailer = SmtpMailer(target, metrics_label=label)
        relays.append(Relay(name, mailer, relay_limits(url, settings), label))
    return FailoverMailer(relays, throttle)
