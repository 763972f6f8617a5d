"""No personal data in any log line or Redis key: a campaign, a sign-up, a bounce and a failed
staff sign-in with canary names and addresses, through real processes.

The web (``newsletter web``), the inbound receiver (``newsletter inbound``) and a Celery worker
run as separate processes on PostgreSQL, Redis and the SMTP test server, logging as they do in
production; afterwards every line they wrote, and every key and value in both Redis databases,
is searched for the canaries.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select, update

from newsletter.campaigns.models import Delivery, DeliveryStatus
from newsletter.config import PROJECT_ROOT, Settings
from newsletter.subscribers.models import Subscriber
from tests.bounces.messages import load
from tests.conftest import REDIS_BROKER_DB, REDIS_FIXTURE_DB, REDIS_HOST_URL, settings_env
from tests.observability.helpers import free_port, stop, wait_until
from tests.sending.helpers import add_campaign, add_list, add_subscribers

pytestmark = pytest.mark.slow
CANARY_NAME = "Thandiwe Canarybright"
CANARY_READER = "thandiwe.canarybright@canary-mail.example"
CANARY_SIGNUP = "jomo.canaryfield@canary-mail.example"
CANARY_SIGNUP_NAME = "Jomo Canaryfield"
CANARY_STAFF = "intruder.canarystone@canary-mail.example"
CANARIES = ("canarybright", "canaryfield", "canarystone", "canary-mail", "thandiwe", "jomo")


def _process(argv: list[str], settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "newsletter", *argv], cwd=PROJECT_ROOT,
            env=settings_env(settings), stdout=output, stderr=output,
        )  # fmt: skip


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def _redis_dump(db: int) -> str:
    client = redis.Redis.from_url(f"{REDIS_HOST_URL}/{db}")
    parts = []
    for key in client.scan_iter(count=500):
        parts.append(repr(key))
        kind = client.type(key).decode()
        if kind == "string":
            parts.append(repr(client.get(key)))
        elif kind == "list":
            parts.append(repr(client.lrange(key, 0, -1)))
        elif kind == "hash":
            parts.append(repr(client.hgetall(key)))
        elif kind == "set":
            parts.append(repr(client.smembers(key)))
        elif kind == "zset":
            parts.append(repr(client.zrange(key, 0, -1, withscores=True)))
    client.close()
    return "\n".join(parts)


def _campaign_to_canary(committed_db) -> int:
    with committed_db() as session:
        press = add_list(session, "press")
        readers = [CANARY_READER, "reader1@example.org", "reader2@example.org"]
        add_subscribers(session, readers, [press.id])
        session.execute(
            update(Subscriber).where(Subscriber.email == CANARY_READER).values(name=CANARY_NAME)
        )
        campaign = add_campaign(session, [press.id])
        session.commit()
        return campaign.id


@pytest.mark.timeout(300)
def test_no_canary_reaches_a_log_line_or_a_redis_key(
    tmp_path: Path, committed_db, celery_worker, smtp_server
) -> None:
    settings = celery_worker.settings.model_copy(update={"min_fill_seconds": 0.0})
    from newsletter.db import unit_of_work
    from newsletter.staff.models import StaffRole
    from newsletter.staff.service import create_staff_user

    with unit_of_work(committed_db) as session:
        create_staff_user(
            session,
            email="admin@coalition.example.org",
            name="Admin",
            password="correct horse battery staple",
            role=StaffRole.ADMIN,
        )
    campaign_id = _campaign_to_canary(committed_db)
    web_port, inbound_port = free_port(), free_port()
    web_log, inbound_log = tmp_path / "web.log", tmp_path / "inbound.log"
    web = _process(["web", "--port", str(web_port)], settings, web_log)
    inbound = _process(["inbound", "--port", str(inbound_port)], settings, inbound_log)
    try:
        wait_until(lambda: _listening(web_port) and _listening(inbound_port), 30, "web, inbound")
        base = f"http://127.0.0.1:{web_port}"
        with httpx.Client(base_url=base, timeout=15) as http:
            # a sign-up: the confirmation goes out from the web process
            sign_up = {"email": CANARY_SIGNUP, "name": CANARY_SIGNUP_NAME, "lists": ["press"]}
            answer = http.post("/api/v1/subscriptions", json=sign_up)
            assert answer.status_code == 202, answer.text
            # a failed staff sign-in with an address that has no account
            page = http.get("/admin/login")
            found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
            assert found is not None
            wrong = {
                "csrf_token": found.group(1),
                "email": CANARY_STAFF,
                "password": "not-it-at-all",
            }
            refused = http.post("/admin/login", data=wrong)
            assert refused.status_code in {200, 400, 401}
        wait_until(lambda: any(CANARY_SIGNUP in m.rcpt_tos for m in smtp_server.messages), 20,
                   "the confirmation email")  # fmt: skip

        # the campaign, sent by the worker
        celery_worker.app.send_task("newsletter.start_campaign", args=[campaign_id])
        wait_until(lambda: sum(CANARY_READER in m.rcpt_tos for m in smtp_server.messages) == 1,
                   60, "the campaign message to the canary")  # fmt: skip
        with committed_db() as session:
            delivery_id = session.scalar(
                select(Delivery.id).join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                .where(Subscriber.email == CANARY_READER)
            )  # fmt: skip

        # a bounce for the canary, through the inbound receiver, processed by the worker
        dsn = load("gmail_no_such_user.eml", settings, delivery_id=delivery_id,
                   recipient=CANARY_READER)  # fmt: skip
        from newsletter import links

        with smtplib.SMTP("127.0.0.1", inbound_port, timeout=10) as client:
            client.sendmail("", [links.verp_address(settings, delivery_id)], dsn)

        def bounced() -> bool:
            with committed_db() as session:
                status = session.scalar(select(Delivery.status).where(Delivery.id == delivery_id))
                return status is DeliveryStatus.BOUNCED

        wait_until(bounced, 30, "the bounce to be applied")
        time.sleep(1)  # the worker's last log lines
    finally:
        stop(web)
        stop(inbound)

    logs = {
        "web": web_log.read_text(errors="replace"),
        "inbound": inbound_log.read_text(errors="replace"),
        "worker": celery_worker.log(),
        "redis broker": _redis_dump(REDIS_BROKER_DB),
        "redis fixture": _redis_dump(REDIS_FIXTURE_DB),
    }
    assert '"message": "POST /api/v1/subscriptions 202"' in logs["web"]
    assert '"message": "POST /admin/login' in logs["web"]
    assert "journey email confirm for subscriber" in logs["web"]
    assert "inbound SMTP for" in logs["inbound"]
    assert "celery-task-meta" in logs["redis broker"]  # the dump did read the keys
    assert "bounce event" in logs["worker"]  # the worker did log the bounce, by id
    assert '"campaign_id": ' in logs["worker"] and '"task_id": ' in logs["worker"]
    for where, text in logs.items():
        lowered = text.lower()
        leaked = [canary for canary in CANARIES if canary in lowered]
        assert not leaked, f"{where} contains {leaked}"
