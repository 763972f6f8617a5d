"""The worker exporter: one HTTP endpoint per Celery worker node, every pool process summed.

A prefork worker runs its tasks in child processes, each with its own memory; Prometheus'
multiprocess mode has each process write its values to files in one directory, and the
exporter (in the worker's main process) adds them up at scrape time. The directory is per
worker node under ``DATA_DIR/metrics/`` and emptied when the node starts, so two workers on
one host (or one volume) never add up each other's counts.

No password: bind it to loopback or a private network (``WORKER_METRICS_BIND``), never publish
it; it holds kinds, ids and counts only.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

from prometheus_client import CollectorRegistry, start_http_server, values
from prometheus_client.multiprocess import MultiProcessCollector

from newsletter.config import Settings

log = logging.getLogger(__name__)


def metrics_directory(settings: Settings, node: str) -> Path:
    return settings.data_dir / "metrics" / re.sub(r"[^A-Za-z0-9_.-]", "_", node)


def use_multiprocess_values(directory: Path) -> None:
    """From now on, metric values of this process and its children live in ``directory``."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()


def start_worker_exporter(settings: Settings, node: str) -> int | None:
    """Serve the node's metrics on ``WORKER_METRICS_PORT``; the port, or None when off."""
    if not settings.worker_metrics_port:
        return None
    directory = metrics_directory(settings, node)
    use_multiprocess_values(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    start_http_server(settings.worker_metrics_port, settings.worker_metrics_bind, registry)
    log.info("worker metrics on port %s", settings.worker_metrics_port)
    return settings.worker_metrics_port
