"""Provider webhooks over real HTTP (uvicorn on loopback), with real signature checks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from newsletter import links
from newsletter.bounces.providers.ses import string_to_sign
from newsletter.db import unit_of_work
from newsletter.subscribers.models import Subscriber, SubscriberStatus
from newsletter.subscribers.status import is_suppressed
from newsletter.web.app import create_app
from tests.bounces.factories import make_campaign, make_delivery, make_subscriber
from tests.conftest import make_test_settings

TOPIC = "arn:aws:sns:eu-west-1:123456789012:newsletter-ses-events"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem"
SUBSCRIBE_URL = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t0k"
MAILGUN_KEY = "key-mailgun-webhook-signing-0123456789"


@pytest.fixture(scope="module")
def sns_key() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test.invalid")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return key, cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def site(tmp_path: Path, pg_url: str, committed_db, live_server, sns_key, sendgrid_key):
    public = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = make_test_settings(
        tmp_path, database_url=pg_url, ses_sns_topic_arns=TOPIC,
        postmark_webhook_username="postmark", postmark_webhook_password="pm-secret-pass",
        sendgrid_webhook_public_key=base64.b64encode(public).decode(),
        mailgun_webhook_signing_key=MAILGUN_KEY,
    )  # fmt: skip
    app = create_app(settings)
    fetched: list[str] = []

    def local_fetch(url: str) -> bytes:  # no network: the test's certificate, or a visit log
        fetched.append(url)
        return sns_key[1] if url == CERT_URL else b"<ConfirmSubscriptionResponse/>"

    app.state.sns_fetch = local_fetch
    base = live_server(app)
    with unit_of_work(committed_db) as session:
        subscriber = make_subscriber(session, "amina@example.net")
        delivery = make_delivery(session, make_campaign(session), subscriber)
        ids = {"subscriber": subscriber.id, "delivery": delivery.id}
    yield {"base": base, "settings": settings, "fetched": fetched, **ids}
    app.state.engine.dispose()  # give the shared PostgreSQL its connections back now


def _status(committed_db, subscriber_id: int) -> SubscriberStatus:
    with committed_db() as session:
        return session.get(Subscriber, subscriber_id).status


def _sns(key: rsa.RSAPrivateKey, message: dict, version: str = "1") -> bytes:
    message = {**message, "SignatureVersion": version, "SigningCertURL": CERT_URL}
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 - SNS v1
    signature = key.sign(string_to_sign(message), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode()
    return json.dumps(message).encode()


def _ses_bounce(site, status: str = "5.1.1") -> dict:
    verp = links.verp_address(site["settings"], site["delivery"])
    notification = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent", "bounceSubType": "General", "feedbackId": "0102abc-1",
            "bouncedRecipients": [{"emailAddress": "amina@example.net", "action": "failed",
                                   "status": status, "diagnosticCode": "smtp; 550 5.1.1 unknown"}],
        },
        "mail": {"source": verp, "messageId": "0102msg", "destination": ["amina@example.net"]},
    }  # fmt: skip
    return {
        "Type": "Notification", "MessageId": "sns-msg-1", "TopicArn": TOPIC,
        "Message": json.dumps(notification), "Timestamp": "2026-11-23T10:00:00.000Z",
    }  # fmt: skip


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_bounce_via_sns_suppresses_and_replays_are_harmless(
    site, sns_key, committed_db, version
) -> None:
    body = _sns(sns_key[0], _ses_bounce(site), version)
    url = f"{site['base']}/webhooks/ses"
    first = httpx.post(url, content=body, timeout=10)
    assert first.status_code == 200 and first.json() == {"received": 1, "recorded": 1}
    assert httpx.post(url, content=body, timeout=10).json() == {"received": 1, "recorded": 0}
    assert _status(committed_db, site["subscriber"]) == SubscriberStatus.BOUNCED
    with committed_db() as session:
        assert is_suppressed(session, "amina@example.net")
    assert site["fetched"] == [CERT_URL, CERT_URL]


def test_sns_forgeries_are_refused(site, sns_key, committed_db) -> None:
    url = f"{site['base']}/webhooks/ses"
    message = _ses_bounce(site)
    tampered = json.loads(_sns(sns_key[0], message))
    tampered["Message"] = tampered["Message"].replace("5.1.1", "5.1.2")
    assert httpx.post(url, json=tampered, timeout=10).status_code == 401
    other_host = json.loads(_sns(sns_key[0], message))
    other_host["SigningCertURL"] = "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem"
    assert httpx.post(url, json=other_host, timeout=10).status_code == 401
    other_topic = _sns(sns_key[0], {**message, "TopicArn": TOPIC + "-other"})
    assert httpx.post(url, content=other_topic, timeout=10).status_code == 403
    assert httpx.post(url, content=b"{not json", timeout=10).status_code == 400
    assert _status(committed_db, site["subscriber"]) == SubscriberStatus.ACTIVE


def test_sns_subscription_confirmation_visits_the_subscribe_url(site, sns_key) -> None:
    message = {
        "Type": "SubscriptionConfirmation", "MessageId": "sub-1", "Token": "t0k",
        "TopicArn": TOPIC, "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": SUBSCRIBE_URL, "Timestamp": "2026-11-23T09:00:00.000Z",
    }  # fmt: skip
    response = httpx.post(f"{site['base']}/webhooks/ses", content=_sns(sns_key[0], message))
    assert response.json() == {"confirmed": True}
    assert site["fetched"] == [CERT_URL, SUBSCRIBE_URL]


def test_ses_complaint(site, sns_key, committed_db) -> None:
    notification = {
        "notificationType": "Complaint",
        "complaint": {"feedbackId": "cmp-1", "complaintFeedbackType": "abuse",
                      "complainedRecipients": [{"emailAddress": "amina@example.net"}]},
        "mail": {"source": links.verp_address(site["settings"], site["delivery"])},
    }  # fmt: skip
    message = {
        "Type": "Notification", "MessageId": "sns-msg-2", "TopicArn": TOPIC,
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(notification), "Timestamp": "2026-11-23T10:00:00.000Z",
    }  # fmt: skip
    response = httpx.post(f"{site['base']}/webhooks/ses", content=_sns(sns_key[0], message))
    assert response.json()["recorded"] == 1
    assert _status(committed_db, site["subscriber"]) == SubscriberStatus.COMPLAINED


def test_postmark_needs_its_basic_auth_credentials(site, committed_db) -> None:
    record = {
        "RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
        "Email": "amina@example.net", "Details": "smtp;550 5.1.1 The email account does not exist",
        "BouncedAt": "2026-11-23T10:00:00Z", "Metadata": {
            "verp": links.verp_address(site["settings"], site["delivery"])},
    }  # fmt: skip
    url = f"{site['base']}/webhooks/postmark"
    assert httpx.post(url, json=record, auth=("postmark", "wrong")).status_code == 401
    assert httpx.post(url, json=record).status_code == 401
    assert _status(committed_db, site["subscriber"]) == SubscriberStatus.ACTIVE
    ok = httpx.post(url, json=record, auth=("postmark", "pm-secret-pass"))
    assert ok.json() == {"received": 1, "recorded": 1}
    assert httpx.post(url, json=record, auth=("postmark", "pm-secret-pass")).json()["recorded"] == 0
    assert _status(committed_db, site["subscriber"]) == SubscriberStatus.BOUNCED


def test_sendgrid_signed_event_webhook(site, sendgrid_key, committed_db) -> None:
    events = [
        {"email": "amina@example.net", "event": "deferred", "sg_event_id": "d-1",
         "response": "451 try later"},
        {"email": "amina@example.net", "event": "spamreport", "sg_event_id": "s-1",
         "timestamp": 1763892000},
    ]  # fmt: skip
    body = json.dumps(events).encode()
    timestamp = "1763892000"
    signature = sendgrid_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }
    url = f"{site['base']}/webhooks/sendgrid"
    forged = {**headers, "X-Twilio-Email-Event-Webhook-Timestamp": "1763892001"}
    assert httpx.post(url, content=body, headers=forged).status_code == 401
    assert _status(committed_db, site["subscriber"]) == SubscriberStatus.ACTIVE
    assert httpx.post(url, content=body, headers=headers).json() == {"received": 1, "recorded": 1}
    assert _status(committed_db, site["subscriber"]) == SubscriberStatus.COMPLAINED


def test_mailgun_hmac_signature(site, committed_db) -> None:
    timestamp, token = "1763892000", "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(
        MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    payload = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": "failed", "severity": "permanent", "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "recipient": "amina@example.net", "reason": "bounce",
            "delivery-status": {"code": 550, "enhanced-code": "5.1.1",
                                "message": "550 5.1.1 No such user"},
        },
    }  # fmt: skip
    url = f"{site['base']}/webhooks/mailgun"
    bad = json.loads(json.dumps(payload))
    bad["signature"]["signature"] = "0" * 64
    assert httpx.post(url, json=bad).status_code == 401
    assert httpx.post(url, json=payload).json() == {"received": 1, "recorded": 1}
    assert httpx.post(url, json=payload).json()["recorded"] == 0
    assert _status(committed_db, site["subscriber"]) == SubscriberStatus.BOUNCED


def test_an_unconfigured_provider_is_not_found(tmp_path, pg_url, live_server) -> None:
    app = create_app(make_test_settings(tmp_path, database_url=pg_url))
    base = live_server(app)
    for provider in ("ses", "postmark", "sendgrid", "mailgun"):
        response = httpx.post(f"{base}/webhooks/{provider}", content=b"{}")
        assert response.status_code in {401, 404}, provider
    assert httpx.post(f"{base}/webhooks/ses", content=b"{}").status_code == 404
    app.state.engine.dispose()
