"""Real ``celery worker`` processes for the sending tests, with per-test settings."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from celery import Celery

from newsletter.config import Settings
from tests.conftest import (
    REDIS_BROKER_DB,
    REDIS_FIXTURE_DB,
    REDIS_HOST_URL,
    _redis,
    make_test_settings,
    start_worker_process,
)


@dataclass
class Fleet:
    """Worker processes sharing one broker; ``app`` sends tasks to them."""

    settings: Settings
    app: Celery
    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str = "w") -> subprocess.Popen[bytes]:
        index = len(self.processes)
        process = start_worker_process(
            self.settings, self.log_dir / f"worker{index}.log", "--pool=solo", f"-n{name}{index}@%h"
        )
        self.processes.append(process)
        return process

    def wait_ready(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.app.control.ping(timeout=0.5)) >= count:
                return
        raise TimeoutError(f"{count} worker(s) did not answer a ping in time")

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def fleet_factory(
    tmp_path: Path, pg_url: str, committed_db: object, smtp_server: object
) -> Iterator[Callable[..., Fleet]]:
    """``fleet_factory(workers=1, **settings)``: worker processes on Redis, PostgreSQL, SMTP."""
    from workers.celery_app import make_celery

    fleets: list[Fleet] = []
    broker = f"{REDIS_HOST_URL}/{REDIS_BROKER_DB}"
    _redis(REDIS_BROKER_DB).flushdb()

    def make(workers: int = 1, **overrides: object) -> Fleet:
        values: dict[str, object] = {
            "database_url": pg_url,
            "broker_url": broker,
            "result_backend_url": broker,
            "redis_url": f"{REDIS_HOST_URL}/{REDIS_FIXTURE_DB}",
            "smtp_url": smtp_server.url,  # type: ignore[attr-defined]
        }
        values.update(overrides)
        settings = make_test_settings(tmp_path, **values)
        fleet = Fleet(settings, make_celery(settings), tmp_path)
        fleets.append(fleet)
        for _ in range(workers):
            fleet.start()
        fleet.wait_ready(workers)
        return fleet

    yield make
    for fleet in fleets:
        fleet.stop()
        fleet.app.close()
    _redis(REDIS_BROKER_DB).flushdb()
