"""Provider webhooks name the delivery through the tag the engine put in the message.

The real pipeline sends to the real SMTP test server with every provider's webhook configured;
each provider's event is then built from the metadata header of the received message (what the
provider echoes back) and posted, signed as the provider signs it, to the app over real HTTP.
The event's address is one the service does not know (a forwarding alias, a provider rewrite):
only the tag can name the delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from newsletter.bounces.models import BounceEvent
from newsletter.campaigns import service
from newsletter.delivery import pipeline
from newsletter.models import Delivery, DeliveryStatus, Subscriber, SubscriberStatus
from newsletter.web.app import create_app
from tests.bounces.test_webhooks import MAILGUN_KEY, TOPIC, _sns, sendgrid_key, sns_key
from tests.conftest import make_test_settings
from tests.sending.helpers import seed_campaign

__all__ = ["sendgrid_key", "sns_key"]  # module fixtures shared with the webhook tests
ALIAS = "forwarded-alias@elsewhere.example"  # what the provider reports; not a subscriber


@pytest.fixture
def sent(tmp_path: Path, pg_url, committed_db, smtp_server, live_server, sns_key, sendgrid_key):
    public = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = make_test_settings(
        tmp_path, database_url=pg_url, smtp_url=smtp_server.url, ses_sns_topic_arns=TOPIC,
        postmark_webhook_username="postmark", postmark_webhook_password="pm-secret-pass",
        sendgrid_webhook_public_key=base64.b64encode(public).decode(),
        mailgun_webhook_signing_key=MAILGUN_KEY,
    )  # fmt: skip
    app = create_app(settings)
    app.state.sns_fetch = lambda url: sns_key[1]  # the test's SNS certificate, no network
    base = live_server(app)
    with committed_db() as session, session.begin():
        campaign_id = seed_campaign(session, 2).campaign_id
    with committed_db() as session, session.begin():
        batches = service.start_campaign(session, campaign_id, settings=settings)
    for first, last in batches.ranges:
        pipeline.send_batch(committed_db, settings, campaign_id, first, last)
    [message] = [m for m in smtp_server.wait_for(2) if m.rcpt_tos == ("reader0@example.org",)]
    with committed_db() as session:
        delivery_id = session.scalar(
            select(Delivery.id)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(Subscriber.email == "reader0@example.org")
        )
    yield {"base": base, "message": message.message, "delivery": delivery_id}
    app.state.engine.dispose()


def _postmark(sent, tag_of) -> httpx.Response:
    tag = tag_of("X-PM-Metadata-verp")
    record = {
        "RecordType": "Bounce", "ID": 77, "Type": "HardBounce", "Email": ALIAS,
        "Details": "smtp;550 5.1.1 The email account does not exist", "Metadata": {"verp": tag},
    }  # fmt: skip
    return httpx.post(
        f"{sent['base']}/webhooks/postmark", json=record, auth=("postmark", "pm-secret-pass")
    )


def _sendgrid(sent, tag_of, key: ec.EllipticCurvePrivateKey) -> httpx.Response:
    unique_args = json.loads(tag_of("X-SMTPAPI"))["unique_args"]  # echoed as event properties
    events = [{"email": ALIAS, "event": "bounce", "sg_event_id": "b-1", "status": "5.1.1",
               "reason": "550 5.1.1 no such user", **unique_args}]  # fmt: skip
    body, timestamp = json.dumps(events).encode(), "1763892000"
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }
    return httpx.post(f"{sent['base']}/webhooks/sendgrid", content=body, headers=headers)


def _mailgun(sent, tag_of) -> httpx.Response:
    timestamp, token = "1763892000", "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256)
    payload = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {
            "event": "failed", "severity": "permanent", "id": "mg-1", "recipient": ALIAS,
            "user-variables": json.loads(tag_of("X-Mailgun-Variables")),
            "delivery-status": {"code": 550, "enhanced-code": "5.1.1", "message": "No such user"},
        },
    }  # fmt: skip
    return httpx.post(f"{sent['base']}/webhooks/mailgun", json=payload)


def _ses(sent, tag_of, key) -> httpx.Response:
    name, _, value = tag_of("X-SES-MESSAGE-TAGS").partition("=")
    notification = {
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "feedbackId": "fb-1",
                   "bouncedRecipients": [{"emailAddress": ALIAS, "status": "5.1.1"}]},
        "mail": {"source": "news@coalition.example.org", "tags": {name: [value]}},
    }  # fmt: skip
    message = {
        "Type": "Notification", "MessageId": "sns-1", "TopicArn": TOPIC,
        "Message": json.dumps(notification), "Timestamp": "2026-11-23T10:00:00.000Z",
    }  # fmt: skip
    return httpx.post(f"{sent['base']}/webhooks/ses", content=_sns(key[0], message))


@pytest.mark.parametrize("provider", ["postmark", "sendgrid", "mailgun", "ses"])
def test_a_provider_bounce_names_the_delivery_through_the_header_it_echoes(
    sent, committed_db, provider, sns_key, sendgrid_key
) -> None:
    headers = sent["message"]
    for name in ("X-Newsletter-Delivery", "X-PM-Metadata-verp", "X-SMTPAPI",
                 "X-Mailgun-Variables", "X-SES-MESSAGE-TAGS"):  # fmt: skip
        assert headers[name] and "@" not in str(headers[name]), name  # never an address

    def tag_of(name: str) -> str:
        return str(headers[name])

    post = {
        "postmark": lambda: _postmark(sent, tag_of),
        "sendgrid": lambda: _sendgrid(sent, tag_of, sendgrid_key),
        "mailgun": lambda: _mailgun(sent, tag_of),
        "ses": lambda: _ses(sent, tag_of, sns_key),
    }[provider]
    answer = post()
    assert answer.status_code == 200 and answer.json()["recorded"] == 1, answer.text
    with committed_db() as session:
        [event] = session.scalars(select(BounceEvent)).all()
        assert event.source == provider and event.delivery_id == sent["delivery"]
        delivery = session.get(Delivery, sent["delivery"])
        assert delivery.status is DeliveryStatus.BOUNCED
        statuses = dict(session.execute(select(Subscriber.email, Subscriber.status)).all())
    assert statuses == {
        "reader0@example.org": SubscriberStatus.BOUNCED,
        "reader1@example.org": SubscriberStatus.ACTIVE,
    }


def test_a_forged_tag_names_no_delivery(sent, committed_db) -> None:
    genuine = str(sent["message"]["X-PM-Metadata-verp"])
    forged = genuine[:-1] + ("a" if genuine[-1] != "a" else "b")
    answer = _postmark(sent, lambda name: forged)
    assert answer.json()["recorded"] == 1
    with committed_db() as session:
        [event] = session.scalars(select(BounceEvent)).all()
        assert event.delivery_id is None and event.subscriber_id is None  # nobody by a guess
        assert session.get(Delivery, sent["delivery"]).status is DeliveryStatus.SENT
