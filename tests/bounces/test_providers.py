"""Provider payloads become the right kind of event (authentication is in test_webhooks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsletter.bounces.models import BounceKind
from newsletter.bounces.providers import postmark, sendgrid, ses
from tests.conftest import make_test_settings


@pytest.fixture
def settings(tmp_path: Path):
    return make_test_settings(tmp_path)


def test_sendgrid_blocked_and_reputation_bounces_are_sender_problems(settings) -> None:
    items = [
        {"event": "bounce", "type": "blocked", "email": "a@example.org", "sg_event_id": "1",
         "status": "5.7.1", "reason": "550 5.7.1 Service unavailable; client host blocked"},
        {"event": "bounce", "type": "bounce", "email": "b@example.org", "sg_event_id": "2",
         "status": "5.1.1", "reason": "550 5.1.1 user unknown"},
        {"event": "deferred", "email": "c@example.org", "sg_event_id": "3"},
        {"event": "group_unsubscribe", "email": "d@example.org", "sg_event_id": "4"},
    ]  # fmt: skip
    events = sendgrid.events_from(settings, json.dumps(items).encode())
    assert [(e.address, e.kind) for e in events] == [
        ("a@example.org", BounceKind.SENDER_PROBLEM),
        ("b@example.org", BounceKind.HARD),
        ("d@example.org", BounceKind.UNSUBSCRIBE),
    ]


@pytest.mark.parametrize(
    ("record_type", "type_", "kind"),
    [
        ("SpamComplaint", "SpamComplaint", BounceKind.COMPLAINT),
        ("Bounce", "SoftBounce", BounceKind.SOFT),
        ("Bounce", "DMARCPolicy", BounceKind.SENDER_PROBLEM),
        ("Bounce", "AutoResponder", BounceKind.AUTO_REPLY),
        ("Bounce", "ManuallyDeactivated", BounceKind.UNKNOWN),
    ],
)
def test_postmark_types(settings, record_type, type_, kind) -> None:
    body = json.dumps({"RecordType": record_type, "Type": type_, "ID": 1, "Email": "a@example.org"})
    [event] = postmark.events_from(settings, body.encode())
    assert event.kind == kind and event.event_id == "1"


def test_ses_transient_and_content_rejections(settings) -> None:
    def bounce(bounce_type: str, sub_type: str, status: str | None) -> BounceKind:
        notification = {
            "notificationType": "Bounce",
            "bounce": {"bounceType": bounce_type, "bounceSubType": sub_type, "feedbackId": "f",
                       "bouncedRecipients": [{"emailAddress": "a@example.org", "status": status}]},
            "mail": {"source": "news@coalition.example.org"},
        }  # fmt: skip
        [event] = ses.events_from(settings, notification)
        assert event.delivery_id is None  # not a VERP address of ours
        return event.kind

    assert bounce("Transient", "MailboxFull", "4.2.2") == BounceKind.SOFT
    assert bounce("Permanent", "ContentRejected", "5.6.1") == BounceKind.SENDER_PROBLEM
    assert bounce("Permanent", "NoEmail", None) == BounceKind.HARD
    assert bounce("Permanent", "Suppressed", "5.1.1") == BounceKind.HARD
