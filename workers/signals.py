"""Worker process wiring: JSON logs, the metrics exporter, task ids on every log line.

Connected when ``workers.celery_app`` is imported; the handlers run only in worker and beat
processes (Celery sends these signals there), so the web process that imports the app to
enqueue tasks is unaffected.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from newsletter.config import get_settings
from newsletter.observability import errors, logs, metrics
from newsletter.observability.exporter import start_worker_exporter

_bound: dict[str, Any] = {}


@signals.setup_logging.connect
def _configure_logging(**_: Any) -> None:
    """Connected, so Celery leaves logging to us: JSON lines with the task's ids."""
    settings = get_settings()
    logs.configure_logging(settings.log_format, settings.log_level)
    errors.init_error_reporting(settings, "worker")


@signals.worker_init.connect
def _start_exporter(sender: Any = None, **_: Any) -> None:
    node = getattr(sender, "hostname", None) or "worker"
    start_worker_exporter(get_settings(), node)


@signals.task_prerun.connect
def _bind_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    if task_id is not None:
        _bound[task_id] = logs.bind(task_id=task_id, task=getattr(task, "name", None))


@signals.task_postrun.connect
def _unbind_task(
    task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any
) -> None:
    metrics.TASKS.labels(task=getattr(task, "name", "?"), state=state or "UNKNOWN").inc()
    token = _bound.pop(task_id, None) if task_id is not None else None
    if token is not None:
        logs.unbind(token)
