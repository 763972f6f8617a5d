"""The Celery application, configured for mail that must not be lost or sent twice.

- JSON only: tasks carry ids, never pickled state (invariant `commit-then-enqueue`).
- ``acks_late`` + ``task_reject_on_worker_lost``: a task is acknowledged after it ran, so a
  worker killed mid-batch hands its message back to the broker instead of dropping it; the
  database claim (invariant `claim-and-record`) keeps the redelivery from re-sending rows already
  sent.
- prefetch 1: a worker holds one send batch at a time, so a slow worker does not hoard work.
- visibility timeout (Redis): an unacknowledged message is redelivered after this long. It
  must exceed the longest task (``SEND_TASK_TIME_LIMIT``), else a running batch would be
  handed to a second worker. Far-future work never rides on ETAs (invariant
  `far-future-in-the-database`).
- Redis restarts: workers reconnect forever and a running batch goes on; the tasks lost with a
  Redis that kept nothing are recovered by the tick's sweeps from the database (invariant
  `snapshot-once`).
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from newsletter import clock
from newsletter.broker import VISIBILITY_TIMEOUT, broker_transport_options
from newsletter.config import Settings, get_settings

BULK_SEND_TASKS = ("newsletter.send_batch", "newsletter.send_sweep")
SEND_QUEUE = "send"
DEFAULT_QUEUE = "default"
SEND_TASK_TIME_LIMIT = 15 * 60
assert SEND_TASK_TIME_LIMIT < VISIBILITY_TIMEOUT, "a running batch would be redelivered"


def celery_config(settings: Settings) -> dict[str, Any]:
    result_backend = settings.result_backend_url
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": broker_transport_options(settings),
        "broker_connection_retry_on_startup": True,
        # A Redis restart must not end a worker: reconnect for as long as it takes. A batch
        # running meanwhile goes on (its state is in the database) instead of being cancelled.
        "broker_connection_retry": True,
        "broker_connection_max_retries": None,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "result_backend": result_backend,
        "result_expires": 3600,
        "task_ignore_result": result_backend is None,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": DEFAULT_QUEUE,
        "task_queues": (Queue(DEFAULT_QUEUE), Queue(SEND_QUEUE)),
        # Only bulk campaign sending goes to the send queue: a confirmation email or a staff
        # test message must not wait behind a 100,000-recipient campaign.
        "task_routes": {name: {"queue": SEND_QUEUE} for name in BULK_SEND_TASKS},
        "task_time_limit": SEND_TASK_TIME_LIMIT,
        "task_soft_time_limit": SEND_TASK_TIME_LIMIT - 60,
        "timezone": "UTC",
        "enable_utc": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "tick": {
                "task": "newsletter.tick",
                "schedule": settings.beat_tick_seconds,
                "options": {"expires": 55},
            },
            # -- content: embargoed alerts, the monthly digest, website feeds --
            "content-tick": {
                "task": "newsletter.content_tick",
                "schedule": settings.beat_tick_seconds,
                "options": {"expires": 55},
            },
            "event-tick": {  # event registrations: reminders and queued registrant mail
                "task": "newsletter.event_tick",
                "schedule": settings.beat_tick_seconds,
                "options": {"expires": 55},
            },
            "press-tick": {  # the press list's briefing mail still queued
                "task": "newsletter.press_tick",
                "schedule": settings.beat_tick_seconds,
                "options": {"expires": 55},
            },
            "poll-feeds": {
                "task": "newsletter.poll_feeds",
                "schedule": settings.beat_tick_seconds,
                "options": {"expires": 55},
            },
            "sweep-inbound": {  # stored bounces whose task was lost
                "task": "newsletter.sweep_inbound",
                "schedule": 300.0,
                "options": {"expires": 290},
            },
            "poll-bounce-mailbox": {  # only does work when IMAP_URL is set
                "task": "newsletter.poll_bounce_mailbox",
                "schedule": settings.imap_poll_seconds,
                "options": {"expires": max(settings.imap_poll_seconds - 5, 5)},
            },
            "refresh-summaries": {  # the dashboard's and lists page's figures
                "task": "newsletter.refresh_summaries",
                "schedule": settings.summary_refresh_seconds,
                "options": {"expires": max(settings.summary_refresh_seconds - 5, 5)},
            },
            "fold-deliveries": {  # only does work when DELIVERY_RETENTION_DAYS is set
                "task": "newsletter.fold_deliveries",
                "schedule": 3600.0,
                "options": {"expires": 3000},
            },
            "purge-pending": {  # expired double opt-in sign-ups
                "task": "newsletter.purge_pending",
                "schedule": 3600.0,
                "options": {"expires": 3000},
            },
        },
        # Two beats (a standby, or one started by mistake) never both tick: see beat_scheduler.
        "beat_scheduler": "workers.beat_scheduler:SingleBeatScheduler",
        "beat_schedule_filename": str(settings.data_dir / "celerybeat-schedule"),
    }


def make_celery(settings: Settings) -> Celery:
    import workers.signals  # noqa: F401 - logging, metrics exporter, task ids (worker only)

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    celery = Celery("newsletter")
    celery.conf.update(celery_config(settings))
    celery.autodiscover_tasks(["workers"], related_name="tasks", force=True)
    celery.autodiscover_tasks(["workers"], related_name="content_tasks", force=True)
    celery.autodiscover_tasks(["workers"], related_name="event_tasks", force=True)
    celery.autodiscover_tasks(["workers"], related_name="press_tasks", force=True)
    return celery


def _process_app() -> Celery:
    """The worker's and beat's app: this process runs on the clock its settings name."""
    settings = get_settings()
    clock.configure(settings)
    return make_celery(settings)


app = _process_app()
