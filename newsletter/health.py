"""Liveness of the parts the service cannot work without: the database and the broker."""

from __future__ import annotations

import logging

from kombu import Connection
from sqlalchemy import Engine, text

log = logging.getLogger(__name__)


def database_ok(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        log.warning("health: database unreachable", exc_info=True)
        return False
    return True


def broker_ok(broker_url: str, transport_options: dict[str, object], timeout: float = 3.0) -> bool:
    try:
        with Connection(
            broker_url, transport_options=transport_options, connect_timeout=timeout
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception:
        log.warning("health: broker unreachable", exc_info=True)
        return False
    return True
