"""Broker connection options shared by Celery and the health check.

With the embedded default (kombu's filesystem transport) messages are files under
``var/broker/``; with Redis, the visibility timeout decides when an unacknowledged task is
handed to another worker, so it must outlast the longest task (see workers/celery_app.py).
"""

from __future__ import annotations

from typing import Any

from newsletter.config import Settings

VISIBILITY_TIMEOUT = 2 * 60 * 60


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    if settings.broker_url.startswith("filesystem://"):
        queue_dir = settings.data_dir / "broker" / "queue"
        processed_dir = settings.data_dir / "broker" / "processed"
        # kombu's default control folder is ./control in the working directory: keep it (the
        # broadcast exchanges of `celery inspect`/`control`) with the rest of the data.
        control_dir = settings.data_dir / "broker" / "control"
        for folder in (queue_dir, processed_dir, control_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(processed_dir),
            "control_folder": str(control_dir),
            "store_processed": False,
        }
    return {"visibility_timeout": VISIBILITY_TIMEOUT}
