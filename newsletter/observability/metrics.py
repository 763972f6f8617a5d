"""The service's Prometheus metrics, defined once and incremented where the work happens.

Labels carry kinds, outcomes and ids (``relay0``, ``campaign_kind="alert"``), never an email
or network address, so a scrape can be shown to anyone who runs the monitoring.

Every metric has labels on purpose: prometheus-client creates a labelled metric's values when
a label set is first used, so a worker can switch to multiprocess values (``exporter``) at
start-up, after this module was imported, and every value it then creates is shared through
the multiprocess directory.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

MESSAGES = Counter(
    "newsletter_messages",
    "Campaign messages handed to a relay, by outcome (sent, deferred, failed).",
    ["campaign_kind", "relay", "outcome"],
)
BOUNCES = Counter(
    "newsletter_bounces",
    "Bounces, complaints and mailed unsubscribes applied, by kind and source.",
    ["bounce_kind", "source"],
)
SMTP_SECONDS = Histogram(
    "newsletter_smtp_transaction_seconds",
    "Time of one SMTP transaction (MAIL FROM to the reply after DATA), reconnects included.",
    ["relay"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
THROTTLE_WAITS = Counter(
    "newsletter_throttle_waits",
    "Messages that waited for a rate limit before going to the relay.",
    ["relay"],
)
THROTTLE_SECONDS = Counter(
    "newsletter_throttle_wait_seconds",
    "Seconds spent waiting for rate limits.",
    ["relay"],
)
INBOUND = Counter(
    "newsletter_inbound_messages",
    "Inbound messages (DSNs, complaints, mailto unsubscribes) processed, by result and reason.",
    ["result", "reason"],
)
SIGNUPS = Counter(
    "newsletter_signups",
    "Sign-up attempts, accepted or refused, by reason.",
    ["result", "reason"],
)
WEBHOOK_EVENTS = Counter(
    "newsletter_webhook_events",
    "Provider webhook events received, by provider and result.",
    ["provider", "result"],
)
SYSTEM_MAIL = Counter(
    "newsletter_system_mail",
    "Mail that is not a campaign (confirmation, welcome, password reset, tests) by outcome.",
    ["kind", "outcome"],
)
TASKS = Counter(
    "newsletter_tasks",
    "Celery tasks finished, by task name and state.",
    ["task", "state"],
)


def render(registry: CollectorRegistry | None = None) -> bytes:
    """The text exposition of this process's metrics (all processes' in multiprocess mode)."""
    if registry is None:
        registry = process_registry()
    return generate_latest(registry)


def process_registry() -> CollectorRegistry:
    """The default registry, or one reading the multiprocess directory when one is in use."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        from prometheus_client import REGISTRY

        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry
