"""The embedded filesystem broker keeps all its files under DATA_DIR, none in the working folder.

kombu's filesystem transport writes its exchange tables (``default.exchange``,
``reply.celery.pidbox.exchange``, ...) to ``./control`` unless told otherwise; a worker, a
client that broadcasts (``celery inspect``, the console's System page) and the CLI must all use
``DATA_DIR/broker/control``. Real processes: ``newsletter db upgrade``, ``newsletter worker``
and a client in another process that pings the worker and queues a task.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli import clean_env

pytestmark = pytest.mark.slow

CLIENT = """
import sys, time
from newsletter.config import get_settings
from workers.celery_app import make_celery
app = make_celery(get_settings())
deadline = time.monotonic() + 40
while not app.control.ping(timeout=1.0):
    if time.monotonic() > deadline:
        sys.exit("the worker never answered a ping")
app.send_task("newsletter.purge_pending")
print("pinged")
"""


def test_worker_client_and_cli_leave_no_control_folder_in_the_working_directory(
    tmp_path: Path,
) -> None:
    cwd, data = tmp_path / "cwd", tmp_path / "data"
    cwd.mkdir()
    env = clean_env(data, BROKER_URL="filesystem://", SECRET_KEY="x" * 40)
    env["DATABASE_URL"] = f"sqlite:///{data / 'newsletter.sqlite3'}"
    run = {"cwd": cwd, "env": env, "capture_output": True, "text": True, "timeout": 90}
    migrated = subprocess.run([sys.executable, "-m", "newsletter", "db", "upgrade"], **run)
    assert migrated.returncode == 0, migrated.stderr
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "worker", "--pool=solo"],
            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        client = subprocess.run([sys.executable, "-c", CLIENT], **run)
        assert client.returncode == 0, client.stderr + log_path.read_text()
        control = data / "broker" / "control"
        deadline = time.monotonic() + 30
        while not (control / "default.exchange").exists():  # the worker took the task's queue
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert (control / "reply.celery.pidbox.exchange").exists()
    assert list(cwd.iterdir()) == [], "files written into the working directory"
