"""Every kind of outgoing mail carries a DKIM signature that dkimpy's verifier accepts.

Campaign messages were signed by the engine already; confirmation, welcome, password reset,
the operator's test message and the console's campaign test now go through the same key.
Each is sent to the real SMTP test server and verified there, as a receiver would.
"""

from __future__ import annotations

from pathlib import Path

import dkim
import pytest
from sqlalchemy.orm import Session

from newsletter.delivery.test_send import send_test_message
from newsletter.staff import campaign_admin
from newsletter.staff.models import StaffRole
from newsletter.staff.reset import send_reset_email
from newsletter.staff.service import create_staff_user
from newsletter.subscribers.models import SubscriberStatus
from newsletter.subscribers.notifications import send_journey_email
from tests.admin.factories import make_subscriber
from tests.conftest import make_test_settings
from tests.sending.test_compose_campaign import make_campaign
from tests.sending.test_dkim import ed25519_key, rsa_key

DOMAIN, SELECTOR = "coalition.example.org", "news2026"


def verify(data: bytes, record: bytes) -> bool:
    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode()
        return record

    return dkim.verify(data, dnsfunc=dns)


@pytest.fixture(params=[rsa_key, ed25519_key], ids=["rsa", "ed25519"])
def signing(request: pytest.FixtureRequest, tmp_path: Path, smtp_server):
    record = request.param(tmp_path / "dkim.pem")
    settings = make_test_settings(
        tmp_path,
        smtp_url=smtp_server.url,
        dkim_domain=DOMAIN,
        dkim_selector=SELECTOR,
        dkim_private_key_path=tmp_path / "dkim.pem",
    )
    return settings, record


def _only_message(smtp_server) -> bytes:
    [received] = smtp_server.wait_for(1)
    return received.data


@pytest.mark.parametrize("kind", ["confirm", "welcome"])
def test_journey_emails_are_signed(kind: str, signing, db_session: Session, smtp_server) -> None:
    settings, record = signing
    status = SubscriberStatus.PENDING if kind == "confirm" else SubscriberStatus.ACTIVE
    subscriber = make_subscriber(db_session, "rudo@example.net", name="Rudo", status=status)
    result = send_journey_email(settings, db_session, kind, subscriber.id)
    assert result is not None and str(result.outcome) == "sent"
    data = _only_message(smtp_server)
    assert data.startswith(b"DKIM-Signature:")
    assert verify(data, record)
    assert not verify(data.replace(b"Rudo", b"Rufaro", 1), record)


def test_password_reset_is_signed(signing, db_session: Session, smtp_server) -> None:
    settings, record = signing
    user = create_staff_user(
        db_session, email="ops@coalition.example.org", name="Ops", password="a" * 16,
        role=StaffRole.ADMIN,
    )  # fmt: skip
    assert send_reset_email(db_session, settings, user.id, "fr")
    assert verify(_only_message(smtp_server), record)


def test_operator_test_message_is_signed(signing, smtp_server) -> None:
    settings, record = signing
    send_test_message(settings, "ops@example.net", "en")
    assert verify(_only_message(smtp_server), record)


def test_console_campaign_test_is_signed(signing, smtp_server) -> None:
    settings, record = signing
    campaign_admin.send_test(settings, make_campaign(), "en", "ops@example.net")
    data = _only_message(smtp_server)
    assert data.count(b"DKIM-Signature:") == 1  # signed once, by the engine
    assert verify(data, record)


def test_without_a_key_nothing_is_signed(tmp_path: Path, smtp_server) -> None:
    settings = make_test_settings(tmp_path, smtp_url=smtp_server.url)
    send_test_message(settings, "ops@example.net", "en")
    assert b"DKIM-Signature" not in _only_message(smtp_server)
