"""``newsletter run`` on embedded defaults: web + worker + beat, healthy within 60 seconds."""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_cli import clean_env

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def started(log_path: Path) -> bool:
    """The Celery worker reported ready and its embedded beat started."""
    text = log_path.read_text()
    return re.search(r"celery@\S+ ready", text) is not None and "beat: Starting" in text


def test_run_serves_healthz_and_processes_tasks_with_nothing_configured(tmp_path: Path) -> None:
    port = free_port()
    with (tmp_path / "run.log").open("wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "run"],
            cwd=tmp_path,
            env=clean_env(tmp_path, PORT=str(port)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code
            except httpx.TransportError:
                status = None
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200, (tmp_path / "run.log").read_text()
        # The embedded worker and beat started beside the web server.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not started(tmp_path / "run.log"):
            time.sleep(0.5)
        assert started(tmp_path / "run.log"), (tmp_path / "run.log").read_text()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_for_files(folder: Path, count: int, timeout: float = 60) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.eml")) if folder.exists() else []
        if len(found) >= count:
            return found
        time.sleep(0.3)
    raise AssertionError(f"{count} message(s) expected in {folder}, found {len(found)}")


def _message(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def _text(message: email.message.EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_one_box_links_follow_the_port_and_a_mailto_unsubscribe_reaches_its_receiver(
    tmp_path: Path,
) -> None:
    """PORT alone moves every link; the List-Unsubscribe mailto, handed to the local inbound
    port of the same `newsletter run`, unsubscribes that reader from the campaign's lists."""
    from sqlalchemy import select

    from newsletter.config import load_settings
    from newsletter.db import make_engine, make_session_factory
    from newsletter.subscribers.models import (
        Subscriber,
        SubscriberStatus,
        Subscription,
        SubscriptionStatus,
    )
    from tests.journey.conftest import form_values
    from tests.sending.helpers import add_campaign, add_list
    from workers.celery_app import make_celery

    port, inbound_port = free_port(), free_port()
    with (tmp_path / "run.log").open("wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "newsletter", "run"],
            cwd=tmp_path,
            env=clean_env(tmp_path, PORT=str(port), INBOUND_LISTEN_PORT=str(inbound_port)),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    engine = None
    try:
        _wait_healthy(base, process, tmp_path / "run.log")
        engine = make_engine(f"sqlite:///{tmp_path / 'newsletter.sqlite3'}")
        factory = make_session_factory(engine)
        with factory.begin() as session:
            list_id = add_list(session, "press").id
        answer = httpx.post(
            f"{base}/api/v1/subscriptions",
            json={"email": "Amina.Diallo@Example.org", "lists": ["press"], "language": "en"},
            timeout=10,
        )
        assert answer.status_code == 202, answer.text
        (confirmation,) = _wait_for_files(tmp_path / "outbox", 1)
        links = re.findall(r"https?://[^\s\"'<>]+", _text(_message(confirmation)))
        assert links and all(link.startswith(f"{base}/") for link in links), links
        confirm = next(link for link in links if "/confirm/" in link)
        with httpx.Client(timeout=10) as client:
            page = client.get(confirm)
            assert client.post(confirm, data=form_values(page.text)).status_code == 200
        with factory() as session:
            reader = session.scalar(select(Subscriber))
            assert reader is not None and reader.status == SubscriberStatus.ACTIVE
        before = {path.name for path in _wait_for_files(tmp_path / "outbox", 2)}

        with factory.begin() as session:
            campaign_id = add_campaign(session, [list_id], name="One-box update").id
        settings = load_settings(_env_file=None, data_dir=tmp_path)
        celery = make_celery(settings)
        celery.send_task("newsletter.start_campaign", args=[campaign_id])
        celery.close()
        deadline = time.monotonic() + 60
        sent = None
        while sent is None and time.monotonic() < deadline:
            for path in (tmp_path / "outbox").glob("*.eml"):
                if path.name not in before and "One-box" not in path.name:
                    candidate = _message(path)
                    if candidate["List-Unsubscribe"]:
                        sent = candidate
            time.sleep(0.3)
        assert sent is not None, (tmp_path / "run.log").read_text()
        mailto = re.search(r"<mailto:([^>?]+)", str(sent["List-Unsubscribe"]))
        assert mailto, sent["List-Unsubscribe"]
        unsubscribe = email.message.EmailMessage()
        unsubscribe["From"] = "amina.diallo@example.org"
        unsubscribe["To"] = mailto.group(1)
        unsubscribe["Subject"] = "unsubscribe"
        unsubscribe.set_content("unsubscribe")
        with smtplib.SMTP("127.0.0.1", inbound_port, timeout=10) as smtp:
            smtp.send_message(unsubscribe)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with factory() as session:
                subscription = session.scalar(select(Subscription))
                if subscription is not None and subscription.status != SubscriptionStatus.ACTIVE:
                    break
            time.sleep(0.5)
        with factory() as session:
            subscription = session.scalar(select(Subscription))
            assert subscription is not None, "no subscription"
            assert subscription.status == SubscriptionStatus.UNSUBSCRIBED, (
                tmp_path / "run.log"
            ).read_text()
        # kombu's control folder lives under DATA_DIR, not in the working directory.
        assert (tmp_path / "broker" / "control").is_dir()
        assert not (tmp_path / "control").exists()
    finally:
        if engine is not None:
            engine.dispose()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(log_path.read_text())
